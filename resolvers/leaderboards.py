"""Leaderboard use cases: a board as the viewer may see it, a learner's place on one, and the
entries kept in line with memberships and privacy.

The points on a board are the ledger's (`persistence.leaderboards` keeps them in the unit of
work that appends the points), so the reward guard's limits apply to them as to every total.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.access import Role, is_self, oversees_board
from domain.leaderboards import (
    DEFAULT_MODE,
    DEFAULT_SIZE,
    Board,
    LeaderboardView,
    Onlooker,
    Period,
    Privacy,
    Profile,
    board_for,
    check_around,
    check_size,
    place,
    present,
    shows_anything,
    shows_top,
    view_of,
)
from domain.learners import Learner
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.access import Access

RETAG_CHUNK = 200  # learners re-tagged per transaction


@dataclass(frozen=True, slots=True)
class LeaderboardSettings:
    size: int = DEFAULT_SIZE  # the top list's length when `first` is not given
    mode: Privacy = DEFAULT_MODE  # the overall board's mode, and a group's without one


@dataclass(frozen=True, slots=True)
class Standing:
    """A learner's place on a board."""

    board: Board
    rank: int
    points: int
    size: int  # learners on the board


async def leaderboard(
    access: Access,
    repos: Repositories,
    loaders: Loaders,
    *,
    period: Period,
    group_id: str | None,
    week: date | None,
    first: int | None,
    around: int,
    now: datetime,
    settings: LeaderboardSettings,
) -> LeaderboardView | None:
    """A board (a group's, or the overall one) as the viewer may see it: its top `first` rows
    and the viewer's row with up to `around` rows either side. None: no such group (for a
    viewer who could see any)."""
    granted = await access.readable_board(group_id)
    size, n = check_size(first, settings.size), check_around(around)
    if granted is None:
        return None
    board = board_for(period, group_id=group_id, week=week, today=_utc_day(now))
    mode = _mode_of(granted.group.leaderboard_mode if granted.group else None, settings)
    viewer = access.require_viewer()
    own = Profile()
    if viewer.has(Role.LEARNER) and not granted.oversees:
        own = _profile(await loaders.learner.load(access.viewer_id))
    onlooker = Onlooker(access.viewer_id, granted.oversees, own.visibility)
    view = view_of(mode, onlooker)
    if not shows_anything(view):
        return present(board, mode=mode, onlooker=onlooker, size=0, top=[], near=[], profiles={})
    reading = await repos.leaderboards.read(
        board, first=size if shows_top(view) else 0, around=n, learner_id=access.viewer_id
    )
    top = place(reading.top)
    near = place(reading.near) if reading.near else []
    ids = sorted({placed.standing.learner_id for placed in [*top, *near]})
    found = await loaders.learner.load_many(ids)
    profiles = {learner_id: _profile(f) for learner_id, f in zip(ids, found, strict=True)}
    return present(
        board,
        mode=mode,
        onlooker=onlooker,
        size=reading.size,
        top=top,
        near=near,
        profiles=profiles,
    )


async def standing_of(
    access: Access,
    loaders: Loaders,
    learner_id: str,
    *,
    period: Period,
    group_id: str | None,
    week: date | None,
    now: datetime,
    settings: LeaderboardSettings,
) -> Standing | None:
    """The learner's rank on a board, for whoever may read the learner (a parent sees their
    child's). A group's board only when the viewer may see that the learner is in it (as
    `Learner.groups`); None when the learner is not on the board, or when the board is HIDDEN
    and the viewer does not oversee it."""
    await access.require_read(learner_id)
    board = board_for(period, group_id=group_id, week=week, today=_utc_day(now))
    viewer = access.require_viewer()
    if group_id is None:
        mode, oversees = settings.mode, oversees_board(viewer, None)
    else:
        groups = await loaders.memberships.load(learner_id)
        if not viewer.reads_everything and not is_self(viewer, learner_id):
            groups = groups & await loaders.taught.load(access.viewer_id)
        group = await loaders.group.load(group_id) if group_id in groups else None
        if group is None:
            return None
        mode = _mode_of(group.leaderboard_mode, settings)
        oversees = oversees_board(viewer, group.educator_ids)
    if mode is Privacy.HIDDEN and not oversees:
        return None
    placement = await loaders.placement.load((board, learner_id))
    if placement is None:
        return None
    return Standing(board, placement.rank, placement.standing.points, placement.size)


async def retag(runner: TransactionRunner, repos: Repositories, learner_ids: Sequence[str]) -> int:
    """Brings the learners' leaderboard entries in line with their groups and visibility (after
    a change of either), a chunk of learners per transaction; returns the entries changed."""
    ids = sorted(set(learner_ids))
    changed = 0
    for start in range(0, len(ids), RETAG_CHUNK):
        chunk = ids[start : start + RETAG_CHUNK]
        changed += await runner.run(functools.partial(_retag, repos, chunk))
    return changed


async def _retag(repos: Repositories, learner_ids: list[str], unit: UnitOfWork) -> int:
    return await repos.leaderboards.retag(learner_ids, unit.session)


async def leave_group(repos: Repositories, group_id: str, learner_ids: Sequence[str]) -> None:
    """Takes a group being deleted off its members' entries, and drops its boards."""
    await repos.leaderboards.leave_group(group_id, learner_ids)
    await repos.leaderboards.drop_boards(group_id)


def _mode_of(mode: Privacy | None, settings: LeaderboardSettings) -> Privacy:
    return mode or settings.mode


def _profile(learner: Learner | None) -> Profile:
    if learner is None:
        return Profile()
    return Profile(learner.display_name, learner.leaderboard_visibility)


def _utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()
