"""Query, Mutation and Subscription: each field delegates to a use case in a line or two."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date

import strawberry

from domain.errors import DomainError, InvalidInput
from domain.leaderboards import DEFAULT_AROUND
from domain.levels import level_for
from resolvers import (
    catalog,
    engagement,
    family,
    gamification,
    groups,
    learners,
    readiness,
    reading,
    recording,
)
from resolvers import dashboards as dashboard_use_cases
from resolvers import notifications as notification_use_cases
from resolvers import paths as path_use_cases
from schema.catalog import ContentItem, ContentItemInput, Skill, SkillInput
from schema.connections import Connection, decode_cursor
from schema.context import Info
from schema.dashboards import AdminDashboard, GroupDashboard
from schema.engagement import (
    GrantStreakFreezesInput,
    GrantStreakFreezesPayload,
    MarkNotificationsReadPayload,
    Notification,
    NotificationPreference,
    NotificationPreferenceInput,
    WeeklyGoal,
    WeeklyGoalInput,
)
from schema.errors import as_graphql_error
from schema.events import RecordEventInput, RecordEventResult, RecordEventsPayload
from schema.family import ChildWeek, ParentDashboard
from schema.gamification import (
    AchievementDefinition,
    AchievementInput,
    AchievementUnlock,
    AwardPointsInput,
    AwardPointsPayload,
    Level,
    PointsEntry,
)
from schema.groups import (
    Group,
    GroupInput,
    GroupMembersPayload,
    GuardianshipPayload,
    Viewer,
    groups_connection,
)
from schema.leaderboards import Leaderboard, LeaderboardPeriod, leaderboard
from schema.learners import Learner, LearnerInput
from schema.live import live
from schema.nodes import Node, from_global_id
from schema.paths import LearningPath, LearningPathInput
from schema.progress import ContentProgress
from schema.readiness import Certification, CertificationInput


def unlock_seq(unlock_id: str, learner_id: str) -> int:
    """The sequence number inside an AchievementUnlock id, checked to be this learner's."""
    type_name, local_id = from_global_id(unlock_id, "after")
    owner, _, seq = local_id.partition("|")
    if type_name != "AchievementUnlock" or owner != learner_id or not seq.isdigit():
        raise InvalidInput("after", "must be the id of one of this learner's unlocks")
    return int(seq)


async def _learner(info: Info, learner_id: str) -> Learner | None:
    found = await reading.learner(info.context.access, info.context.loaders, learner_id)
    return Learner.from_domain(found) if found else None


def _pair(local_id: str) -> tuple[str, str]:
    owner, _, key = local_id.partition("|")
    return owner, key


