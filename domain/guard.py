"""The reward guard: events that would farm points, hours or mastery are stored but not rewarded.

In the spirit of Moodle Level Up's cheat guard. Every event is stored whole (the raw log is the
truth); the guard decides how much of it the derived numbers may take:

- Time. The time an event credits is capped at `time_factor` times the item's estimated minutes
  (`default_max_minutes` for items without an estimate); on one item, an event never credits more
  than the time since the learner's previous activity on that item (two events cannot claim the
  same minutes); and a local day never credits more than `daily_max_hours`.
- Repeats. An answer (or any scored event) on an item within `cooldown` of one of the same type
  already counted on that item earns nothing and counts once toward scores and mastery. Quizzes and
  practice sets hold several questions, answered minutes apart, so for them the gap is
  `quiz_answer_gap`.
- Rate. At most `max_rewarded` rewarded events (events that would earn points or count as
  evidence) in any `rate_window_minutes` ending at an event; the rest earn nothing.

An event the guard stops (a repeat or over the rate) still counts as activity: its credited time,
the day it falls on (streaks) and the item's last activity. It earns no points, moves no status,
adds no score, answer, completion or mastery evidence, and so unlocks nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.catalog import ContentItem, ContentKind
from domain.errors import InvalidInput
from domain.events import EventType, LearningEvent

DAY_SECONDS = 24 * 60 * 60
# Items whose one answer is the whole item; the others hold several questions.
_MULTI_QUESTION = frozenset({ContentKind.QUIZ, ContentKind.PRACTICE})
# Rewarded times kept per item for the repeat check (late events may land between them).
_KEPT_PER_ITEM = 8


class GuardReason(StrEnum):
    TIME_CAPPED = "time_capped"  # more time than the item can take
    TIME_OVERLAP = "time_overlap"  # time already claimed by the previous activity on the item
    DAY_FULL = "day_full"  # the local day has been credited 24 hours already
    REPEAT = "repeat"  # an answer on the same item within the cooldown
    RATE = "rate"  # too many rewarded events in the window


@dataclass(frozen=True, slots=True)
class GuardSettings:
    time_factor: float = 3.0
    default_max_minutes: int = 60
    daily_max_hours: float = 24.0
    cooldown_seconds: int = 300
    quiz_answer_gap_seconds: int = 10
    max_rewarded: int = 60
    rate_window_minutes: int = 10

    def validate(self) -> GuardSettings:
        checks = {
            "time_factor": self.time_factor >= 1,
            "default_max_minutes": self.default_max_minutes >= 1,
            "daily_max_hours": 0 < self.daily_max_hours <= 24,
            "cooldown_seconds": self.cooldown_seconds >= 0,
            "quiz_answer_gap_seconds": self.quiz_answer_gap_seconds >= 0,
            "max_rewarded": self.max_rewarded >= 1,
            "rate_window_minutes": self.rate_window_minutes >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidInput(f"guard.{name}", "is out of range")
        return self

    @property
    def rate_window(self) -> timedelta:
        return timedelta(minutes=self.rate_window_minutes)

    def gap_for(self, item: ContentItem) -> timedelta:
        if item.kind in _MULTI_QUESTION:
            return timedelta(seconds=self.quiz_answer_gap_seconds)
        return timedelta(seconds=self.cooldown_seconds)

    def max_seconds_for(self, item: ContentItem) -> float:
        minutes = item.estimated_minutes or self.default_max_minutes
        return minutes * 60 * self.time_factor


DEFAULT_GUARD = GuardSettings()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the guard lets an event credit."""

    credited_seconds: float
    rewarded: bool  # False: activity only (no points, status, score or evidence)
    reasons: tuple[GuardReason, ...] = ()

    def applied_to(self, event: LearningEvent) -> LearningEvent:
        """The event as the derived state should see it."""
        if self.rewarded:
            if self.credited_seconds == event.time_spent_seconds:
                return event
            return replace(event, time_spent_seconds=self.credited_seconds)
        return replace(
            event,
            type=EventType.VIEWED,  # activity on the item, nothing more
            score=None,
            correct=None,
            time_spent_seconds=self.credited_seconds,
        )


