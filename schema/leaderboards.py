"""Leaderboards: a board as the viewer may see it, and a learner's place on one."""

from __future__ import annotations

from datetime import date
from typing import Self

import strawberry

from domain import leaderboards
from resolvers import leaderboards as use_cases
from schema.context import Info

LeaderboardPeriod = strawberry.enum(
    leaderboards.Period,
    name="LeaderboardPeriod",
    description="What a board counts: the points of one ISO week (Monday 00:00 UTC on, by "
    "when they were earned), or all of them.",
)
LeaderboardPrivacy = strawberry.enum(
    leaderboards.Privacy,
    name="LeaderboardPrivacy",
    description="How learners appear on a board, from the most open: FULL_NAME, ANONYMOUS "
    "('Learner N'), RANK_ONLY (anonymous; learners see only their own row and neighbours), "
    "HIDDEN (off the board; a group's: no board for its learners).",
)


@strawberry.type(description="One row of a leaderboard.")
class LeaderboardRow:
    rank: int = strawberry.field(
        description="1 + the learners with more points: a tie shares its rank (1, 2, 2, 4)."
    )
    points: int
    display_name: str = strawberry.field(
        description="The learner's name (their id when they have none), or 'Learner N' when "
        "the row is anonymised, N its place in the board's order."
    )
    learner_id: str | None = strawberry.field(description="Null when the row is anonymised.")
    is_viewer: bool

    @classmethod
    def from_domain(cls, value: leaderboards.Row) -> Self:
        return cls(
            rank=value.rank,
            points=value.points,
            display_name=value.display_name,
            learner_id=value.learner_id,
            is_viewer=value.is_viewer,
        )


@strawberry.type(
    description="A leaderboard as the viewer may see it: most points first, ties sharing a "
    "rank and listed in a fixed order."
)
class Leaderboard:
    period: LeaderboardPeriod  # type: ignore[valid-type]
    group_id: str | None = strawberry.field(description="Null: the overall board.")
    week_starting: date | None = strawberry.field(description="The Monday, for a WEEK board.")
    mode: LeaderboardPrivacy = strawberry.field(  # type: ignore[valid-type]
        description="The board's mode (the group's, else CAIRN_LEADERBOARD_MODE); each row "
        "shows the more private of it and its learner's own leaderboardVisibility."
    )
    size: int | None = strawberry.field(
        description="Learners on the board; null when the board is hidden from the viewer."
    )
    top: list[LeaderboardRow] = strawberry.field(
        description="The first `first` rows; empty for a learner on a RANK_ONLY board (or who "
        "chose RANK_ONLY)."
    )
    viewer_row: LeaderboardRow | None = strawberry.field(
        description="The viewer's own row, in full; null when they are not on the board."
    )
    neighbours: list[LeaderboardRow] = strawberry.field(
        description="The viewer's row and up to `around` rows either side, in board order."
    )

    @classmethod
    def from_domain(cls, value: leaderboards.LeaderboardView) -> Self:
        return cls(
            period=value.board.period,
            group_id=value.board.group_id,
            week_starting=value.board.week,
            mode=value.mode,
            size=value.size,
            top=[LeaderboardRow.from_domain(row) for row in value.top],
            viewer_row=None
            if value.viewer_row is None
            else LeaderboardRow.from_domain(value.viewer_row),
            neighbours=[LeaderboardRow.from_domain(row) for row in value.neighbours],
        )


@strawberry.type(description="A learner's place on a leaderboard.")
class LeaderboardStanding:
    period: LeaderboardPeriod  # type: ignore[valid-type]
    group_id: str | None = strawberry.field(description="Null: the overall board.")
    week_starting: date | None
    rank: int
    points: int
    size: int = strawberry.field(description="Learners on the board.")

    @classmethod
    def from_domain(cls, value: use_cases.Standing) -> Self:
        return cls(
            period=value.board.period,
            group_id=value.board.group_id,
            week_starting=value.board.week,
            rank=value.rank,
            points=value.points,
            size=value.size,
        )


async def leaderboard(
    info: Info,
    *,
    period: leaderboards.Period,
    group_id: str | None,
    week: date | None,
    first: int | None,
    around: int,
) -> Leaderboard | None:
    ctx = info.context
    view = await use_cases.leaderboard(
        ctx.access,
        ctx.repositories,
        ctx.loaders,
        period=period,
        group_id=group_id,
        week=week,
        first=first,
        around=around,
        now=ctx.now(),
        settings=ctx.services.leaderboards,
    )
    return None if view is None else Leaderboard.from_domain(view)


async def standing(
    info: Info,
    learner_id: str,
    *,
    period: leaderboards.Period,
    group_id: str | None,
    week: date | None,
) -> LeaderboardStanding | None:
    ctx = info.context
    value = await use_cases.standing_of(
        ctx.access,
        ctx.loaders,
        learner_id,
        period=period,
        group_id=group_id,
        week=week,
        now=ctx.now(),
        settings=ctx.services.leaderboards,
    )
    return None if value is None else LeaderboardStanding.from_domain(value)
