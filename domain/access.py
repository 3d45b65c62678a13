"""Who is asking, and the rules for what they may see and change.

A viewer is a verified identity: a user id (`sub` of their token) and roles. The rules are
pure: they take the viewer and the relationships Cairn keeps between people (guardianships,
groups), looked up by the use cases, and say yes or no.

- A learner reads and records their own data only.
- A parent reads the data of the learners they are a guardian of.
- An educator reads the data of the members of the groups they teach, and awards them points.
- A service (a trusted backend) records events for any learner and reads everything.
- Leaderboards: learners read the overall board and those of their groups, educators those of
  the groups they teach (and oversee them: every name shown), admins and services all of them.
- An admin reads and changes everything.
- Any authenticated viewer reads the catalog; changing it is for admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import DomainError


class Role(StrEnum):
    LEARNER = "learner"
    PARENT = "parent"
    EDUCATOR = "educator"
    ADMIN = "admin"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking. `id` None: nobody proved who they are (anonymous)."""

    id: str | None = None
    roles: frozenset[Role] = frozenset()
    expires_at: datetime | None = None  # when the credential that proved it stops being valid

    @property
    def authenticated(self) -> bool:
        return self.id is not None

    def has(self, role: Role) -> bool:
        return self.id is not None and role in self.roles

    @property
    def reads_everything(self) -> bool:
        return self.has(Role.ADMIN) or self.has(Role.SERVICE)

    def __str__(self) -> str:
        if self.id is None:
            return "anonymous"
        return f"{self.id} ({', '.join(sorted(self.roles)) or 'no role'})"


ANONYMOUS = Viewer()


class Unauthenticated(DomainError):
    """No valid credential, where one is needed."""

    code = "UNAUTHENTICATED"

    def __init__(self, reason: str = "a valid bearer token is required") -> None:
        super().__init__(f"Not authenticated: {reason}")
        self.reason = reason


class Forbidden(DomainError):
    """The viewer may not do this. Says nothing about the object, not even that it exists."""

    code = "FORBIDDEN"

    def __init__(self, action: str = "see this") -> None:
        super().__init__(f"Not allowed to {action}")


@dataclass(frozen=True, slots=True)
class Ties:
    """How the viewer is related to one learner (looked up only when a rule needs it)."""

    guardian: bool = False  # the viewer is one of the learner's guardians
    teaches: bool = False  # the viewer teaches a group the learner is a member of


def is_self(viewer: Viewer, learner_id: str) -> bool:
    return viewer.has(Role.LEARNER) and viewer.id == learner_id


def needs_ties(viewer: Viewer, learner_id: str) -> bool:
    """Whether the rules for this viewer and learner depend on their relationships."""
    if viewer.reads_everything or is_self(viewer, learner_id):
        return False
    return viewer.has(Role.PARENT) or viewer.has(Role.EDUCATOR)


def may_read_learner(viewer: Viewer, learner_id: str, ties: Ties) -> bool:
    if viewer.reads_everything or is_self(viewer, learner_id):
        return True
    return (viewer.has(Role.PARENT) and ties.guardian) or (
        viewer.has(Role.EDUCATOR) and ties.teaches
    )


def may_record_for(viewer: Viewer, learner_id: str) -> bool:
    return viewer.reads_everything or is_self(viewer, learner_id)


def may_award_to(viewer: Viewer, learner_id: str, ties: Ties) -> bool:
    return viewer.has(Role.ADMIN) or (viewer.has(Role.EDUCATOR) and ties.teaches)


def may_coach(viewer: Viewer, learner_id: str, ties: Ties) -> bool:
    """Setting a learner's weekly goal: the learner, their educators, admins."""
    return (
        is_self(viewer, learner_id)
        or viewer.has(Role.ADMIN)
        or (viewer.has(Role.EDUCATOR) and ties.teaches)
    )


def may_grant_freezes(viewer: Viewer, learner_id: str, ties: Ties) -> bool:
    """Granting streak freezes: admins, the learner's educators and guardians."""
    return (
        viewer.has(Role.ADMIN)
        or (viewer.has(Role.EDUCATOR) and ties.teaches)
        or (viewer.has(Role.PARENT) and ties.guardian)
    )


def may_manage_members(viewer: Viewer, educator_ids: frozenset[str]) -> bool:
    """Adding and removing a group's members: admins, and the group's own educators."""
    return viewer.has(Role.ADMIN) or (
        viewer.has(Role.EDUCATOR) and viewer.id is not None and viewer.id in educator_ids
    )


def may_read_group(viewer: Viewer, educator_ids: frozenset[str], *, member: bool) -> bool:
    """A group's name and educators: those who read everything, its educators, its members."""
    if viewer.reads_everything or may_manage_members(viewer, educator_ids):
        return True
    return member and viewer.has(Role.LEARNER)


def may_read_members(viewer: Viewer, educator_ids: frozenset[str]) -> bool:
    """Who is in a group: those who read everything and its educators, not its members."""
    return viewer.reads_everything or may_manage_members(viewer, educator_ids)


def may_read_board(viewer: Viewer, educator_ids: frozenset[str] | None, *, member: bool) -> bool:
    """A leaderboard: the overall one (`educator_ids` None) for learners, admins and services;
    a group's for its learners, its educators, admins and services."""
    if educator_ids is None:
        return viewer.reads_everything or viewer.has(Role.LEARNER)
    return may_read_group(viewer, educator_ids, member=member)


def oversees_board(viewer: Viewer, educator_ids: frozenset[str] | None) -> bool:
    """Whether the viewer sees a board's learners by name whatever their privacy: admins and
    services on every board, educators on their groups' boards."""
    if viewer.reads_everything:
        return True
    return educator_ids is not None and may_manage_members(viewer, educator_ids)


def may_change_learner(viewer: Viewer, learner_id: str, *, only_leaderboard: bool) -> bool:
    """Changing a learner's profile: admins; a learner their own leaderboard visibility."""
    return viewer.has(Role.ADMIN) or (only_leaderboard and is_self(viewer, learner_id))


def may_read_system_metrics(viewer: Viewer) -> bool:
    """The admin dashboard (activity across all learners): admins and services."""
    return viewer.reads_everything