@strawberry.type
class Query:
    @strawberry.field(description="Fetches any object by its global id (Relay).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, local_id = from_global_id(id)
        ctx = info.context
        if type_name == "Learner":
            return await _learner(info, local_id)
        if type_name == "ContentItem":
            item = await catalog.content_item(ctx.access, ctx.loaders, local_id)
            return ContentItem.from_domain(item) if item else None
        if type_name == "Skill":
            skill = await catalog.skill(ctx.access, ctx.loaders, local_id)
            return Skill.from_domain(skill) if skill else None
        if type_name == "AchievementUnlock":
            learner_id, seq = _pair(local_id)
            found_unlock = await gamification.unlock(
                ctx.access, ctx.loaders, learner_id, int(seq) if seq.isdigit() else -1
            )
            return AchievementUnlock.from_domain(found_unlock) if found_unlock else None
        if type_name == "ContentProgress":
            learner_id, content_id = _pair(local_id)
            found = await reading.progress_on(ctx.access, ctx.loaders, learner_id, content_id)
            return ContentProgress.from_domain(found) if found else None
        if type_name == "Group":
            group = await groups.group(ctx.access, local_id)
            return Group.from_domain(group) if group else None
        ctx.access.require_viewer()
        return None

    @strawberry.field(description="Who is asking, as their bearer token says.")
    def viewer(self, info: Info) -> Viewer:
        viewer = info.context.access.require_viewer()
        assert viewer.id is not None
        return Viewer(user_id=viewer.id, roles=sorted(viewer.roles))

    @strawberry.field(description="A learner by id, or null if unknown.")
    async def learner(self, info: Info, id: str) -> Learner | None:
        return await _learner(info, id)

    @strawberry.field(description="Learners by id (at most 200), null for unknown ids.")
    async def learners(self, info: Info, ids: list[str]) -> list[Learner | None]:
        found = await reading.learners(info.context.access, info.context.loaders, ids)
        return [Learner.from_domain(f) if f else None for f in found]

    @strawberry.field(description="A group by id, or null if unknown.")
    async def group(self, info: Info, id: str) -> Group | None:
        found = await groups.group(info.context.access, id)
        return Group.from_domain(found) if found else None

    @strawberry.field(
        description="The groups the viewer may see, by id: all for admins and services, those "
        "they teach for educators, those they are in for learners; at most 100 a page."
    )
    async def groups(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Group]:
        return await groups_connection(info, first=first, after=after)

    @strawberry.field(
        description="Each of the viewer's children's week (parents): against their goal, time, "
        "achievements, streak and what needs attention. `weeksAgo` goes back."
    )
    async def parent_dashboard(self, info: Info, weeks_ago: int = 0) -> ParentDashboard:
        ctx = info.context
        value = await family.parent_dashboard(
            ctx.access,
            ctx.loaders,
            ctx.repositories,
            now=ctx.now(),
            weeks_ago=weeks_ago,
            gamification=ctx.services.gamification,
            risk=ctx.services.risk,
        )
        return ParentDashboard(
            parent_id=value.parent_id,
            generated_at=value.generated_at,
            children=[ChildWeek.from_domain(kid, week) for kid, week in value.children],
        )

    @strawberry.field(
        description="A leaderboard as the viewer may see it: the overall one, or a group's "
        "(`groupId`); this week's, another week's (any day of it) or all time; its top `first` "
        "rows (1-100, default CAIRN_LEADERBOARD_SIZE) and the viewer's row with `around` rows "
        "either side (0-10). Learners read the overall board and their groups', educators "
        "their groups' (with every name), admins and services all; null for an unknown group."
    )
    async def leaderboard(
        self,
        info: Info,
        period: LeaderboardPeriod = LeaderboardPeriod.WEEK,  # type: ignore[valid-type]
        group_id: str | None = None,
        week: date | None = None,
        first: int | None = None,
        around: int = DEFAULT_AROUND,
    ) -> Leaderboard | None:
        return await leaderboard(
            info, period=period, group_id=group_id, week=week, first=first, around=around
        )

    @strawberry.field(
        description="A group's dashboard (its educators, admins, services), with a page of its "
        "members (`first`, at most 100, and `after`); null if the group is unknown."
    )
    async def group_dashboard(
        self, info: Info, group_id: str, first: int = 20, after: str | None = None
    ) -> GroupDashboard | None:
        ctx = info.context
        found = await dashboard_use_cases.group_dashboard(
            ctx.access,
            ctx.services.projector,
            group_id,
            now=ctx.now(),
            first=first,
            after=decode_cursor(after),
            risk=ctx.services.risk,
        )
        return GroupDashboard.from_domain(found) if found else None

    @strawberry.field(
        description="The admin's dashboard over the last `days` UTC days, at most 366 (admins, "
        "services)."
    )
    async def admin_dashboard(self, info: Info, days: int = 30) -> AdminDashboard:
        ctx = info.context
        found = await dashboard_use_cases.system_dashboard(
            ctx.access, ctx.repositories, ctx.services.projector, now=ctx.now(), days=days
        )
        return AdminDashboard.from_domain(found)

    @strawberry.field(description="The catalog's learning paths, by id.")
    async def learning_paths(self, info: Info) -> list[LearningPath]:
        found = await path_use_cases.paths(info.context.access, info.context.loaders)
        return [LearningPath.from_domain(p) for p in found]

    @strawberry.field(description="The catalog's certifications, by id.")
    async def certifications(self, info: Info) -> list[Certification]:
        found = await readiness.certifications(info.context.access, info.context.loaders)
        return [Certification.from_domain(c) for c in found]

    @strawberry.field(description="Every achievement rule, by key.")
    async def achievement_definitions(self, info: Info) -> list[AchievementDefinition]:
        ctx = info.context
        definitions = await gamification.achievement_definitions(ctx.access, ctx.loaders)
        return [AchievementDefinition.from_domain(d) for d in definitions]

    @strawberry.field(description="A content item by id, or null if unknown.")
    async def content_item(self, info: Info, id: str) -> ContentItem | None:
        found = await catalog.content_item(info.context.access, info.context.loaders, id)
        return ContentItem.from_domain(found) if found else None

    @strawberry.field(description="The catalog's content items by id; at most 100 a page.")
    async def content_items(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        certification: str | None = None,
    ) -> Connection[ContentItem]:
        page = await catalog.content_page(
            info.context.access,
            info.context.repositories,
            certification=certification,
            first=first,
            after=decode_cursor(after),
        )
        return Connection.of_page(
            page, key=lambda item: item.id, view=ContentItem.from_domain, after=after
        )

    @strawberry.field(description="The catalog's skills by id; at most 100 a page.")
    async def skills(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Skill]:
        page = await catalog.skills_page(
            info.context.access, info.context.repositories, first=first, after=decode_cursor(after)
        )
        return Connection.of_page(
            page, key=lambda skill: skill.id, view=Skill.from_domain, after=after
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Records one event (learners for themselves; services and admins for "
        "anyone). Safe to retry with the same eventId."
    )
    async def record_event(self, info: Info, input: RecordEventInput) -> RecordEventResult:
        ctx = info.context
        result = await recording.record_event(
            ctx.access, ctx.services.recorder, input.to_domain(), received_at=ctx.now()
        )
        return RecordEventResult.from_domain(result)

    @strawberry.mutation(
        description="Records up to 1,000 events (offline sync); each stands or falls alone."
    )
    async def record_events(
        self, info: Info, inputs: list[RecordEventInput]
    ) -> RecordEventsPayload:
        ctx = info.context
        results = await recording.record_events(
            ctx.access,
            ctx.services.recorder,
            [event.to_domain() for event in inputs],
            received_at=ctx.now(),
        )
        return RecordEventsPayload.from_domain(results)

    @strawberry.mutation(
        description="Gives a learner points by hand (admins; educators for their groups' "
        "members). Safe to retry with the same awardId."
    )
    async def award_points(self, info: Info, input: AwardPointsInput) -> AwardPointsPayload:
        ctx = info.context
        award = await gamification.award_points(
            ctx.access,
            ctx.services.transactions,
            learner_id=input.learner_id,
            award_id=input.award_id,
            amount=input.amount,
            reason=input.reason,
            now=ctx.now(),
        )
        level = level_for(award.total, ctx.services.gamification.levels)
        return AwardPointsPayload(
            entry=PointsEntry.from_domain(award.entry),
            total_points=award.total,
            level=Level.from_domain(level),
            replayed=award.replayed,
        )

    @strawberry.mutation(
        description="Sets a learner's weekly goal from their current local week on (the learner, "
        "their educators, admins). Earlier weeks keep the goal they had."
    )
    async def set_weekly_goal(self, info: Info, input: WeeklyGoalInput) -> WeeklyGoal:
        ctx = info.context
        goal = await engagement.set_weekly_goal(
            ctx.access,
            ctx.repositories,
            learner_id=input.learner_id,
            kind=input.kind,
            target=input.target,
            now=ctx.now(),
        )
        return WeeklyGoal.from_domain(goal)

    @strawberry.mutation(
        description="Gives a learner streak freezes (admins, their educators and guardians). "
        "Safe to retry with the same grantId."
    )
    async def grant_streak_freezes(
        self, info: Info, input: GrantStreakFreezesInput
    ) -> GrantStreakFreezesPayload:
        ctx = info.context
        grant, replayed = await engagement.grant_freezes(
            ctx.access,
            ctx.services.aggregation,
            learner_id=input.learner_id,
            grant_id=input.grant_id,
            count=input.count,
            reason=input.reason,
            now=ctx.now(),
        )
        return GrantStreakFreezesPayload.from_domain(grant, replayed=replayed)

    @strawberry.mutation(
        description="Marks the viewer's notifications read: those of `ids`, or all of them."
    )
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None, all: bool = False
    ) -> MarkNotificationsReadPayload:
        ctx = info.context
        changed = await notification_use_cases.mark_read(
            ctx.access,
            ctx.repositories,
            ids=None if ids is None else [str(i) for i in ids],
            everything=all,
            now=ctx.now(),
        )
        unread = await notification_use_cases.unread_count(ctx.access, ctx.repositories)
        return MarkNotificationsReadPayload(changed=changed, unread_count=unread)

    @strawberry.mutation(
        description="Sets where the viewer's notifications go, per kind; kinds left out keep "
        "theirs."
    )
    async def set_notification_preferences(
        self, info: Info, input: list[NotificationPreferenceInput]
    ) -> list[NotificationPreference]:
        ctx = info.context
        saved = await notification_use_cases.set_preferences(
            ctx.access, ctx.repositories, [(p.kind, p.channels) for p in input]
        )
        return NotificationPreference.all_of(saved)

    @strawberry.mutation(description="Adds or changes an achievement rule (admins).")
    async def upsert_achievement(
        self, info: Info, input: AchievementInput
    ) -> AchievementDefinition:
        ctx = info.context
        saved = await gamification.upsert_achievement(
            ctx.access, ctx.repositories, input.to_domain()
        )
        return AchievementDefinition.from_domain(saved)

    @strawberry.mutation(
        description="Creates or updates a learner (admins); a learner may set their own "
        "leaderboardVisibility."
    )
    async def upsert_learner(self, info: Info, input: LearnerInput) -> Learner:
        ctx = info.context
        saved = await learners.upsert_learner(
            ctx.access, ctx.repositories, input.to_domain(), runner=ctx.services.transactions
        )
        return Learner.from_domain(saved)

    @strawberry.mutation(description="Creates or replaces content items (admins); all or nothing.")
    async def upsert_content(self, info: Info, items: list[ContentItemInput]) -> list[ContentItem]:
        ctx = info.context
        saved = await catalog.upsert_content(
            ctx.access, ctx.repositories, [item.to_domain() for item in items]
        )
        return [ContentItem.from_domain(item) for item in saved]

    @strawberry.mutation(description="Creates or replaces skills (admins); all or nothing.")
    async def upsert_skills(self, info: Info, skills: list[SkillInput]) -> list[Skill]:
        ctx = info.context
        saved = await catalog.upsert_skills(
            ctx.access, ctx.repositories, [skill.to_domain() for skill in skills]
        )
        return [Skill.from_domain(skill) for skill in saved]

    @strawberry.mutation(description="Creates or replaces learning paths (admins); all or nothing.")
    async def upsert_learning_paths(
        self, info: Info, paths: list[LearningPathInput]
    ) -> list[LearningPath]:
        ctx = info.context
        saved = await path_use_cases.upsert_paths(
            ctx.access, ctx.repositories, [p.to_domain() for p in paths]
        )
        return [LearningPath.from_domain(p) for p in saved]

    @strawberry.mutation(description="Creates or replaces certifications (admins); all or nothing.")
    async def upsert_certifications(
        self, info: Info, certifications: list[CertificationInput]
    ) -> list[Certification]:
        ctx = info.context
        saved = await readiness.upsert_certifications(
            ctx.access, ctx.repositories, [c.to_domain() for c in certifications]
        )
        return [Certification.from_domain(c) for c in saved]

    @strawberry.mutation(
        description="Creates a group or changes its name, educators or leaderboard mode (admins)."
    )
    async def upsert_group(self, info: Info, input: GroupInput) -> Group:
        ctx = info.context
        saved = await groups.upsert_group(
            ctx.access, ctx.repositories, input.to_domain(), now=ctx.now()
        )
        return Group.from_domain(saved)

    @strawberry.mutation(
        description="Deletes a group and its memberships (admins); false if there was none."
    )
    async def delete_group(self, info: Info, id: str) -> bool:
        ctx = info.context
        return await groups.delete_group(
            ctx.access, ctx.repositories, id, aggregation=ctx.services.aggregation
        )

    @strawberry.mutation(
        description="Adds learners (at most 1,000) to a group (admins, the group's educators)."
    )
    async def add_group_members(
        self, info: Info, group_id: str, learner_ids: list[str]
    ) -> GroupMembersPayload:
        ctx = info.context
        change = await groups.add_members(
            ctx.access,
            ctx.repositories,
            group_id,
            learner_ids,
            now=ctx.now(),
            runner=ctx.services.transactions,
            aggregation=ctx.services.aggregation,
        )
        return GroupMembersPayload.from_domain(change)

    @strawberry.mutation(
        description="Removes learners (at most 1,000) from a group (admins, its educators)."
    )
    async def remove_group_members(
        self, info: Info, group_id: str, learner_ids: list[str]
    ) -> GroupMembersPayload:
        ctx = info.context
        change = await groups.remove_members(
            ctx.access,
            ctx.repositories,
            group_id,
            learner_ids,
            runner=ctx.services.transactions,
            aggregation=ctx.services.aggregation,
        )
        return GroupMembersPayload.from_domain(change)

    @strawberry.mutation(description="Makes a parent a guardian of a learner (admins).")
    async def link_guardian(
        self, info: Info, parent_id: str, learner_id: str
    ) -> GuardianshipPayload:
        ctx = info.context
        changed = await groups.link_guardian(
            ctx.access, ctx.repositories, parent_id, learner_id, now=ctx.now()
        )
        return GuardianshipPayload(
            parent_id=parent_id, learner_id=learner_id, linked=True, changed=changed
        )

    @strawberry.mutation(description="Ends a parent's guardianship of a learner (admins).")
    async def unlink_guardian(
        self, info: Info, parent_id: str, learner_id: str
    ) -> GuardianshipPayload:
        ctx = info.context
        changed = await groups.unlink_guardian(ctx.access, ctx.repositories, parent_id, learner_id)
        return GuardianshipPayload(
            parent_id=parent_id, learner_id=learner_id, linked=False, changed=changed
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Achievements the learner unlocks, as they happen. Pass the `id` of the "
        "last unlock you saw as `after` to first receive what you missed."
    )
    async def achievement_unlocked(
        self, info: Info, learner_id: str, after: strawberry.ID | None = None
    ) -> AsyncGenerator[AchievementUnlock, None]:
        try:
            after_seq = None if after is None else unlock_seq(after, learner_id)
            ctx = info.context
            unlocks = gamification.follow_unlocks(
                ctx.access, ctx.repositories, ctx.services.feed, learner_id, after=after_seq
            )
            async for unlock in live(info, unlocks, AchievementUnlock.from_domain):
                yield unlock
        except DomainError as error:
            raise as_graphql_error(error) from None

    @strawberry.subscription(
        description="The viewer's notifications, as they arrive. Pass the `id` of the last one "
        "you saw as `after` to first receive what you missed."
    )
    async def notification_received(
        self, info: Info, after: strawberry.ID | None = None
    ) -> AsyncGenerator[Notification, None]:
        try:
            ctx = info.context
            received = notification_use_cases.follow(
                ctx.access,
                ctx.repositories,
                ctx.services.feed,
                after=None if after is None else str(after),
            )
            async for notification in live(info, received, Notification.from_domain):
                yield notification
        except DomainError as error:
            raise as_graphql_error(error) from None

    @strawberry.subscription(
        description="The learner's progress on an item, each time an event changes it."
    )
    async def progress_updated(
        self, info: Info, learner_id: str
    ) -> AsyncGenerator[ContentProgress, None]:
        try:
            ctx = info.context
            updates = gamification.follow_progress(ctx.access, ctx.services.feed, learner_id)
            async for progress in live(info, updates, ContentProgress.from_domain):
                yield progress
        except DomainError as error:
            raise as_graphql_error(error) from None
