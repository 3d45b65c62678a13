"""Leaderboards: who earned the most points, ranked with ties, shown as each learner allows.

Boards. The overall board holds every learner with points; a group's board, its members. Each
exists per period: ALL_TIME counts every entry of the points ledger, WEEK the entries earned in
one ISO week, Monday 00:00 UTC to the next Monday. An entry counts in the week of its `at` (when
the points were earned: the triggering event's occurred-at), so an event sent late counts in the
week it happened, whenever it arrives. Weeks are UTC, not each learner's calendar, so that
everyone on a board shares one week. Only learners with points in the period are on a board.

Ranking. Standard competition ranking: equal points share a rank and the next rank skips
(1, 2, 2, 4). Within a tie rows are listed by a hash of the learner id (`score_buckets.tie_of`):
an order that means nothing, is the same for every viewer and stays put while the points do (and
lets a board read cut a large tie into slices). A row's position is its place in that order
(1, 2, 3, 4); anonymised rows are named by it ("Learner 3"), never by id or name.

Privacy, per learner and per board (the group's mode, or the overall board's setting):

- FULL_NAME: the learner's name; ANONYMOUS: "Learner N";
- RANK_ONLY: as ANONYMOUS to others; a learner who reads a RANK_ONLY board (or chose RANK_ONLY
  for themselves) sees their own row and their neighbours, no top list;
- HIDDEN: a learner who opts out is on no board and counted in no one's rank; a group whose board
  is HIDDEN has no board for its learners.

A row shows the more private of its learner's setting and the board's mode. The viewer's own row
is always shown in full. Educators of the group, admins and services oversee a board: they see
every listed learner by name, whatever the modes, and the top list even of a HIDDEN board; a
learner who opted out (HIDDEN) is off the board for them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from domain.activity import week_of
from domain.errors import InvalidInput
from domain.score_buckets import tie_of

DEFAULT_SIZE = 10  # the top list's length when none is asked for (CAIRN_LEADERBOARD_SIZE)
MAX_SIZE = 100
MAX_AROUND = 10
DEFAULT_AROUND = 2


class Period(StrEnum):
    WEEK = "week"
    ALL_TIME = "all_time"


class Privacy(StrEnum):
    """How a learner appears on a board, from the most open to the most private."""

    FULL_NAME = "full_name"
    ANONYMOUS = "anonymous"
    RANK_ONLY = "rank_only"
    HIDDEN = "hidden"

    @property
    def level(self) -> int:
        return _LEVELS[self]


_LEVELS = {mode: level for level, mode in enumerate(Privacy)}
DEFAULT_MODE = Privacy.ANONYMOUS  # the overall board's, unless CAIRN_LEADERBOARD_MODE says
DEFAULT_VISIBILITY = Privacy.FULL_NAME  # a learner's own: no narrower than the board's mode


def more_private(*modes: Privacy) -> Privacy:
    return max(modes, key=lambda mode: mode.level)


def week_starting(at: datetime) -> date:
    """The Monday (UTC) of the ISO week an instant falls in: the week it counts in."""
    return week_of(at.astimezone(UTC).date())


@dataclass(frozen=True, slots=True)
class Board:
    """One leaderboard: a period (WEEK: the week starting `week`) of a group, or overall."""

    period: Period
    week: date | None = None  # the Monday, for WEEK boards
    group_id: str | None = None  # None: the overall board

    def __post_init__(self) -> None:
        if (self.period is Period.WEEK) != (self.week is not None):
            raise ValueError("a WEEK board has a week, an ALL_TIME board none")
        if self.week is not None and self.week.weekday() != 0:
            raise ValueError("a week starts on a Monday")


def board_for(period: Period, *, group_id: str | None, week: date | None, today: date) -> Board:
    """The board asked for: a WEEK board's week is the one holding `week`, else this week."""
    if period is Period.ALL_TIME:
        if week is not None:
            raise InvalidInput("week", "applies to WEEK boards only")
        return Board(period, None, group_id)
    return Board(period, week_of(week or today), group_id)


def check_size(first: int | None, default: int) -> int:
    size = default if first is None else first
    if not 1 <= size <= MAX_SIZE:
        raise InvalidInput("first", f"must be between 1 and {MAX_SIZE}")
    return size


def check_around(around: int) -> int:
    if not 0 <= around <= MAX_AROUND:
        raise InvalidInput("around", f"must be between 0 and {MAX_AROUND}")
    return around


# --- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standing:
    """A learner's points on a board."""

    learner_id: str
    points: int

    @property
    def order(self) -> tuple[int, int, str]:
        """Board order: most points first, a tie by the hash of the learner id."""
        return (-self.points, tie_of(self.learner_id), self.learner_id)


