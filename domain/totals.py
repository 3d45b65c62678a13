"""A learner's running totals and the analytics read from them (the ProCert shape)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from domain.events import EventType, LearningEvent
from domain.points import PERFECT
from domain.progress import ContentProgress, ProgressStatus
from domain.streaks import DEFAULT_AT_RISK_HOUR, DayRun, Streak, add_day, streak_on


@dataclass(frozen=True, slots=True)
class Tally:
    events: int = 0
    content_viewed: int = 0
    questions_answered: int = 0
    items_completed: int = 0
    scored: int = 0
    score_sum: float = 0.0
    time_spent_seconds: float = 0.0
    perfect_scores: int = 0
    helped: int = 0  # peer-help events rewarded

    def add(self, event: LearningEvent, before: ContentProgress, after: ContentProgress) -> Tally:
        return Tally(
            events=self.events + 1,
            content_viewed=self.content_viewed + (1 if before.status is _NEW else 0),
            questions_answered=self.questions_answered
            + (1 if event.type is EventType.ANSWERED else 0),
            items_completed=self.items_completed
            + (1 if after.status.is_done and not before.status.is_done else 0),
            scored=self.scored + (1 if event.score is not None else 0),
            score_sum=self.score_sum + (event.score or 0.0),
            time_spent_seconds=self.time_spent_seconds + event.time_spent_seconds,
            # Perfect scores count items: the same item aced again is no new perfection.
            perfect_scores=self.perfect_scores
            + (1 if event.score == 1.0 and PERFECT not in before.point_awards else 0),
            helped=self.helped + (1 if event.type is EventType.HELPED else 0),
        )


_NEW = ProgressStatus.NOT_STARTED


@dataclass(frozen=True, slots=True)
class LearnerTotals:
    learner_id: str
    overall: Tally = Tally()
    by_certification: Mapping[str, Tally] = field(default_factory=dict)
    active_days: tuple[DayRun, ...] = ()  # local calendar days with activity, as runs
    mastered_skills: int = 0  # skills mastered now
    points: int = 0
    unlocks: int = 0  # achievements unlocked so far: the last unlock's sequence number
    recent_rewards: tuple[datetime, ...] = ()  # the reward guard's rate window, sorted
    # Engagement: streak freezes, daily streak points, weekly goals and what the badges measure.
    freezes_held: int = 0
    frozen_days: tuple[DayRun, ...] = ()  # missed days a freeze covered, as runs
    streak_point_days: tuple[DayRun, ...] = ()  # days that earned their daily streak points
    goal_weeks: tuple[date, ...] = ()  # Mondays of the weeks that met their goal
    perfect_weeks: tuple[date, ...] = ()  # Mondays of the weeks every day of which met its share
    subjects_tried: frozenset[str] = frozenset()  # catalog categories of the items tried
    mastered_ids: frozenset[str] = frozenset()  # the skills mastered now
    subjects_mastered: frozenset[str] = frozenset()  # "category:…" and "domain:CERT/…" keys
    best_mastery_day: int = 0  # the most skills mastered on one local day

    def tally(self, certification: str | None) -> Tally:
        if certification is None:
            return self.overall
        return self.by_certification.get(certification, Tally())


def streak_from(
    totals: LearnerTotals,
    *,
    today: date,
    local_hour: int,
    at_risk_hour: int = DEFAULT_AT_RISK_HOUR,
) -> Streak:
    """The learner's streak on their local `today`, their frozen days and held freezes included."""
    return streak_on(
        totals.active_days,
        today=today,
        local_hour=local_hour,
        at_risk_hour=at_risk_hour,
        frozen=totals.frozen_days,
        freezes_held=totals.freezes_held,
    )


def add_to_totals(
    totals: LearnerTotals,
    event: LearningEvent,
    *,
    certification: str | None,
    before: ContentProgress,
    after: ContentProgress,
    day: date,
    mastered_change: int = 0,
) -> LearnerTotals:
    """The totals after one event on the learner's local `day`."""
    by_certification = totals.by_certification
    if certification:
        by_certification = dict(by_certification)
        current = by_certification.get(certification, Tally())
        by_certification[certification] = current.add(event, before, after)
    return replace(
        totals,
        overall=totals.overall.add(event, before, after),
        by_certification=by_certification,
        active_days=add_day(totals.active_days, day),
        mastered_skills=max(0, totals.mastered_skills + mastered_change),
    )


@dataclass(frozen=True, slots=True)
class Analytics:
    """Percentages are 0..100; `average_score` is None before any scored event."""

    certification: str | None
    content_viewed: int
    questions_answered: int
    items_completed: int
    average_score: float | None
    time_spent_seconds: float
    completion_rate: float
    total_events: int

    @property
    def time_spent_hours(self) -> float:
        return self.time_spent_seconds / 3600


def analytics(tally: Tally, *, certification: str | None, catalog_items: int) -> Analytics:
    average = tally.score_sum / tally.scored * 100 if tally.scored else None
    rate = min(100.0, tally.items_completed / catalog_items * 100) if catalog_items else 0.0
    return Analytics(
        certification=certification,
        content_viewed=tally.content_viewed,
        questions_answered=tally.questions_answered,
        items_completed=tally.items_completed,
        average_score=average,
        time_spent_seconds=tally.time_spent_seconds,
        completion_rate=rate,
        total_events=tally.events,
    )
