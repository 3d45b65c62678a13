"""The access check every use case makes before it reads or changes anything.

`Access` binds the request's viewer to its loaders, so the relationships the rules follow
(guardianships, group memberships, the groups an educator teaches) are read once per request
and batched across learners, like any other read. The rules themselves are `domain.access`.

A refusal is `Forbidden` and says nothing of the object asked for, not even whether it exists:
the check comes before the object is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass

from domain.access import (
    ANONYMOUS,
    Forbidden,
    Role,
    Ties,
    Unauthenticated,
    Viewer,
    may_award_to,
    may_change_learner,
    may_coach,
    may_grant_freezes,
    may_manage_members,
    may_read_board,
    may_read_group,
    may_read_learner,
    may_read_members,
    may_read_system_metrics,
    may_record_for,
    needs_ties,
    oversees_board,
)
from domain.errors import NotFound
from domain.groups import Group
from persistence.loaders import Loaders
from persistence.repositories import Repositories

__all__ = ["ANONYMOUS", "SYSTEM", "Access", "BoardAccess", "Role", "Viewer"]

# Cairn itself, for work no request asked for (loading the demo data): admin and service.
SYSTEM = Viewer(id="cairn", roles=frozenset({Role.ADMIN, Role.SERVICE}))


@dataclass(frozen=True, slots=True)
class BoardAccess:
    """A leaderboard the viewer may read: its group (None: the overall board), and whether the
    viewer oversees it (sees every listed learner by name)."""

    group: Group | None
    oversees: bool


class Access:
    def __init__(self, viewer: Viewer, loaders: Loaders) -> None:
        self.viewer = viewer
        self._loaders = loaders
        self._ties: dict[str, Ties] = {}

    @classmethod
    def system(cls, repositories: Repositories) -> Access:
        return cls(SYSTEM, Loaders(repositories))

    def require_viewer(self) -> Viewer:
        """The viewer, who must have proved who they are."""
        if not self.viewer.authenticated:
            raise Unauthenticated()
        return self.viewer

    @property
    def viewer_id(self) -> str:
        viewer_id = self.require_viewer().id
        assert viewer_id is not None  # an authenticated viewer has an id
        return viewer_id

    def require_role(self, role: Role, action: str) -> None:
        if not self.require_viewer().has(role):
            raise Forbidden(action)

    def require_admin(self, action: str = "make this change (admins only)") -> None:
        self.require_role(Role.ADMIN, action)

    async def ties_with(self, learner_id: str) -> Ties:
        """How the viewer is related to the learner, for the rules that depend on it (read
        once per learner and request; the reads a viewer's roles need run concurrently)."""
        viewer = self.require_viewer()
        if not needs_ties(viewer, learner_id):
            return Ties()
        known = self._ties.get(learner_id)
        if known is not None:
            return known
        reads: dict[str, Awaitable[frozenset[str]]] = {}
        if viewer.has(Role.PARENT):
            reads["guardians"] = self._loaders.guardians.load(learner_id)
        if viewer.has(Role.EDUCATOR):
            reads["taught"] = self._loaders.taught.load(self.viewer_id)
            reads["memberships"] = self._loaders.memberships.load(learner_id)
        found = dict(zip(reads, await asyncio.gather(*reads.values()), strict=True))
        taught = found.get("taught", frozenset())
        ties = Ties(
            guardian=self.viewer_id in found.get("guardians", frozenset()),
            teaches=not taught.isdisjoint(found.get("memberships", frozenset())),
        )
        self._ties[learner_id] = ties
        return ties

    async def require_read(self, learner_id: str) -> None:
        """The viewer may read this learner's progress, or `Forbidden`."""
        viewer = self.require_viewer()
        if not may_read_learner(viewer, learner_id, await self.ties_with(learner_id)):
            raise Forbidden("read this learner")

    async def require_read_all(self, learner_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(learner_ids))
        viewer = self.require_viewer()
        needing = [i for i in ids if needs_ties(viewer, i)]
        # One batched read of the relationships for all of them, then the rules one by one.
        if needing and viewer.has(Role.PARENT):
            await self._loaders.guardians.load_many(needing)
        if needing and viewer.has(Role.EDUCATOR):
            await self._loaders.memberships.load_many(needing)
        for learner_id in ids:
            await self.require_read(learner_id)

    async def require_record(self, learner_id: str) -> None:
        """The viewer may record events for this learner: themselves, or as a service."""
        if not may_record_for(self.require_viewer(), learner_id):
            raise Forbidden("record events for this learner")

    async def require_award(self, learner_id: str) -> None:
        viewer = self.require_viewer()
        if not may_award_to(viewer, learner_id, await self.ties_with(learner_id)):
            raise Forbidden("award points to this learner")

    async def require_coach(self, learner_id: str) -> None:
        viewer = self.require_viewer()
        if not may_coach(viewer, learner_id, await self.ties_with(learner_id)):
            raise Forbidden("set this learner's goals")

    async def require_grant_freezes(self, learner_id: str) -> None:
        viewer = self.require_viewer()
        if not may_grant_freezes(viewer, learner_id, await self.ties_with(learner_id)):
            raise Forbidden("grant this learner streak freezes")

    async def readable_group(self, group_id: str) -> Group | None:
        """The group, if the viewer may see it; None when it does not exist and the viewer
        could see any group, else `Forbidden` (which tells nothing of its existence)."""
        viewer = self.require_viewer()
        group = await self._loaders.group.load(group_id)
        if group is None:
            if viewer.reads_everything:
                return None
            raise Forbidden("see this group")
        member = viewer.has(Role.LEARNER) and group_id in await self._loaders.memberships.load(
            self.viewer_id
        )
        if not may_read_group(viewer, group.educator_ids, member=member):
            raise Forbidden("see this group")
        return group

    async def require_read_members(self, group: Group) -> None:
        if not may_read_members(self.require_viewer(), group.educator_ids):
            raise Forbidden("see this group's members")

    def require_system_metrics(self) -> None:
        if not may_read_system_metrics(self.require_viewer()):
            raise Forbidden("see the system's metrics (admins and services only)")

    async def managed_group(self, group_id: str) -> Group:
        """The group, if the viewer may change its membership; `Forbidden` otherwise, also
        for a group that does not exist (unless the viewer is an admin: then it is unknown)."""
        viewer = self.require_viewer()
        group = await self._loaders.group.load(group_id)
        if group is None and viewer.has(Role.ADMIN):
            raise NotFound("group", group_id, field="groupId")
        if group is None or not may_manage_members(viewer, group.educator_ids):
            raise Forbidden("change this group's members")
        return group

    async def readable_board(self, group_id: str | None) -> BoardAccess | None:
        """The leaderboard of a group (or the overall one), if the viewer may read it; None for
        a group that does not exist when the viewer could read any; else `Forbidden`."""
        viewer = self.require_viewer()
        if group_id is None:
            if not may_read_board(viewer, None, member=False):
                raise Forbidden("see the overall leaderboard")
            return BoardAccess(None, oversees_board(viewer, None))
        group = await self._loaders.group.load(group_id)
        if group is None:
            if viewer.reads_everything:
                return None
            raise Forbidden("see this group's leaderboard")
        member = viewer.has(Role.LEARNER) and group_id in await self._loaders.memberships.load(
            self.viewer_id
        )
        if not may_read_board(viewer, group.educator_ids, member=member):
            raise Forbidden("see this group's leaderboard")
        return BoardAccess(group, oversees_board(viewer, group.educator_ids))

    def require_change_learner(self, learner_id: str, *, only_leaderboard: bool) -> None:
        if not may_change_learner(
            self.require_viewer(), learner_id, only_leaderboard=only_leaderboard
        ):
            raise Forbidden(
                "change this learner (admins only; a learner may set their own "
                "leaderboardVisibility)"
            )
