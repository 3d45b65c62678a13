"""Points: an append-only ledger of awards, and the rules that award them for events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.catalog import check_id, check_text
from domain.errors import InvalidInput
from domain.events import EventType, LearningEvent

# The Spool seed's event points, earned once per content item and event type.
EVENT_POINTS = {EventType.STARTED: 5, EventType.COMPLETED: 10, EventType.MASTERED: 25}
PERFECT_SCORE_BONUS = 10
# Daily streak points (the Spool table): each local day with rewarded activity earns them once.
# Only days within the window before the event was received earn them, so a client that backdates
# a year of events does not collect a year of daily points.
STREAK_DAY_POINTS = 5
STREAK_POINTS_WINDOW = timedelta(days=7)
PERFECT = "perfect"
MAX_MANUAL_AWARD = 100_000


class PointsSource(StrEnum):
    ACHIEVEMENT = "achievement"
    EVENT = "event"
    MANUAL = "manual"
    STREAK = "streak"  # daily streak points
    GOAL = "goal"  # a weekly goal met


@dataclass(frozen=True, slots=True)
class PointsEntry:
    learner_id: str
    amount: int
    reason: str
    source: PointsSource
    reference: str  # what earned it: an event id, an achievement key, or who awarded it
    at: datetime  # when it was earned: the triggering event's occurred-at, or the award's time
    recorded_at: datetime | None = None  # when Cairn recorded it (None on entries kept from
    # before this was tracked)


@dataclass(frozen=True, slots=True)
class ManualAward:
    """A manual award under the client's idempotency key: a retry returns the first outcome."""

    learner_id: str
    award_id: str
    fingerprint: str
    entry: PointsEntry
    total: int  # the learner's points right after the award


@dataclass(frozen=True, slots=True)
class EventAward:
    key: str  # an event type, or PERFECT: each is earned once per content item
    amount: int
    reason: str


def event_awards(event: LearningEvent, already: frozenset[str]) -> list[EventAward]:
    awards = []
    amount = EVENT_POINTS.get(event.type)
    if amount and event.type.value not in already:
        awards.append(
            EventAward(event.type.value, amount, f"{event.type.value} {event.content_id}")
        )
    if event.score == 1.0 and PERFECT not in already:
        awards.append(
            EventAward(PERFECT, PERFECT_SCORE_BONUS, f"perfect score on {event.content_id}")
        )
    return awards


def check_manual_award(amount: int, reason: str, award_id: str) -> str:
    """The award's reason, trimmed; raises InvalidInput naming the field at fault."""
    check_id(award_id, "awardId")
    if not 0 < amount <= MAX_MANUAL_AWARD:
        raise InvalidInput("amount", f"must be between 1 and {MAX_MANUAL_AWARD}")
    return check_text(reason, "reason")


def award_fingerprint(amount: int, reason: str) -> str:
    """What makes two awards under one id the same award: its amount and its reason."""
    payload = json.dumps([amount, reason], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
