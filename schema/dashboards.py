"""The educator's group dashboard and the admin's system dashboard (README: Dashboards)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry

from domain import dashboards, suggestions
from resolvers import dashboards as use_cases
from resolvers import notifications as notification_use_cases
from schema.analytics import RiskReason
from schema.catalog import ContentItem, Skill
from schema.connections import Connection, encode_cursor
from schema.context import Info
from schema.engagement import NotificationKind
from schema.groups import Group
from schema.leaderboards import Leaderboard, LeaderboardPeriod, leaderboard
from schema.learners import Learner

InterventionKind = strawberry.enum(
    suggestions.InterventionKind, description="What an intervention is about."
)


@strawberry.type(description="The group's members and their activity (README: Dashboards).")
class GroupOverview:
    member_count: int
    active_this_week: int = strawberry.field(
        description="Members with activity in the current ISO week (their local calendar)."
    )
    active_last_7_days: int = strawberry.field(
        description="Members with activity in the last 7 days (distinct members)."
    )
    minutes_last_7_days: float
    events_last_7_days: int
    average_minutes_per_active_member: float | None = strawberry.field(
        description="Minutes of the last 7 days per member active in them."
    )
    completion_rate: float = strawberry.field(
        description="Items completed by the members, percent of the catalog times the members."
    )
    average_score: float | None = strawberry.field(description="Over every scored event, 0..100.")
    mastered_skills: int = strawberry.field(description="Skills mastered, summed over members.")
    at_risk_count: int = strawberry.field(description="Members at risk now.")

    @classmethod
    def from_domain(cls, value: dashboards.GroupOverview) -> Self:
        return cls(
            member_count=value.members,
            active_this_week=value.active_this_week,
            active_last_7_days=value.active_last_7_days,
            minutes_last_7_days=round(value.minutes_last_7_days, 2),
            events_last_7_days=value.events_last_7_days,
            average_minutes_per_active_member=_round(value.average_minutes_per_active_member),
            completion_rate=round(value.completion_rate, 2),
            average_score=_round(value.average_score),
            mastered_skills=value.mastered_skills,
            at_risk_count=value.at_risk,
        )


@strawberry.type(description="A member's progress over the catalog.")
class MemberProgress:
    items_completed: int
    completion_rate: float = strawberry.field(description="Percent of the catalog's items.")
    average_score: float | None
    mastered_skills: int
    points: int


@strawberry.type(description="A member's activity over their last 7 local days.")
class MemberEngagement:
    minutes_last_7_days: float
    events_last_7_days: int
    active_days_last_7_days: int
    current_streak: int
    last_active_day: date | None


@strawberry.type(description="How often one kind of notification is made and read.")
class NotificationEngagement:
    kind: NotificationKind  # type: ignore[valid-type]
    sent: int = strawberry.field(description="Made (into inboxes) in the dashboard's days.")
    read: int = strawberry.field(description="Of those, marked read so far.")
    read_rate: float | None = strawberry.field(description="Read over made, percent.")


@strawberry.type(description="One member of a group: progress, engagement and risk.")
class GroupMember:
    learner: Learner
    progress: MemberProgress
    engagement: MemberEngagement
    at_risk: bool
    at_risk_since: datetime | None = strawberry.field(
        description="When the present spell of risk began (null: not at risk)."
    )
    risk_reasons: list[RiskReason]

    @classmethod
    def from_domain(cls, row: use_cases.MemberRow) -> Self:
        s = row.standing
        return cls(
            learner=Learner.from_domain(row.learner),
            progress=MemberProgress(
                items_completed=s.items_completed,
                completion_rate=round(s.completion_rate, 2),
                average_score=_round(s.average_score),
                mastered_skills=s.mastered_skills,
                points=s.points,
            ),
            engagement=MemberEngagement(
                minutes_last_7_days=round(s.minutes_last_7_days, 2),
                events_last_7_days=s.events_last_7_days,
                active_days_last_7_days=s.active_days_last_7_days,
                current_streak=s.current_streak,
                last_active_day=s.last_active,
            ),
            at_risk=bool(s.risk_reasons),
            at_risk_since=s.at_risk_since if s.risk_reasons else None,
            risk_reasons=[RiskReason(kind=r.kind, message=r.message) for r in s.risk_reasons],
        )


@strawberry.type(description="A member at risk, since when, and why.")
class AtRiskLearner:
    learner: Learner
    at_risk_since: datetime
    reasons: list[RiskReason]

    @classmethod
    def from_domain(cls, value: use_cases.AtRiskMember) -> Self:
        return cls(
            learner=Learner.from_domain(value.learner),
            at_risk_since=value.since,
            reasons=[RiskReason(kind=r.kind, message=r.message) for r in value.reasons],
        )


@strawberry.type(description="How hard the group finds a content item (README: Dashboards).")
class ItemDifficulty:
    content_id: str
    content: ContentItem | None
    learners: int = strawberry.field(description="Members who worked on it.")
    answered_learners: int = strawberry.field(description="Members with a judged answer.")
    answers: int = strawberry.field(description="Answers judged right or wrong.")
    correct_answers: int
    success_rate: float | None = strawberry.field(description="Right answers, percent.")
    average_attempts: float | None = strawberry.field(
        description="Answers per member who answered."
    )
    average_minutes: float | None = strawberry.field(
        description="Minutes per member who worked on it."
    )

    @classmethod
    def from_domain(cls, value: use_cases.ItemDifficulty) -> Self:
        d = value.difficulty
        return cls(
            content_id=d.key,
            content=ContentItem.from_domain(value.item) if value.item else None,
            learners=d.learners,
            answered_learners=d.answered_learners,
            answers=d.answers,
            correct_answers=d.correct,
            success_rate=_round(d.success_rate),
            average_attempts=_round(d.average_attempts),
            average_minutes=_round(d.average_minutes),
        )


@strawberry.type(description="How hard the group finds a skill (README: Dashboards).")
class SkillDifficulty:
    skill_id: str
    skill: Skill | None
    learners: int = strawberry.field(description="Members who practised it.")
    answered_learners: int = strawberry.field(description="Members with a judged answer.")
    answers: int = strawberry.field(description="Answers judged right or wrong.")
    correct_answers: int
    success_rate: float | None = strawberry.field(description="Right answers, percent.")
    average_attempts: float | None = strawberry.field(
        description="Answers per member who answered."
    )
    average_minutes: float | None = strawberry.field(
        description="Minutes per member who practised it."
    )

    @classmethod
    def from_domain(cls, value: use_cases.SkillDifficulty) -> Self:
        d = value.difficulty
        return cls(
            skill_id=d.key,
            skill=Skill.from_domain(value.skill) if value.skill else None,
            learners=d.learners,
            answered_learners=d.answered_learners,
            answers=d.answers,
            correct_answers=d.correct,
            success_rate=_round(d.success_rate),
            average_attempts=_round(d.average_attempts),
            average_minutes=_round(d.average_minutes),
        )


@strawberry.type(
    description="Concept difficulty: the group's items and skills, hardest first (lowest "
    "success rate, then most attempts per learner); those without answers last."
)
class ConceptDifficulty:
    dashboard: strawberry.Private[use_cases.GroupDashboard]

    @strawberry.field(description="The hardest items; at most 50.")
    async def items(self, info: Info, first: int = 10) -> list[ItemDifficulty]:
        ctx = info.context
        found = await use_cases.hardest_items(
            ctx.access, ctx.loaders, ctx.repositories, self.dashboard, first
        )
        return [ItemDifficulty.from_domain(value) for value in found]

    @strawberry.field(description="The hardest skills; at most 50.")
    async def skills(self, info: Info, first: int = 10) -> list[SkillDifficulty]:
        ctx = info.context
        found = await use_cases.hardest_skills(
            ctx.access, ctx.loaders, ctx.repositories, self.dashboard, first
        )
        return [SkillDifficulty.from_domain(value) for value in found]


@strawberry.type(description="Something the educator could do, and for whom.")
class Intervention:
    rank: int
    kind: InterventionKind  # type: ignore[valid-type]
    message: str
    learner_id: str | None
    content_id: str | None
    skill_id: str | None

    @classmethod
    def from_domain(cls, value: suggestions.Intervention) -> Self:
        return cls(
            rank=value.rank,
            kind=value.kind,
            message=value.message,
            learner_id=value.learner_id,
            content_id=value.content_id,
            skill_id=value.skill_id,
        )


@strawberry.type(
    description="A group's dashboard for its educators (and admins): members' progress and "
    "engagement, concept difficulty, learners at risk and interventions. Its cost does not grow "
    "with history and barely with the group's size (README: Dashboards)."
)
class GroupDashboard:
    value: strawberry.Private[use_cases.GroupDashboard]
    group: Group
    as_of: datetime = strawberry.field(description="When it was read.")

    @classmethod
    def from_domain(cls, value: use_cases.GroupDashboard) -> Self:
        return cls(value=value, group=Group.from_domain(value.group), as_of=value.as_of)

    @strawberry.field(description="The group's members and their activity, in totals.")
    async def overview(self, info: Info) -> GroupOverview:
        ctx = info.context
        found = await use_cases.group_overview(
            ctx.access, ctx.loaders, ctx.repositories, self.value
        )
        return GroupOverview.from_domain(found)

    @strawberry.field(
        description="A page of members (the query's `first` and `after`), those at risk first "
        "(the longest so first), then those who would be soonest without more activity."
    )
    async def members(self, info: Info) -> Connection[GroupMember]:
        ctx = info.context
        rows, has_next = await use_cases.group_members(
            ctx.access, ctx.loaders, ctx.repositories, self.value
        )
        return Connection.of(
            [(encode_cursor(key), GroupMember.from_domain(row)) for key, row in rows],
            has_next=has_next,
            after=self.value.after_key,
        )

    @strawberry.field(
        description="The group's leaderboard, as the viewer may see it (its educators see every "
        "listed name): this week's or all time, the top `first` (default "
        "CAIRN_LEADERBOARD_SIZE, at most 100)."
    )
    async def leaderboard(
        self,
        info: Info,
        period: LeaderboardPeriod = LeaderboardPeriod.WEEK,  # type: ignore[valid-type]
        first: int | None = None,
    ) -> Leaderboard | None:
        return await leaderboard(
            info, period=period, group_id=self.value.group.id, week=None, first=first, around=0
        )

    @strawberry.field(description="Members at risk now, the longest first; at most 50.")
    async def at_risk_learners(self, info: Info, first: int = 10) -> list[AtRiskLearner]:
        ctx = info.context
        found = await use_cases.group_at_risk(
            ctx.access, ctx.loaders, ctx.repositories, self.value, first
        )
        return [AtRiskLearner.from_domain(value) for value in found]

    @strawberry.field(description="The group's items and skills, hardest first.")
    async def concept_difficulty(self, info: Info) -> ConceptDifficulty:
        found = await use_cases.concept_difficulty(info.context.access, self.value)
        return ConceptDifficulty(dashboard=found)

    @strawberry.field(
        description="What the educator could do: for the class first, then for each member at "
        "risk; at most 50."
    )
    async def interventions(self, info: Info, first: int = 5) -> list[Intervention]:
        ctx = info.context
        found = await use_cases.interventions(
            ctx.access, ctx.loaders, ctx.repositories, self.value, first
        )
        return [Intervention.from_domain(value) for value in found]


@strawberry.type(description="Learners active on one UTC day.")
class DailyActiveLearners:
    date: date
    learners: int


@strawberry.type(
    description="An ISO week (UTC): its active learners, those of them also active the week "
    "before, and their share of the week before's active learners (percent)."
)
class WeeklyRetention:
    week_start: date
    active_learners: int
    retained_learners: int
    rate: float | None


@strawberry.type(description="Unlocks of one achievement in the dashboard's days.")
class BadgeAwards:
    key: str
    title: str | None
    awards: int
    per_day: float


@strawberry.type(description="Events recorded per minute (by when Cairn received them).")
class EventsPerMinute:
    current_minute: int = strawberry.field(description="So far in the current minute.")
    last_hour_average: float = strawberry.field(
        description="The average of the 60 whole minutes before it."
    )


@strawberry.type(
    description="The admin's dashboard: active learners, sessions, streak retention, badges "
    "awarded, events per minute (README: Dashboards)."
)
class AdminDashboard:
    as_of: datetime
    days: int = strawberry.field(description="The UTC days the series and averages cover.")
    daily_active_learners: list[DailyActiveLearners] = strawberry.field(
        description="DAU, day by day, oldest first."
    )
    dau: int = strawberry.field(description="Learners active today (UTC).")
    mau: int = strawberry.field(
        description="Distinct learners active in the last 30 days (not a sum of DAUs)."
    )
    stickiness: float | None = strawberry.field(
        description="The average DAU of the last 30 days over the MAU, percent."
    )
    sessions: int = strawberry.field(description="Study sessions in the dashboard's days.")
    average_session_minutes: float | None
    streak_retention: float | None = strawberry.field(
        description="Of the learners active the week before last, the share active last week "
        "(percent; ISO weeks, UTC)."
    )
    weekly_retention: list[WeeklyRetention] = strawberry.field(
        description="The last 8 weeks, the current one last (in progress)."
    )
    badge_awards: list[BadgeAwards] = strawberry.field(description="The most awarded first.")
    events_per_minute: EventsPerMinute

    @strawberry.field(
        description="Per kind, the notifications made in the dashboard's days and the share "
        "read (in-app), most made first."
    )
    async def notification_engagement(self, info: Info) -> list[NotificationEngagement]:
        ctx = info.context
        found = await notification_use_cases.engagement(
            ctx.access, ctx.repositories, now=self.as_of, days=self.days
        )
        return [
            NotificationEngagement(
                kind=row.kind,
                sent=row.sent,
                read=row.read,
                read_rate=_round(row.read_rate),
            )
            for row in found
        ]

    @classmethod
    def from_domain(cls, value: use_cases.SystemDashboard) -> Self:
        m = value.metrics
        return cls(
            as_of=m.as_of,
            days=m.days,
            daily_active_learners=[
                DailyActiveLearners(date=d.day, learners=d.learners) for d in m.daily_active
            ],
            dau=m.dau,
            mau=m.mau,
            stickiness=_round(m.stickiness),
            sessions=m.sessions,
            average_session_minutes=_round(m.average_session_minutes),
            streak_retention=_round(m.streak_retention),
            weekly_retention=[
                WeeklyRetention(
                    week_start=w.monday,
                    active_learners=w.active,
                    retained_learners=w.retained,
                    rate=_round(w.rate),
                )
                for w in m.weekly_retention
            ],
            badge_awards=[
                BadgeAwards(
                    key=b.key,
                    title=value.titles.get(b.key),
                    awards=b.awards,
                    per_day=round(b.per_day, 3),
                )
                for b in m.badge_awards
            ],
            events_per_minute=EventsPerMinute(
                current_minute=m.events_per_minute.current_minute,
                last_hour_average=round(m.events_per_minute.last_hour_average, 2),
            ),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
