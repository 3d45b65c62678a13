"""Chart-ready analytics: trend series, learning patterns, the heatmap, the target line, the
completion forecast and the learning curve."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry

from domain import curves, trends
from schema.progress import ActivityCounts, percent, slices

Period = strawberry.enum(trends.Period, description="The length of a series' points.")


@strawberry.type(description="One point of a series: a day, an ISO week or a month.")
class TrendPoint:
    start: date
    end: date = strawberry.field(description="Inclusive; clipped to the range asked for.")
    label: str = strawberry.field(description="2026-03-10, 2026-W11 or 2026-03.")
    events: int
    time_spent_seconds: float
    answered: int
    completions: int
    average_score: float | None = strawberry.field(description="Percent, 0 to 100.")
    active_days: int
    by_category: list[ActivityCounts]
    by_difficulty: list[ActivityCounts]
    by_certification: list[ActivityCounts]

    @classmethod
    def from_domain(cls, value: trends.SeriesPoint) -> Self:
        total = value.total
        return cls(
            start=value.start,
            end=value.end,
            label=value.label,
            events=total.events,
            time_spent_seconds=total.time_spent_seconds,
            answered=total.answered,
            completions=total.completions,
            average_score=percent(total.average_score),
            active_days=value.active_days,
            by_category=slices(value.by_category),
            by_difficulty=slices(value.by_difficulty),
            by_certification=slices(value.by_certification),
        )


@strawberry.type(description="Activity in one local hour of the day, over the range.")
class HourCount:
    hour: int
    events: int
    minutes: float


@strawberry.type(description="Activity on one day of the week (1 Monday ... 7 Sunday).")
class WeekdayCount:
    weekday: int
    events: int
    minutes: float
    active_days: int


@strawberry.type(description="When and how regularly the learner studies (local time).")
class LearningPatterns:
    hours: list[HourCount]
    weekdays: list[WeekdayCount]
    peak_hours: list[int]
    peak_weekdays: list[int]
    days: int
    active_days: int
    active_share: float = strawberry.field(description="Share of days with activity, 0..1.")
    regularity: float = strawberry.field(
        description="1 for evenly spaced study days, towards 0 for bunched ones."
    )
    average_daily_minutes_when_active: float
    sessions: int = strawberry.field(
        description="Study sessions: runs of consecutive local hours with activity."
    )
    average_session_minutes: float
    suggestions: list[str]

    @classmethod
    def from_domain(cls, value: trends.LearningPatterns) -> Self:
        return cls(
            hours=[HourCount(hour=h.hour, events=h.events, minutes=h.minutes) for h in value.hours],
            weekdays=[
                WeekdayCount(
                    weekday=w.weekday, events=w.events, minutes=w.minutes, active_days=w.active_days
                )
                for w in value.weekdays
            ],
            peak_hours=list(value.peak_hours),
            peak_weekdays=list(value.peak_weekdays),
            days=value.days,
            active_days=value.active_days,
            active_share=round(value.active_share, 4),
            regularity=round(value.regularity, 4),
            average_daily_minutes_when_active=round(value.average_daily_minutes_when_active, 1),
            sessions=value.sessions,
            average_session_minutes=round(value.average_session_minutes, 1),
            suggestions=list(value.suggestions),
        )


@strawberry.type(description="A day of the activity heatmap.")
class HeatmapDay:
    day: date
    minutes: float
    band: int = strawberry.field(description="0 none, 1 <15 min, 2 <30, 3 <60, 4 an hour or more.")


@strawberry.type(description="Items completed so far against the target line, on one day.")
class TargetPoint:
    day: date
    completed: int
    target: float


@strawberry.type(description="When the rest will be completed at the recent pace, with a range.")
class CompletionForecast:
    remaining: int
    pace_per_day: float = strawberry.field(description="Items a day over the last 28 days.")
    expected: date | None = strawberry.field(description="Null when there is no pace yet.")
    earliest: date | None
    latest: date | None


@strawberry.type(description="A day's point of a curve.")
class CurvePoint:
    day: date
    value: float = strawberry.field(description="0..1.")


@strawberry.type(description="y(t) = ceiling - (ceiling - start) * exp(-rate * t), t in days.")
class FittedCurve:
    start: float
    ceiling: float
    rate: float


@strawberry.type(description="A stretch of scored days without progress.")
class Plateau:
    first: date
    last: date
    level: float


@strawberry.type(description="A day the smoothed score jumped.")
class Breakthrough:
    day: date
    before: float
    after: float


@strawberry.type(description="Score progression over the last year (README: Learning curves).")
class LearningCurve:
    points: list[CurvePoint]
    smoothed: list[CurvePoint]
    fit: FittedCurve | None
    plateaus: list[Plateau]
    breakthroughs: list[Breakthrough]
    improvement_per_week: float | None = strawberry.field(
        description="Percentage points a week, from a straight-line fit."
    )

    @classmethod
    def from_domain(cls, value: curves.LearningCurve) -> Self:
        def points(values: tuple[curves.CurvePoint, ...]) -> list[CurvePoint]:
            return [CurvePoint(day=_day(p.at), value=round(p.value, 4)) for p in values]

        fit = value.fit
        return cls(
            points=points(value.points),
            smoothed=points(value.smoothed),
            fit=None
            if fit is None
            else FittedCurve(start=fit.start, ceiling=fit.ceiling, rate=fit.rate),
            plateaus=[Plateau(first=p.first, last=p.last, level=p.level) for p in value.plateaus],
            breakthroughs=[
                Breakthrough(day=b.day, before=b.before, after=b.after) for b in value.breakthroughs
            ],
            improvement_per_week=None
            if value.improvement_per_week is None
            else round(value.improvement_per_week, 2),
        )


def _day(at: date | datetime) -> date:
    return at.date() if isinstance(at, datetime) else at
