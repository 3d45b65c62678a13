"""Groups (classes, cohorts), guardianships, and the viewer: who is asking and whom they follow."""

from __future__ import annotations

from typing import Self

import strawberry

from domain import groups
from domain.access import Role as DomainRole
from resolvers import groups as use_cases
from resolvers import notifications as notification_use_cases
from resolvers import reading
from schema.connections import Connection, decode_cursor
from schema.context import Info
from schema.engagement import Notification, NotificationPage, NotificationPreference
from schema.leaderboards import LeaderboardPrivacy
from schema.learners import Learner
from schema.nodes import Node

Role = strawberry.enum(DomainRole, description="What a viewer's token lets them do.")


@strawberry.type(description="A class or cohort: educators who teach it, learners who are in it.")
class Group(Node):
    value: strawberry.Private[groups.Group]
    group_id: str
    name: str
    educator_ids: list[str]
    leaderboard_mode: LeaderboardPrivacy | None = strawberry.field(  # type: ignore[valid-type]
        description="The privacy mode of the group's leaderboards; null: CAIRN_LEADERBOARD_MODE."
    )

    def local_id(self) -> str:
        return self.group_id

    @classmethod
    def from_domain(cls, value: groups.Group) -> Self:
        return cls(
            value=value,
            group_id=value.id,
            name=value.name,
            educator_ids=sorted(value.educator_ids),
            leaderboard_mode=value.leaderboard_mode,
        )

    @strawberry.field(description="How many learners are in the group (its educators, admins).")
    async def member_count(self, info: Info) -> int:
        ctx = info.context
        return await use_cases.member_count(ctx.access, ctx.loaders, self.value)

    @strawberry.field(
        description="The group's learners by id; at most 100 a page (its educators, admins)."
    )
    async def members(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Learner]:
        ctx = info.context
        page = await use_cases.members_page(
            ctx.access,
            ctx.repositories,
            ctx.loaders,
            self.value,
            first=first,
            after=decode_cursor(after),
        )
        return Connection.of_page(
            page, key=lambda learner: learner.id, view=Learner.from_domain, after=after
        )


@strawberry.type(description="Who is asking, as their token says, and whom they follow.")
class Viewer:
    user_id: str = strawberry.field(description="The token's subject.")
    roles: list[Role]  # type: ignore[valid-type]

    @strawberry.field(description="The viewer's own learner record, when they are a learner.")
    async def learner(self, info: Info) -> Learner | None:
        ctx = info.context
        if DomainRole.LEARNER not in ctx.viewer.roles:
            return None
        found = await reading.learner(ctx.access, ctx.loaders, self.user_id)
        return Learner.from_domain(found) if found else None

    @strawberry.field(description="The learners the viewer is a guardian of (parents).")
    async def children(self, info: Info) -> list[Learner]:
        ctx = info.context
        return [Learner.from_domain(c) for c in await use_cases.children(ctx.access, ctx.loaders)]

    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        unread_only: bool = False,
    ) -> NotificationPage:
        ctx = info.context
        page = await notification_use_cases.inbox(
            ctx.access, ctx.repositories, first=first, after=after, unread_only=unread_only
        )
        nodes = [Notification.from_domain(n) for n in page.items]
        return NotificationPage(
            nodes=nodes,
            has_next_page=page.has_next,
            end_cursor=page.items[-1].id if page.items else None,
        )

    @strawberry.field(description="How many of the viewer's notifications are unread.")
    async def unread_notification_count(self, info: Info) -> int:
        ctx = info.context
        return await notification_use_cases.unread_count(ctx.access, ctx.repositories)

    @strawberry.field(description="Where each kind of the viewer's notifications goes.")
    async def notification_preferences(self, info: Info) -> list[NotificationPreference]:
        ctx = info.context
        found = await notification_use_cases.preferences(ctx.access, ctx.repositories)
        return NotificationPreference.all_of(found)

    @strawberry.field(
        description="The groups the viewer may see: those they teach or are in; all for admins."
    )
    async def groups(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Group]:
        return await groups_connection(info, first=first, after=after)


async def groups_connection(info: Info, *, first: int, after: str | None) -> Connection[Group]:
    ctx = info.context
    page = await use_cases.groups_page(
        ctx.access, ctx.repositories, ctx.loaders, first=first, after=decode_cursor(after)
    )
    return Connection.of_page(page, key=lambda group: group.id, view=Group.from_domain, after=after)


@strawberry.input(
    description="A group to create or change: fields left out keep their value (a new group "
    "needs a name)."
)
class GroupInput:
    id: str
    name: str | None = strawberry.field(default=None, description="Required to create.")
    educator_ids: list[str] | None = strawberry.field(
        default=None, description="Replaces the group's educators (at most 50)."
    )
    leaderboard_mode: LeaderboardPrivacy | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET,
        description="The privacy mode of the group's leaderboards; null: back to "
        "CAIRN_LEADERBOARD_MODE.",
    )

    def to_domain(self) -> groups.GroupChanges:
        mode = self.leaderboard_mode
        return groups.GroupChanges(
            id=self.id,
            name=self.name,
            educator_ids=None if self.educator_ids is None else frozenset(self.educator_ids),
            leaderboard_mode=None if mode is strawberry.UNSET else mode,
            clear_leaderboard_mode=mode is None,
        )


@strawberry.type(description="The outcome of adding or removing group members.")
class GroupMembersPayload:
    group: Group
    learner_ids: list[str] = strawberry.field(description="The learners of the request.")
    changed: int = strawberry.field(
        description="Memberships actually added or removed; 0 when a retry found them done."
    )

    @classmethod
    def from_domain(cls, value: use_cases.MembershipChange) -> Self:
        return cls(
            group=Group.from_domain(value.group),
            learner_ids=value.learner_ids,
            changed=value.changed,
        )


@strawberry.type(description="A parent's guardianship of a learner, after a change.")
class GuardianshipPayload:
    parent_id: str
    learner_id: str
    linked: bool = strawberry.field(description="Whether the guardianship exists now.")
    changed: bool = strawberry.field(description="False when it already was so (a retry).")