@dataclass(frozen=True, slots=True)
class Window:
    """Consecutive rows of a board, in board order, and where they start."""

    rows: tuple[Standing, ...] = ()
    higher: int = 0  # learners with more points than the first row
    before: int = 0  # learners before the first row in board order (ties included)


@dataclass(frozen=True, slots=True)
class Placed:
    standing: Standing
    rank: int  # 1 + the learners with more points (a tie shares it)
    position: int  # place in board order, 1 for the first row


def place(window: Window) -> list[Placed]:
    """Ranks and positions of a window's rows: a tie shares the rank of its first row."""
    placed: list[Placed] = []
    for index, row in enumerate(window.rows):
        if index and row.points == window.rows[index - 1].points:
            rank = placed[-1].rank
        else:
            # Everyone before the window has more points than a row below the first one's.
            ahead = window.higher if row.points == window.rows[0].points else window.before
            rank = 1 + ahead + sum(1 for e in window.rows[:index] if e.points > row.points)
        placed.append(Placed(row, rank, window.before + index + 1))
    return placed


def around(rows: Sequence[Standing], learner_id: str, n: int) -> tuple[int, int] | None:
    """The slice [start, end) of `rows` (in board order) holding the learner and up to `n` rows
    either side; None when the learner is not among them."""
    index = next((i for i, row in enumerate(rows) if row.learner_id == learner_id), None)
    if index is None:
        return None
    return max(0, index - n), min(len(rows), index + n + 1)


# --- what a viewer sees ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """What a row may show of its learner."""

    display_name: str | None = None
    visibility: Privacy = DEFAULT_VISIBILITY


@dataclass(frozen=True, slots=True)
class Onlooker:
    """Who reads a board: the viewer, whether they oversee it, their own setting."""

    viewer_id: str | None
    oversees: bool  # the group's educators, admins, services
    visibility: Privacy = DEFAULT_VISIBILITY  # the viewer's own, as a learner


def view_of(mode: Privacy, onlooker: Onlooker) -> Privacy:
    """How much of a board the onlooker sees: all of it when they oversee it; else the board's
    mode, narrowed to RANK_ONLY for a learner who chose that for themselves."""
    if onlooker.oversees:
        return Privacy.FULL_NAME
    if onlooker.visibility is Privacy.RANK_ONLY:
        return more_private(mode, Privacy.RANK_ONLY)
    return mode


def shows_top(view: Privacy) -> bool:
    return view.level < Privacy.RANK_ONLY.level


def shows_anything(view: Privacy) -> bool:
    return view is not Privacy.HIDDEN


@dataclass(frozen=True, slots=True)
class Row:
    rank: int
    position: int
    points: int
    display_name: str
    learner_id: str | None  # None when the row is anonymised
    is_viewer: bool


def anonymous_name(position: int) -> str:
    return f"Learner {position}"


def row_for(placed: Placed, *, mode: Privacy, onlooker: Onlooker, profile: Profile) -> Row:
    """A row as the onlooker sees it: in full for their own and for those who oversee the
    board, else as the more private of the board's mode and the learner's own setting."""
    learner_id = placed.standing.learner_id
    is_viewer = learner_id == onlooker.viewer_id
    named = is_viewer or onlooker.oversees
    if not named:
        named = more_private(mode, profile.visibility) is Privacy.FULL_NAME
    return Row(
        rank=placed.rank,
        position=placed.position,
        points=placed.standing.points,
        display_name=(profile.display_name or learner_id)
        if named
        else anonymous_name(placed.position),
        learner_id=learner_id if named else None,
        is_viewer=is_viewer,
    )


@dataclass(frozen=True, slots=True)
class LeaderboardView:
    board: Board
    mode: Privacy  # the board's own mode
    size: int | None  # learners on the board; None when the viewer may not see it
    top: list[Row]
    viewer_row: Row | None
    neighbours: list[Row]  # the viewer's row and up to `around` rows either side


def present(
    board: Board,
    *,
    mode: Privacy,
    onlooker: Onlooker,
    size: int,
    top: Sequence[Placed],
    near: Sequence[Placed],
    profiles: Mapping[str, Profile],
) -> LeaderboardView:
    """The board as the onlooker may see it (`top` and `near` already read as `view_of` says:
    no top list for a RANK_ONLY view, nothing for a HIDDEN one)."""
    view = view_of(mode, onlooker)
    if not shows_anything(view):
        return LeaderboardView(board, mode, None, [], None, [])

    def shown(placed: Placed) -> Row:
        profile = profiles.get(placed.standing.learner_id, Profile())
        return row_for(placed, mode=mode, onlooker=onlooker, profile=profile)

    neighbours = [shown(placed) for placed in near]
    return LeaderboardView(
        board=board,
        mode=mode,
        size=size,
        top=[shown(placed) for placed in top] if shows_top(view) else [],
        viewer_row=next((row for row in neighbours if row.is_viewer), None),
        neighbours=neighbours,
    )
