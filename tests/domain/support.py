"""Helpers shared by the domain tests: valid events in one call."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.events import LearningEvent, validate_event
from tests.factories import NOW, draft


def event(*, received_at: datetime = NOW, **overrides: Any) -> LearningEvent:
    """A valid event built from `tests.factories.draft` (NOW unless `received_at` says)."""
    return validate_event(
        draft(**overrides), field_prefix="events[0]", received_at=received_at, known_content=True
    )


def at(minutes: int) -> datetime:
    """A time `minutes` after an hour before NOW, to order events that are all in the past."""
    return NOW - timedelta(hours=1) + timedelta(minutes=minutes)
