"""Daily activity rollups, keyed by the learner's local calendar day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent

UNCATEGORISED = "uncategorised"

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class ActivityBucket:
    events: int = 0
    time_spent_seconds: float = 0.0
    answered: int = 0
    scored: int = 0
    score_sum: float = 0.0
    completions: int = 0

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    def add(self, event: LearningEvent) -> ActivityBucket:
        return ActivityBucket(
            events=self.events + 1,
            time_spent_seconds=self.time_spent_seconds + event.time_spent_seconds,
            answered=self.answered + (1 if event.type is EventType.ANSWERED else 0),
            scored=self.scored + (1 if event.score is not None else 0),
            score_sum=self.score_sum + (event.score or 0.0),
            completions=self.completions + (1 if event.type is EventType.COMPLETED else 0),
        )


@dataclass(frozen=True, slots=True)
class DailyRollup:
    learner_id: str
    day: date
    total: ActivityBucket = ActivityBucket()
    by_category: Mapping[str, ActivityBucket] = field(default_factory=dict)
    by_difficulty: Mapping[str, ActivityBucket] = field(default_factory=dict)
    by_hour: Mapping[int, ActivityBucket] = field(default_factory=dict)
    by_certification: Mapping[str, ActivityBucket] = field(default_factory=dict)
    sessions: frozenset[str] = frozenset()  # the `sessionId`s of its events, when they send one
    items_finished: int = 0  # items completed or mastered for the first time
    mastered: int = 0  # skills that became mastered


@dataclass(frozen=True, slots=True)
class LocalTime:
    day: date
    hour: int


def week_of(day: date) -> date:
    """The Monday of the day's ISO week: the key of weekly rollups."""
    return day - timedelta(days=day.weekday())


def local_time(at: datetime, time_zone: str) -> LocalTime:
    local = at.astimezone(ZoneInfo(time_zone))
    return LocalTime(day=local.date(), hour=local.hour)


def add_to_rollup(
    rollup: DailyRollup,
    event: LearningEvent,
    item: ContentItem,
    hour: int,
    *,
    finished: int = 0,
    mastered: int = 0,
) -> DailyRollup:
    """The rollup with the event added; `finished` items finished and `mastered` skills
    mastered by it (the fold knows them, the event alone does not)."""
    difficulty = item.difficulty.value if item.difficulty else UNCATEGORISED
    by_certification = rollup.by_certification
    if item.certification:
        by_certification = _added(by_certification, item.certification, event)
    return DailyRollup(
        learner_id=rollup.learner_id,
        day=rollup.day,
        total=rollup.total.add(event),
        by_category=_added(rollup.by_category, item.category or UNCATEGORISED, event),
        by_difficulty=_added(rollup.by_difficulty, difficulty, event),
        by_hour=_added(rollup.by_hour, hour, event),
        by_certification=by_certification,
        sessions=rollup.sessions | {event.session_id} if event.session_id else rollup.sessions,
        items_finished=rollup.items_finished + finished,
        mastered=rollup.mastered + mastered,
    )


def _added(
    buckets: Mapping[K, ActivityBucket], key: K, event: LearningEvent
) -> dict[K, ActivityBucket]:
    updated = dict(buckets)
    updated[key] = updated.get(key, ActivityBucket()).add(event)
    return updated


def merge_buckets(a: ActivityBucket, b: ActivityBucket) -> ActivityBucket:
    """Both buckets added up field by field (the average score follows from the sums)."""
    return ActivityBucket(
        events=a.events + b.events,
        time_spent_seconds=a.time_spent_seconds + b.time_spent_seconds,
        answered=a.answered + b.answered,
        scored=a.scored + b.scored,
        score_sum=a.score_sum + b.score_sum,
        completions=a.completions + b.completions,
    )


def merge_slices(
    left: Mapping[K, ActivityBucket], right: Mapping[K, ActivityBucket]
) -> dict[K, ActivityBucket]:
    """Two breakdowns added up slice by slice."""
    out = dict(left)
    for key, bucket in right.items():
        out[key] = merge_buckets(out[key], bucket) if key in out else bucket
    return out


def merge_rollups(into: DailyRollup, other: DailyRollup) -> DailyRollup:
    """`into` (keeping its learner and day) with `other`'s activity added, slice by slice."""
    return DailyRollup(
        learner_id=into.learner_id,
        day=into.day,
        total=merge_buckets(into.total, other.total),
        by_category=merge_slices(into.by_category, other.by_category),
        by_difficulty=merge_slices(into.by_difficulty, other.by_difficulty),
        by_hour=merge_slices(into.by_hour, other.by_hour),
        by_certification=merge_slices(into.by_certification, other.by_certification),
        sessions=into.sessions | other.sessions,
        items_finished=into.items_finished + other.items_finished,
        mastered=into.mastered + other.mastered,
    )
