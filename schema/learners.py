"""The learner and everything read about them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from domain import learners
from domain.errors import InvalidInput
from domain.mastery import DEFAULT_BKT
from domain.progress import ProgressFilter
from resolvers import analytics, engagement, gamification, readiness, reading
from resolvers import groups as group_use_cases
from resolvers import paths as path_use_cases
from schema.analytics import DueReview, NextItem, RiskAssessment
from schema.catalog import Skill
from schema.connections import Connection, decode_cursor
from schema.context import Info
from schema.engagement import GoalWeek
from schema.gamification import Achievement, Dashboard, Level, PointsEntry, Streak
from schema.insights import (
    CompletionForecast,
    HeatmapDay,
    LearningCurve,
    LearningPatterns,
    Period,
    TargetPoint,
    TrendPoint,
)
from schema.leaderboards import LeaderboardPeriod, LeaderboardPrivacy, LeaderboardStanding, standing
from schema.nodes import Node
from schema.paths import ModuleProgress, PathProgress
from schema.progress import (
    Analytics,
    ContentProgress,
    DailyActivity,
    ProgressStatus,
    SkillMastery,
)
from schema.readiness import Readiness
from schema.selection import BREAKDOWN_FIELDS, selected, selects_any

if TYPE_CHECKING:
    from schema.groups import Group


@strawberry.type(description="A person who learns; their days follow their IANA time zone.")
class Learner(Node):
    value: strawberry.Private[learners.Learner]
    learner_id: str
    display_name: str | None
    time_zone: str
    leaderboard_visibility: LeaderboardPrivacy = strawberry.field(  # type: ignore[valid-type]
        description="How the learner appears on leaderboards, at most: each row shows the more "
        "private of this and the board's mode (HIDDEN: on no board)."
    )

    def local_id(self) -> str:
        return self.learner_id

    @classmethod
    def from_domain(cls, value: learners.Learner) -> Self:
        return cls(
            value=value,
            learner_id=value.id,
            display_name=value.display_name,
            time_zone=value.time_zone,
            leaderboard_visibility=value.leaderboard_visibility,
        )

    @strawberry.field(description="Analytics over all content, or one certification's.")
    async def analytics(self, info: Info, certification: str | None = None) -> Analytics:
        ctx = info.context
        value = await reading.analytics_for(ctx.access, ctx.loaders, self.learner_id, certification)
        return Analytics.from_domain(value)

    @strawberry.field(description="Analytics for each certification.")
    async def certifications(self, info: Info) -> list[Analytics]:
        ctx = info.context
        values = await reading.analytics_by_certification(ctx.access, ctx.loaders, self.learner_id)
        return [Analytics.from_domain(value) for value in values]

    @strawberry.field(description="Progress per content item, by content id; at most 100 a page.")
    async def content_progress(
        self,
        info: Info,
        first: int | None = reading.DEFAULT_PAGE,
        after: str | None = None,
        status: ProgressStatus | None = None,  # type: ignore[valid-type]
        certification: str | None = None,
    ) -> Connection[ContentProgress]:
        page = await reading.progress_page(
            info.context.access,
            info.context.loaders,
            self.learner_id,
            where=ProgressFilter(status=status, certification=certification),
            first=first,
            after=decode_cursor(after),
        )
        return Connection.of_page(
            page,
            key=lambda item: item.content_id,
            view=ContentProgress.from_domain,
            after=after,
        )

    @strawberry.field(description="The learner's state on every skill practised, by skill id.")
    async def skills(self, info: Info) -> list[SkillMastery]:
        views = await reading.skills_of(info.context.access, info.context.loaders, self.learner_id)
        return [
            SkillMastery.from_domain(
                view.state,
                Skill.from_domain(view.skill) if view.skill else None,
                view.skill.bkt if view.skill and view.skill.bkt else DEFAULT_BKT,
            )
            for view in views
        ]

    @strawberry.field(
        description="One entry per local day from `from` to `to` (default: the last 30 days), "
        "days without activity included; at most 366 days."
    )
    async def daily_activity(
        self,
        info: Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> list[DailyActivity]:
        first, last = reading.activity_window(
            self.value, now=info.context.now(), first=from_, last=to
        )
        days = await reading.daily_activity(
            info.context.access,
            info.context.loaders,
            self.value,
            first=first,
            last=last,
            detail=selects_any(info, BREAKDOWN_FIELDS),
        )
        return [DailyActivity.from_domain(day) for day in days]

    @strawberry.field(description="Consecutive local days with activity.")
    async def streak(self, info: Info) -> Streak:
        value = await gamification.streak_of(
            info.context.access,
            info.context.loaders,
            self.value,
            now=info.context.now(),
            settings=info.context.services.gamification,
        )
        return Streak.from_domain(value)

    @strawberry.field(
        description="This local week against the learner's weekly goal (no goal: `goal` null)."
    )
    async def weekly_goal(self, info: Info) -> GoalWeek:
        ctx = info.context
        [week] = await engagement.goal_weeks(
            ctx.access, ctx.loaders, self.value, now=ctx.now(), weeks=1
        )
        return GoalWeek.from_domain(week)

    @strawberry.field(description="The last `weeks` local weeks against their goals, newest first.")
    async def goal_history(self, info: Info, weeks: int = 8) -> list[GoalWeek]:
        ctx = info.context
        found = await engagement.goal_weeks(
            ctx.access, ctx.loaders, self.value, now=ctx.now(), weeks=weeks
        )
        return [GoalWeek.from_domain(week) for week in found]

    @strawberry.field(description="Total points and the level they give.")
    async def level(self, info: Info) -> Level:
        ctx = info.context
        value = await gamification.level_of(
            ctx.access, ctx.loaders, self.learner_id, ctx.services.gamification
        )
        return Level.from_domain(value)

    @strawberry.field(description="Every achievement with the learner's standing on it.")
    async def achievements(self, info: Info, unlocked: bool | None = None) -> list[Achievement]:
        ctx = info.context
        statuses = await gamification.achievements_of(ctx.access, ctx.loaders, self.learner_id)
        views = [Achievement.from_domain(status) for status in statuses]
        return [v for v in views if unlocked is None or v.unlocked == unlocked]

    @strawberry.field(description="The latest entries of the learner's points ledger.")
    async def points_history(self, info: Info, first: int = 20) -> list[PointsEntry]:
        ctx = info.context
        entries = await gamification.points_history(
            ctx.access, ctx.repositories, self.learner_id, first=first
        )
        return [PointsEntry.from_domain(entry) for entry in entries]

    @strawberry.field(description="Everything the learner's home screen shows.")
    async def dashboard(self, info: Info) -> Dashboard:
        value = await gamification.dashboard(
            info.context.access,
            info.context.loaders,
            self.value,
            now=info.context.now(),
            settings=info.context.services.gamification,
            trend_detail=selects_any(info, BREAKDOWN_FIELDS, "performanceTrend"),
        )
        return Dashboard.from_domain(value)

    @strawberry.field(
        description="How ready the learner is for a certification; null for one not in the catalog."
    )
    async def readiness(self, info: Info, certification: str) -> Readiness | None:
        ctx = info.context
        value = await readiness.readiness_for(
            ctx.access,
            ctx.loaders,
            ctx.repositories,
            self.learner_id,
            certification,
            now=ctx.now(),
        )
        return Readiness.from_domain(value) if value else None

    @strawberry.field(
        description="Items due for review (spaced repetition), the longest overdue first; at "
        "most 100."
    )
    async def due_for_review(self, info: Info, first: int = 20) -> list[DueReview]:
        ctx = info.context
        values = await analytics.due_reviews(
            ctx.access, ctx.loaders, ctx.repositories, self.learner_id, now=ctx.now(), first=first
        )
        return [DueReview.from_domain(value) for value in values]

    @strawberry.field(
        description="The next best items, ranked: reviews due, weak domains, next up; at most 100."
    )
    async def next_items(self, info: Info, first: int = 10) -> list[NextItem]:
        ctx = info.context
        values = await analytics.next_items(
            ctx.access, ctx.loaders, ctx.repositories, self.learner_id, now=ctx.now(), first=first
        )
        return [NextItem.from_domain(value) for value in values]

    @strawberry.field(
        description="Whether the learner is at risk and why; with an exam date and its "
        "certification, a low pass probability close to it counts."
    )
    async def at_risk(
        self, info: Info, certification: str | None = None, exam_date: date | None = None
    ) -> RiskAssessment:
        ctx = info.context
        reasons = await analytics.at_risk(
            ctx.access,
            ctx.loaders,
            ctx.repositories,
            self.value,
            now=ctx.now(),
            settings=ctx.services.risk,
            certification=certification,
            exam_date=exam_date,
        )
        return RiskAssessment.from_domain(reasons)

    @strawberry.field(
        description="The learner's way through each learning path (of one certification)."
    )
    async def paths(self, info: Info, certification: str | None = None) -> list[PathProgress]:
        ctx = info.context
        values = await path_use_cases.learner_paths(
            ctx.access, ctx.loaders, self.learner_id, certification=certification
        )
        return [PathProgress.from_domain(value) for value in values]

    @strawberry.field(description="Progress per module of a certification, in path order.")
    async def modules(self, info: Info, certification: str) -> list[ModuleProgress]:
        ctx = info.context
        values = await path_use_cases.modules(
            ctx.access, ctx.loaders, ctx.repositories, self.learner_id, certification
        )
        return [ModuleProgress.from_domain(value) for value in values]

    @strawberry.field(
        description="Daily, weekly (ISO weeks) or monthly series in the learner's calendar, "
        "from `from` to `to` (default: the last 12 weeks; at most two years), optionally of "
        "one certification."
    )
    async def trends(
        self,
        info: Info,
        period: Period = Period.WEEK,  # type: ignore[valid-type]
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        certification: str | None = None,
    ) -> list[TrendPoint]:
        ctx = info.context
        values = await analytics.trends(
            ctx.access,
            ctx.loaders,
            self.value,
            now=ctx.now(),
            period=period,
            first=from_,
            last=to,
            certification=certification,
            slices=selected(info, BREAKDOWN_FIELDS),
        )
        return [TrendPoint.from_domain(value) for value in values]

    @strawberry.field(description="When and how regularly the learner studies (last `days`).")
    async def learning_patterns(self, info: Info, days: int = 28) -> LearningPatterns:
        ctx = info.context
        value = await analytics.patterns_of(
            ctx.access, ctx.loaders, self.value, now=ctx.now(), days=days
        )
        return LearningPatterns.from_domain(value)

    @strawberry.field(description="Minutes per day and their band, oldest first (chart data).")
    async def heatmap(self, info: Info, days: int = 90) -> list[HeatmapDay]:
        ctx = info.context
        values = await analytics.heatmap_of(
            ctx.access, ctx.loaders, self.value, now=ctx.now(), days=days
        )
        return [HeatmapDay(day=v.day, minutes=round(v.minutes, 1), band=v.band) for v in values]

    @strawberry.field(
        description="Items completed so far, day by day, against a straight line to `goal` "
        "items by `targetDate` (chart data)."
    )
    async def progress_against_target(
        self,
        info: Info,
        goal: int,
        target_date: date,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        certification: str | None = None,
    ) -> list[TargetPoint]:
        ctx = info.context
        values = await analytics.target_line(
            ctx.access,
            ctx.loaders,
            self.value,
            now=ctx.now(),
            goal=goal,
            target_date=target_date,
            first=from_,
            certification=certification,
        )
        return [TargetPoint(day=v.day, completed=v.completed, target=v.target) for v in values]

    @strawberry.field(
        description="When the certification's items will all be completed at the recent pace."
    )
    async def completion_forecast(self, info: Info, certification: str) -> CompletionForecast:
        ctx = info.context
        value = await analytics.completion_forecast(
            ctx.access, ctx.loaders, self.value, now=ctx.now(), certification=certification
        )
        return CompletionForecast(
            remaining=value.remaining,
            pace_per_day=round(value.pace_per_day, 3),
            expected=value.expected,
            earliest=value.earliest,
            latest=value.latest,
        )

    @strawberry.field(description="Score progression over the last year, fitted.")
    async def learning_curve(self, info: Info) -> LearningCurve:
        ctx = info.context
        value = await analytics.curve_of(ctx.access, ctx.loaders, self.value, now=ctx.now())
        return LearningCurve.from_domain(value)

    @strawberry.field(
        description="The learner's place on a leaderboard: the overall one, or a group's the "
        "viewer may see them in; null when they are not on it (or it is hidden from the viewer)."
    )
    async def leaderboard_rank(
        self,
        info: Info,
        period: LeaderboardPeriod = LeaderboardPeriod.WEEK,  # type: ignore[valid-type]
        group_id: str | None = None,
        week: date | None = None,
    ) -> LeaderboardStanding | None:
        return await standing(info, self.learner_id, period=period, group_id=group_id, week=week)

    @strawberry.field(description="The ids of the learner's guardians (parents).")
    async def guardian_ids(self, info: Info) -> list[str]:
        ctx = info.context
        return await group_use_cases.guardians_of(ctx.access, ctx.loaders, self.learner_id)

    @strawberry.field(description="The groups the learner is in that the viewer may see.")
    async def groups(self, info: Info) -> list[Annotated[Group, strawberry.lazy("schema.groups")]]:
        from schema.groups import Group

        ctx = info.context
        found = await group_use_cases.groups_of(ctx.access, ctx.loaders, self.learner_id)
        return [Group.from_domain(group) for group in found]


@strawberry.input(
    description="A learner to create or update: fields left out keep their value (on creation, "
    "no display name and UTC)."
)
class LearnerInput:
    id: str
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="null clears the name."
    )
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An IANA time zone, e.g. Europe/Paris. A change applies to days from the "
        "change on; days already counted keep their calendar.",
    )
    leaderboard_visibility: LeaderboardPrivacy | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET,
        description="How the learner appears on leaderboards (the only field a learner may "
        "set for themselves).",
    )

    def to_domain(self) -> learners.LearnerChanges:
        if self.time_zone is None:
            raise InvalidInput("input.timeZone", "must be an IANA time zone, not null")
        if self.leaderboard_visibility is None:
            raise InvalidInput("input.leaderboardVisibility", "must be a mode, not null")
        name, zone = self.display_name, self.time_zone
        visibility = self.leaderboard_visibility
        return learners.LearnerChanges(
            id=self.id,
            display_name=None if name is strawberry.UNSET else name,
            time_zone=None if zone is strawberry.UNSET else zone,
            clear_display_name=name is None,
            leaderboard_visibility=None if visibility is strawberry.UNSET else visibility,
        )
