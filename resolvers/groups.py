"""Groups and guardianships: who teaches whom, who is whose parent.

Admins create, change and delete groups and guardianships; a group's educators add and remove
its members. Each change is idempotent: sending it again changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.access import Role, is_self
from domain.catalog import check_id
from domain.errors import NotFound
from domain.groups import (
    Group,
    GroupChanges,
    Guardianship,
    check_member_ids,
    validate_group_changes,
)
from domain.learners import Learner
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from resolvers.access import Access
from resolvers.aggregation import Aggregation
from resolvers.leaderboards import leave_group, retag
from resolvers.reading import Page, check_page_size


@dataclass(frozen=True, slots=True)
class MembershipChange:
    group: Group
    learner_ids: list[str]
    changed: int  # how many memberships were added or removed (0 when all were already so)


async def group(access: Access, group_id: str) -> Group | None:
    return await access.readable_group(group_id)


async def groups_page(
    access: Access, repos: Repositories, loaders: Loaders, *, first: int, after: str | None
) -> Page[Group]:
    """The groups the viewer may see: all for admins and services, the groups they teach for
    educators, the groups they are in for learners (parents see none)."""
    viewer = access.require_viewer()
    size = check_page_size(first)
    if viewer.reads_everything:
        return Page.of(await repos.groups.page(after=after, limit=size + 1), size)
    visible: set[str] = set()
    if viewer.has(Role.EDUCATOR):
        visible |= await loaders.taught.load(access.viewer_id)
    if viewer.has(Role.LEARNER):
        visible |= await loaders.memberships.load(access.viewer_id)
    if not visible:
        return Page.of([], size)
    return Page.of(await repos.groups.page(ids=visible, after=after, limit=size + 1), size)


async def members_page(
    access: Access,
    repos: Repositories,
    loaders: Loaders,
    group: Group,
    *,
    first: int,
    after: str | None,
) -> Page[Learner]:
    """The group's members by learner id, after the learner id `after`."""
    await access.require_read_members(group)
    size = check_page_size(first)
    rows = await repos.groups.members_page(group.id, after=after, limit=size + 1)
    page = Page.of(rows, size)
    found = await loaders.learner.load_many([m.learner_id for m in page.items])
    learners = [
        learner or Learner(m.learner_id) for m, learner in zip(page.items, found, strict=True)
    ]
    return Page(learners, page.has_next)


async def member_count(access: Access, loaders: Loaders, group: Group) -> int:
    await access.require_read_members(group)
    return await loaders.member_count.load(group.id)


async def upsert_group(
    access: Access, repos: Repositories, changes: GroupChanges, *, now: datetime
) -> Group:
    """Creates the group (a name is needed) or changes the fields given."""
    access.require_admin()
    valid = validate_group_changes(changes)
    saved = await repos.groups.update(valid, now=now)
    if saved is None:
        raise NotFound("group", valid.id, field="input.id")
    return saved


async def delete_group(
    access: Access, repos: Repositories, group_id: str, *, aggregation: Aggregation | None = None
) -> bool:
    """Deletes the group, its memberships, its leaderboards and its dashboard's aggregates;
    False when there was no such group. Its members' entries leave its boards first, so sending
    it again after a failure finishes the job."""
    access.require_admin()
    check_id(group_id, "id")
    await leave_group(repos, group_id, await _all_members(repos, group_id))
    deleted = await repos.groups.delete(group_id)
    await _aggregation(repos, aggregation).forget_group(group_id)
    return deleted


async def _all_members(repos: Repositories, group_id: str) -> list[str]:
    ids: list[str] = []
    while True:
        page = await repos.groups.members_page(
            group_id, after=ids[-1] if ids else None, limit=_MEMBER_CHUNK
        )
        ids.extend(m.learner_id for m in page)
        if len(page) < _MEMBER_CHUNK:
            return ids


_MEMBER_CHUNK = 10_000


async def add_members(
    access: Access,
    repos: Repositories,
    group_id: str,
    learner_ids: list[str],
    *,
    now: datetime,
    runner: TransactionRunner | None = None,
    aggregation: Aggregation | None = None,
) -> MembershipChange:
    """Adds learners to the group (admins, or the group's educators). Learners not known yet
    are created, as a first event would. Their leaderboard entries join the group's boards
    and their history its dashboard (every time it is sent, so a retry after a failure
    completes it)."""
    found = await access.managed_group(group_id)
    ids = check_member_ids(learner_ids, "learnerIds")
    await repos.learners.create_missing([Learner(learner_id) for learner_id in ids])
    added = await repos.groups.add_members(found.id, ids, by=access.viewer_id, now=now)
    await retag(runner or TransactionRunner(repos), repos, ids)
    await _aggregation(repos, aggregation).sync_members(found.id, ids)
    return MembershipChange(found, ids, added)


async def remove_members(
    access: Access,
    repos: Repositories,
    group_id: str,
    learner_ids: list[str],
    *,
    runner: TransactionRunner | None = None,
    aggregation: Aggregation | None = None,
) -> MembershipChange:
    found = await access.managed_group(group_id)
    ids = check_member_ids(learner_ids, "learnerIds")
    removed = await repos.groups.remove_members(found.id, ids)
    await retag(runner or TransactionRunner(repos), repos, ids)
    await _aggregation(repos, aggregation).sync_members(found.id, ids)
    return MembershipChange(found, ids, removed)


def _aggregation(repos: Repositories, aggregation: Aggregation | None) -> Aggregation:
    """The service's aggregation (the recorder's), or one of its own for callers without."""
    return aggregation or Aggregation(repos, TransactionRunner(repos))


async def link_guardian(
    access: Access, repos: Repositories, parent_id: str, learner_id: str, *, now: datetime
) -> bool:
    """Makes `parent_id` a guardian of the learner (admins); True when the link is new."""
    access.require_admin()
    check_id(parent_id, "parentId")
    check_id(learner_id, "learnerId")
    await repos.learners.create_missing([Learner(learner_id)])
    return await repos.guardianships.link(
        Guardianship(parent_id, learner_id, created_by=access.viewer_id, created_at=now)
    )


async def unlink_guardian(
    access: Access, repos: Repositories, parent_id: str, learner_id: str
) -> bool:
    access.require_admin()
    check_id(parent_id, "parentId")
    check_id(learner_id, "learnerId")
    return await repos.guardianships.unlink(parent_id, learner_id)


async def children(access: Access, loaders: Loaders) -> list[Learner]:
    """The learners the viewer is a guardian of (parents), by id."""
    viewer = access.require_viewer()
    if not viewer.has(Role.PARENT):
        return []
    ids = sorted(await loaders.children.load(access.viewer_id))
    found = await loaders.learner.load_many(ids)
    return [learner or Learner(learner_id) for learner_id, learner in zip(ids, found, strict=True)]


async def guardians_of(access: Access, loaders: Loaders, learner_id: str) -> list[str]:
    """Who may follow the learner as a parent: for those who may read the learner."""
    await access.require_read(learner_id)
    return sorted(await loaders.guardians.load(learner_id))


async def groups_of(access: Access, loaders: Loaders, learner_id: str) -> list[Group]:
    """The groups the learner is in, those the viewer may see: everything for admins and
    services, the learner's own, and the ones an educator teaches."""
    await access.require_read(learner_id)
    viewer = access.require_viewer()
    ids = await loaders.memberships.load(learner_id)
    if not viewer.reads_everything and not is_self(viewer, learner_id):
        ids = ids & await loaders.taught.load(access.viewer_id)
    found = await loaders.group.load_many(sorted(ids))
    return [g for g in found if g is not None]
