"""Gamification types: streaks, levels, points, achievements, unlocks and the dashboard."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry

from domain import achievements, dashboard, levels, points, streaks
from resolvers import gamification, readiness
from schema.context import Info
from schema.nodes import Node
from schema.progress import Analytics, DailyActivity
from schema.readiness import Readiness

AchievementRule = strawberry.enum(
    achievements.RuleType, description="What an achievement measures."
)
PointsSource = strawberry.enum(points.PointsSource, description="What earned points.")
RecommendationKind = strawberry.enum(
    dashboard.RecommendationKind, description="What a recommendation asks for."
)


@strawberry.type(description="Consecutive local calendar days with activity.")
class Streak:
    current: int = strawberry.field(description="Days, ending today or yesterday; 0 if broken.")
    longest: int
    last_active_date: date | None
    active_today: bool
    at_risk: bool = strawberry.field(
        description="The streak is alive, today has no activity yet, and the day is getting late."
    )
    freezes_held: int = strawberry.field(
        description=f"Streak freezes held (at most {streaks.MAX_FREEZES}): each covers one "
        f"missed day, spent automatically. One is earned every {streaks.FREEZE_EVERY} active "
        "days of a streak; educators, guardians and admins can grant them."
    )
    frozen_dates: list[date] = strawberry.field(
        description="Days of the current streak a freeze covered (they keep it, not lengthen it)."
    )
    freezes_pending: int = strawberry.field(
        description="Missed days the held freezes will cover at the next activity."
    )

    @classmethod
    def from_domain(cls, value: streaks.Streak) -> Self:
        return cls(
            current=value.current,
            longest=value.longest,
            last_active_date=value.last_active,
            active_today=value.active_today,
            at_risk=value.at_risk,
            freezes_held=value.freezes_held,
            frozen_dates=list(value.frozen_days),
            freezes_pending=value.freezes_pending,
        )


@strawberry.type(description="A learner's level, from their total points.")
class Level:
    number: int
    name: str
    points: int
    min_points: int
    next_level_at: int | None = strawberry.field(description="Null at the top level.")
    points_to_next_level: int | None
    progress_percent: float = strawberry.field(description="Progress within this level, 0-100.")

    @classmethod
    def from_domain(cls, value: levels.Level) -> Self:
        return cls(
            number=value.number,
            name=value.name,
            points=value.points,
            min_points=value.min_points,
            next_level_at=value.next_level_at,
            points_to_next_level=value.points_to_next,
            progress_percent=round(value.progress * 100, 2),
        )


@strawberry.type(description="One entry of the append-only points ledger.")
class PointsEntry:
    amount: int
    reason: str
    source: PointsSource  # type: ignore[valid-type]
    reference: str = strawberry.field(
        description="What earned it: an event id, an achievement key, or who awarded it."
    )
    at: datetime = strawberry.field(
        description="When it was earned: the triggering event's occurredAt, or the award's time."
    )
    recorded_at: datetime | None = strawberry.field(
        description="When Cairn recorded it (null for entries older than this field)."
    )

    @classmethod
    def from_domain(cls, value: points.PointsEntry) -> Self:
        return cls(
            amount=value.amount,
            reason=value.reason,
            source=value.source,
            reference=value.reference,
            at=value.at,
            recorded_at=value.recorded_at,
        )


@strawberry.type(description="An achievement unlocked by a learner (the ProCert shape).")
class AchievementUnlock(Node):
    learner_id: str
    key: str
    seq: int = strawberry.field(description="1, 2, 3... per learner, in unlock order.")
    title: str
    description: str
    badge_icon: str
    points: int
    rule: AchievementRule  # type: ignore[valid-type]
    certification: str | None
    unlocked_at: datetime = strawberry.field(
        description="When it was earned: the occurredAt of the event that unlocked it."
    )
    recorded_at: datetime | None = strawberry.field(
        description="When Cairn recorded it (null for unlocks older than this field)."
    )
    event_id: str | None = strawberry.field(description="The event that unlocked it.")

    def local_id(self) -> str:
        return f"{self.learner_id}|{self.seq}"

    @classmethod
    def from_domain(cls, value: achievements.Unlock) -> Self:
        return cls(
            learner_id=value.learner_id,
            key=value.key,
            seq=value.seq,
            title=value.title,
            description=value.description,
            badge_icon=value.icon,
            points=value.points,
            rule=value.rule,
            certification=value.certification,
            unlocked_at=value.unlocked_at,
            recorded_at=value.recorded_at,
            event_id=value.event_id,
        )


@strawberry.type(description="An achievement rule (admins add or change them).")
class AchievementDefinition:
    key: str
    title: str
    description: str
    badge_icon: str
    points: int
    rule: AchievementRule  # type: ignore[valid-type]
    threshold: float
    certification: str | None
    min_scored: int = strawberry.field(
        description="Average-score rules wait for this many scored answers."
    )

    @classmethod
    def from_domain(cls, value: achievements.AchievementDefinition) -> Self:
        return cls(
            key=value.key,
            title=value.title,
            description=value.description,
            badge_icon=value.icon,
            points=value.points,
            rule=value.rule,
            threshold=value.threshold,
            certification=value.certification,
            min_scored=value.min_scored,
        )


@strawberry.type(description="How far a learner is towards an achievement.")
class AchievementProgress:
    current: float
    target: float
    percent: float


@strawberry.type(description="An achievement as one learner stands with it.")
class Achievement:
    definition: AchievementDefinition
    unlocked: bool
    unlock: AchievementUnlock | None
    progress: AchievementProgress

    @classmethod
    def from_domain(cls, value: gamification.AchievementStatus) -> Self:
        return cls(
            definition=AchievementDefinition.from_domain(value.definition),
            unlocked=value.unlock is not None,
            unlock=AchievementUnlock.from_domain(value.unlock) if value.unlock else None,
            progress=AchievementProgress(
                current=round(value.progress.current, 2),
                target=value.progress.target,
                percent=round(value.progress.percent, 2),
            ),
        )


@strawberry.type(description="Something the learner could do next.")
class Recommendation:
    kind: RecommendationKind  # type: ignore[valid-type]
    message: str
    skill_id: str | None
    content_id: str | None

    @classmethod
    def from_domain(cls, value: dashboard.Recommendation) -> Self:
        return cls(
            kind=value.kind,
            message=value.message,
            skill_id=value.skill_id,
            content_id=value.content_id,
        )


@strawberry.type(description="Activity at a glance.")
class ActivitySummary:
    study_streak_days: int
    streak: Streak
    total_interactions: int
    weekly_average_minutes: float = strawberry.field(description="Over the last four weeks.")
    most_active_certification: str | None

    @classmethod
    def from_domain(cls, value: dashboard.ActivitySummary) -> Self:
        return cls(
            study_streak_days=value.streak.current,
            streak=Streak.from_domain(value.streak),
            total_interactions=value.total_interactions,
            weekly_average_minutes=round(value.weekly_average_minutes, 1),
            most_active_certification=value.most_active_certification,
        )


@strawberry.type(description="Everything a learner's home screen shows, in one query.")
class Dashboard:
    value: strawberry.Private[gamification.Dashboard]
    generated_at: datetime
    overall_analytics: Analytics
    activity_summary: ActivitySummary
    certification_progress: list[Analytics]
    performance_trend: list[DailyActivity] = strawberry.field(
        description="The last 30 local days, oldest first, days without activity included."
    )
    recent_achievements: list[AchievementUnlock]
    total_points: int
    level: Level
    recommendations: list[Recommendation]

    @strawberry.field(
        description="Readiness for each certification of the catalog (the ProCert block)."
    )
    async def certification_readiness(self, info: Info) -> list[Readiness]:
        ctx = info.context
        values = await readiness.readiness_by_certification(
            ctx.access,
            ctx.loaders,
            ctx.repositories,
            self.value.learner.id,
            now=self.value.generated_at,
        )
        return [Readiness.from_domain(value) for value in values]

    @classmethod
    def from_domain(cls, value: gamification.Dashboard) -> Self:
        return cls(
            value=value,
            generated_at=value.generated_at,
            overall_analytics=Analytics.from_domain(value.overall),
            activity_summary=ActivitySummary.from_domain(value.activity),
            certification_progress=[Analytics.from_domain(a) for a in value.certifications],
            performance_trend=[DailyActivity.from_domain(day) for day in value.trend],
            recent_achievements=[
                AchievementUnlock.from_domain(u) for u in value.recent_achievements
            ],
            total_points=value.level.points,
            level=Level.from_domain(value.level),
            recommendations=[Recommendation.from_domain(r) for r in value.recommendations],
        )


@strawberry.input(description="An achievement rule to add or change (admin).")
class AchievementInput:
    key: str
    title: str
    description: str
    badge_icon: str
    points: int
    rule: AchievementRule  # type: ignore[valid-type]
    threshold: float
    certification: str | None = None
    min_scored: int = achievements.MIN_SCORED_FOR_AVERAGE

    def to_domain(self) -> achievements.AchievementDefinition:
        return achievements.AchievementDefinition(
            key=self.key,
            title=self.title,
            description=self.description,
            icon=self.badge_icon,
            points=self.points,
            rule=self.rule,
            threshold=self.threshold,
            certification=self.certification,
            min_scored=self.min_scored,
        )


@strawberry.input(description="Points given by hand (admin).")
class AwardPointsInput:
    learner_id: str
    award_id: str = strawberry.field(
        description="The client's id for this award, unique per learner: the idempotency key. "
        "Sending it again with the same amount and reason returns the first outcome."
    )
    amount: int = strawberry.field(description="1 to 100,000.")
    reason: str


@strawberry.type(description="The ledger entry written and the learner's new standing.")
class AwardPointsPayload:
    entry: PointsEntry
    total_points: int = strawberry.field(description="The learner's points right after the award.")
    level: Level
    replayed: bool = strawberry.field(
        description="True when this award id was recorded before: the first outcome is returned."
    )
