"""Factories for test data: small defaults, override what a test is about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from domain.catalog import ContentItem, ContentKind, Difficulty, Skill
from domain.events import EventDraft, EventType

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def content_item(**overrides: Any) -> ContentItem:
    values: dict[str, Any] = {
        "id": "saa-ec2-1",
        "title": "EC2 instance types",
        "kind": ContentKind.QUESTION,
        "skill_ids": ("ec2",),
        "category": "EC2",
        "difficulty": Difficulty.INTERMEDIATE,
        "certification": "SAA",
        "module": "compute",
        "estimated_minutes": 10,
    }
    values.update(overrides)
    return ContentItem(**values)


def skill(**overrides: Any) -> Skill:
    values: dict[str, Any] = {"id": "ec2", "name": "EC2", "domain": "compute"}
    values.update(overrides)
    return Skill(**values)


def draft(**overrides: Any) -> EventDraft:
    values: dict[str, Any] = {
        "learner_id": "ada",
        "event_id": f"evt-{next(_ids)}",
        "type": EventType.ANSWERED,
        "content_id": "saa-ec2-1",
        "score": 0.9,
        "time_spent_seconds": 60,
        "occurred_at": NOW,
    }
    values.update(overrides)
    return EventDraft(**values)
