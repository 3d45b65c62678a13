"""A learner's progress: per item, per skill, per day, and analytics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from domain import activity, progress, totals
from domain import mastery as bkt
from domain.curves import attempts_to_mastery, skill_curve
from domain.errors import InvalidInput
from resolvers import catalog
from schema.catalog import ContentItem, Skill
from schema.context import Info
from schema.nodes import Node

if TYPE_CHECKING:
    from schema.analytics import ReviewSchedule

ProgressStatus = strawberry.enum(
    progress.ProgressStatus, description="Where a learner is with an item; never moves backwards."
)
MasteryLevel = strawberry.enum(bkt.MasteryLevel, description="Display band of a mastery.")


DEFAULT_MINUTES_PER_ANSWER = 2.0
MAX_CURVE_POINTS = 1000


def percent(score: float | None) -> float | None:
    return None if score is None else round(score * 100, 2)


@strawberry.type(description="A learner's progress through one content item.")
class ContentProgress(Node):
    value: strawberry.Private[progress.ContentProgress]
    learner_id: str
    content_id: str
    status: ProgressStatus  # type: ignore[valid-type]
    attempts: int
    best_score: float | None = strawberry.field(description="Percent, 0 to 100.")
    last_score: float | None = strawberry.field(description="Percent, 0 to 100.")
    time_spent_seconds: float
    first_activity_at: datetime | None
    last_activity_at: datetime | None
    completed_at: datetime | None

    def local_id(self) -> str:
        return f"{self.learner_id}|{self.content_id}"

    @strawberry.field(description="Its spaced-repetition schedule, once answered.")
    def review(
        self, info: Info
    ) -> Annotated[ReviewSchedule, strawberry.lazy("schema.analytics")] | None:
        from schema.analytics import ReviewSchedule

        card = self.value.review
        return None if card is None else ReviewSchedule.from_domain(card, info.context.now())

    @strawberry.field(description="The content item.")
    async def content(self, info: Info) -> ContentItem | None:
        item = await catalog.content_item(
            info.context.access, info.context.loaders, self.content_id
        )
        return ContentItem.from_domain(item) if item else None

    @classmethod
    def from_domain(cls, value: progress.ContentProgress) -> Self:
        return cls(
            value=value,
            learner_id=value.learner_id,
            content_id=value.content_id,
            status=value.status,
            attempts=value.attempts,
            best_score=percent(value.best_score),
            last_score=percent(value.last_score),
            time_spent_seconds=value.time_spent_seconds,
            first_activity_at=value.first_activity_at,
            last_activity_at=value.last_activity_at,
            completed_at=value.completed_at,
        )


@strawberry.type(description="Learning analytics, overall or for one certification.")
class Analytics:
    certification: str | None
    content_viewed: int = strawberry.field(description="Distinct items the learner has opened.")
    questions_answered: int
    items_completed: int
    average_score: float | None = strawberry.field(description="Percent over scored events.")
    time_spent_hours: float
    completion_rate: float = strawberry.field(
        description="Percent of the catalog's items (overall or in the certification) completed."
    )
    total_events: int

    @classmethod
    def from_domain(cls, value: totals.Analytics) -> Self:
        return cls(
            certification=value.certification,
            content_viewed=value.content_viewed,
            questions_answered=value.questions_answered,
            items_completed=value.items_completed,
            average_score=None if value.average_score is None else round(value.average_score, 2),
            time_spent_hours=round(value.time_spent_hours, 3),
            completion_rate=round(value.completion_rate, 2),
            total_events=value.total_events,
        )


@strawberry.type(description="Mastery right after one answer.")
class SkillCurvePoint:
    at: datetime
    mastery: float


@strawberry.type(description="y(n) = ceiling - (ceiling - start) * exp(-rate * n), n the answer.")
class SkillCurveFit:
    start: float
    ceiling: float
    rate: float


@strawberry.type(description="A skill's learning curve (README: Readiness and analytics).")
class SkillCurve:
    points: list[SkillCurvePoint]
    fit: SkillCurveFit | None
    improvement_per_answer: float | None = strawberry.field(
        description="Mastery gained per answer over the answers kept."
    )


@strawberry.type(description="A learner's state on one skill, with its mastery probability.")
class SkillMastery:
    skill_id: str
    mastery: float = strawberry.field(
        description="Probability the learner knows the skill (Bayesian Knowledge Tracing), 0..1."
    )
    level: MasteryLevel  # type: ignore[valid-type]
    mastered: bool = strawberry.field(description="Mastery of 0.95 or more.")
    mastered_at: datetime | None = strawberry.field(
        description="When the current mastered run began (answers in the order they happened); "
        "null when not mastered now."
    )
    attempts: int
    correct_answers: int
    average_score: float | None = strawberry.field(description="Percent, 0 to 100.")
    time_spent_seconds: float
    last_practised_at: datetime | None
    skill: Skill | None
    attempts_to_mastery: int | None = strawberry.field(
        description="Right answers in a row that would bring mastery to 0.95 (0 when mastered; "
        "null beyond 100)."
    )
    minutes_to_mastery: float | None = strawberry.field(
        description="Those answers at the learner's own minutes per answer on the skill."
    )

    state: strawberry.Private[bkt.SkillState]
    params: strawberry.Private[bkt.BktParams]

    @strawberry.field(
        description="The learning curve: mastery after each of the last `last` answers kept "
        "(at most 1000), a fitted curve over them, the change per answer."
    )
    def curve(self, last: int = 50) -> SkillCurve:
        if not 0 <= last <= MAX_CURVE_POINTS:
            raise InvalidInput("last", f"must be between 0 and {MAX_CURVE_POINTS}")
        value = skill_curve(self.state, self.params)
        fit = value.fit
        points = value.points[-last:] if last else ()
        return SkillCurve(
            points=[
                SkillCurvePoint(at=p.at, mastery=p.value)  # type: ignore[arg-type]
                for p in points
            ],
            fit=None
            if fit is None
            else SkillCurveFit(start=fit.start, ceiling=fit.ceiling, rate=fit.rate),
            improvement_per_answer=value.improvement_per_attempt,
        )

    @classmethod
    def from_domain(
        cls, state: bkt.SkillState, skill: Skill | None, params: bkt.BktParams = bkt.DEFAULT_BKT
    ) -> Self:
        attempts = attempts_to_mastery(state.p_known, params)
        minutes = state.time_spent_seconds / 60 / state.attempts if state.attempts else None
        return cls(
            state=state,
            params=params,
            attempts_to_mastery=attempts,
            minutes_to_mastery=None
            if attempts is None
            else round(attempts * (minutes or DEFAULT_MINUTES_PER_ANSWER), 1),
            skill_id=state.skill_id,
            mastery=state.p_known,
            level=state.level,
            mastered=state.mastered,
            mastered_at=state.mastered_at,
            attempts=state.attempts,
            correct_answers=state.correct,
            average_score=percent(state.average_score),
            time_spent_seconds=state.time_spent_seconds,
            last_practised_at=state.last_practised_at,
            skill=skill,
        )


@strawberry.type(description="Activity counts for a day or for one slice of a day.")
class ActivityCounts:
    key: str = strawberry.field(description="The slice: a category, difficulty or hour (0-23).")
    events: int
    time_spent_seconds: float
    answered: int
    completions: int
    average_score: float | None = strawberry.field(description="Percent, 0 to 100.")

    @classmethod
    def from_domain(cls, key: str, bucket: activity.ActivityBucket) -> Self:
        return cls(
            key=key,
            events=bucket.events,
            time_spent_seconds=bucket.time_spent_seconds,
            answered=bucket.answered,
            completions=bucket.completions,
            average_score=percent(bucket.average_score),
        )


def slices(buckets: Mapping[str, activity.ActivityBucket]) -> list[ActivityCounts]:
    return [ActivityCounts.from_domain(key, buckets[key]) for key in sorted(buckets)]


@strawberry.type(description="One local calendar day of a learner's activity.")
class DailyActivity:
    date: date
    events: int
    time_spent_seconds: float
    answered: int
    completions: int
    average_score: float | None = strawberry.field(description="Percent, 0 to 100.")
    by_category: list[ActivityCounts]
    by_difficulty: list[ActivityCounts]
    by_certification: list[ActivityCounts]
    by_hour: list[ActivityCounts] = strawberry.field(description="Local hour of day, 0 to 23.")

    @classmethod
    def from_domain(cls, rollup: activity.DailyRollup) -> Self:
        total = rollup.total
        return cls(
            date=rollup.day,
            events=total.events,
            time_spent_seconds=total.time_spent_seconds,
            answered=total.answered,
            completions=total.completions,
            average_score=percent(total.average_score),
            by_category=slices(rollup.by_category),
            by_difficulty=slices(rollup.by_difficulty),
            by_certification=slices(rollup.by_certification),
            by_hour=[
                ActivityCounts.from_domain(str(hour), rollup.by_hour[hour])
                for hour in sorted(rollup.by_hour)
            ],
        )