def is_evidence(event: LearningEvent) -> bool:
    """Answers and scored events: what scores and mastery are computed from."""
    return event.type is EventType.ANSWERED or event.score is not None


def is_counted(event: LearningEvent) -> bool:
    """Events the repeat and rate rules apply to: evidence, and peer help (a badge counts it)."""
    return is_evidence(event) or event.type is EventType.HELPED


def judge(
    event: LearningEvent,
    item: ContentItem,
    *,
    last_activity_at: datetime | None,
    rewarded_on_item: Sequence[datetime],
    day_credited_seconds: float,
    recent_rewards: Sequence[datetime],
    earns_points: bool,
    settings: GuardSettings = DEFAULT_GUARD,
) -> Verdict:
    """Judges one event against what the learner already has.

    `rewarded_on_item`: times of evidence of the same type already counted on the item (an
    answer repeats an answer; a completion right after the answers is no repeat);
    `recent_rewards`: sorted times of the learner's recent rewarded events; `earns_points`:
    whether the event would earn event points (first start, completion or mastery of the item,
    first perfect score).
    """
    reasons: list[GuardReason] = []
    credited = event.time_spent_seconds
    cap = settings.max_seconds_for(item)
    if credited > cap:
        credited = cap
        reasons.append(GuardReason.TIME_CAPPED)
    if last_activity_at is not None and event.occurred_at >= last_activity_at:
        elapsed = (event.occurred_at - last_activity_at).total_seconds()
        if credited > elapsed:
            credited = elapsed
            reasons.append(GuardReason.TIME_OVERLAP)
    room = max(0.0, settings.daily_max_hours * 3600 - day_credited_seconds)
    if credited > room:
        credited = room
        reasons.append(GuardReason.DAY_FULL)

    evidence = is_counted(event)
    if not (evidence or earns_points):
        return Verdict(credited, True, tuple(reasons))
    gap = settings.gap_for(item)
    if evidence and any(abs(event.occurred_at - at) < gap for at in rewarded_on_item):
        reasons.append(GuardReason.REPEAT)
        return Verdict(credited, False, tuple(reasons))
    if _in_window(recent_rewards, event.occurred_at, settings.rate_window) >= settings.max_rewarded:
        reasons.append(GuardReason.RATE)
        return Verdict(credited, False, tuple(reasons))
    return Verdict(credited, True, tuple(reasons))


def _in_window(times: Sequence[datetime], at: datetime, window: timedelta) -> int:
    """How many of the sorted `times` fall in (at - window, at]."""
    return bisect.bisect_right(times, at) - bisect.bisect_right(times, at - window)


def remember_reward(
    recent: tuple[datetime, ...], at: datetime, settings: GuardSettings = DEFAULT_GUARD
) -> tuple[datetime, ...]:
    """The learner's recent rewarded times with `at` added, pruned to the newest window."""
    times = list(recent)
    bisect.insort(times, at)
    horizon = times[-1] - settings.rate_window
    start = bisect.bisect_right(times, horizon)
    return tuple(times[start:])


RewardedOnItem = tuple[tuple[str, datetime], ...]


def rewarded_of_type(rewarded: RewardedOnItem, event_type: EventType) -> list[datetime]:
    return [at for kind, at in rewarded if kind == event_type.value]


def remember_on_item(
    rewarded: RewardedOnItem, event_type: EventType, at: datetime
) -> RewardedOnItem:
    """The item's counted evidence with this one added, the newest few of each type kept."""
    mine = sorted((*rewarded_of_type(rewarded, event_type), at))[-_KEPT_PER_ITEM:]
    others = [(kind, when) for kind, when in rewarded if kind != event_type.value]
    return (*others, *((event_type.value, when) for when in mine))
