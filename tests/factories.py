"""Factories for test data: small defaults, override what a test is about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from domain.access import Role, Viewer
from domain.achievements import RuleType, Unlock
from domain.catalog import ContentItem, ContentKind, Difficulty, Skill
from domain.events import EventDraft, EventType
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from schema.tokens import TokenSettings, TokenVerifier, issue_token

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


def unlock(**overrides: Any) -> Unlock:
    values: dict[str, Any] = {
        "learner_id": "ada",
        "key": "first-event",
        "seq": 1,
        "title": "First Steps",
        "description": "Recorded your first learning activity",
        "icon": "👣",
        "points": 10,
        "rule": RuleType.FIRST_EVENT,
        "certification": None,
        "unlocked_at": NOW,
        "event_id": "evt-1",
        "recorded_at": NOW,
    }
    values.update(overrides)
    return Unlock(**values)


ADMIN = Viewer("test-admin", frozenset({Role.ADMIN}))


def admin(repositories: Repositories) -> Access:
    """An administrator's access: everything allowed (the rules are tested on their own)."""
    return Access(ADMIN, Loaders(repositories))


def viewer(user_id: str, *roles: Role) -> Viewer:
    return Viewer(user_id, frozenset(roles))


TEST_SECRET = "cairn-tests-only-shared-secret-0123456789"
TOKENS = TokenVerifier(TokenSettings(secret=TEST_SECRET))


def bearer(subject: str, *roles: Role, ttl_seconds: int = 3600) -> str:
    """An `Authorization` value for a token the test verifier (`TOKENS`) accepts."""
    token = issue_token(TEST_SECRET, subject=subject, roles=roles, ttl_seconds=ttl_seconds)
    return f"Bearer {token}"
