"""Leaderboards: periods, ranking with ties, windows at the board's edges, what each viewer sees."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.errors import InvalidInput
from domain.leaderboards import (
    MAX_AROUND,
    MAX_SIZE,
    Board,
    Onlooker,
    Period,
    Placed,
    Privacy,
    Profile,
    Standing,
    Window,
    anonymous_name,
    around,
    board_for,
    check_around,
    check_size,
    more_private,
    place,
    present,
    row_for,
    shows_top,
    view_of,
    week_starting,
)

MONDAY = date(2026, 3, 9)


def standings(*points: int) -> tuple[Standing, ...]:
    return tuple(Standing(f"l{n}", p) for n, p in enumerate(points))


def ranks(window: Window) -> list[int]:
    return [placed.rank for placed in place(window)]


# --- periods -----------------------------------------------------------------------------------


def test_a_week_starts_on_monday_at_midnight_utc() -> None:
    assert week_starting(datetime(2026, 3, 9, 0, 0, tzinfo=UTC)) == MONDAY
    assert week_starting(datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)) == MONDAY
    assert week_starting(datetime(2026, 3, 16, 0, 0, tzinfo=UTC)) == MONDAY + timedelta(days=7)


def test_the_week_is_utcs_whatever_the_offset_the_instant_was_given_in() -> None:
    # Monday 01:00 in Paris (UTC+2 in summer time) is Sunday 23:00 UTC: the week before.
    paris_summer = timezone(timedelta(hours=2))
    assert week_starting(datetime(2026, 6, 8, 1, 0, tzinfo=paris_summer)) == date(2026, 6, 1)


def test_a_week_board_is_the_week_holding_the_day_asked_for_or_today() -> None:
    today = date(2026, 3, 12)  # a Thursday

    assert board_for(Period.WEEK, group_id=None, week=None, today=today).week == MONDAY
    asked = board_for(Period.WEEK, group_id="g", week=date(2026, 2, 1), today=today)
    assert asked == Board(Period.WEEK, date(2026, 1, 26), "g")


def test_an_all_time_board_has_no_week() -> None:
    assert board_for(Period.ALL_TIME, group_id=None, week=None, today=MONDAY).week is None
    with pytest.raises(InvalidInput) as refused:
        board_for(Period.ALL_TIME, group_id=None, week=MONDAY, today=MONDAY)
    assert refused.value.field == "week"


def test_a_board_checks_its_week() -> None:
    with pytest.raises(ValueError, match="Monday"):
        Board(Period.WEEK, date(2026, 3, 10))
    with pytest.raises(ValueError, match="week"):
        Board(Period.ALL_TIME, MONDAY)
    with pytest.raises(ValueError, match="week"):
        Board(Period.WEEK)


@pytest.mark.parametrize("first", [0, -1, MAX_SIZE + 1])
def test_the_top_list_is_1_to_100_rows(first: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_size(first, 10)

    assert refused.value.field == "first"
    assert str(MAX_SIZE) in refused.value.rule


def test_the_top_list_defaults_to_the_setting() -> None:
    assert check_size(None, 25) == 25
    assert check_size(1, 25) == 1
    assert check_size(MAX_SIZE, 25) == MAX_SIZE


@pytest.mark.parametrize("n", [-1, MAX_AROUND + 1])
def test_neighbours_are_0_to_10_either_side(n: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_around(n)

    assert refused.value.field == "around"
    assert check_around(0) == 0 and check_around(MAX_AROUND) == MAX_AROUND


# --- ranking -----------------------------------------------------------------------------------


def test_equal_points_share_a_rank_and_the_next_rank_skips() -> None:
    assert ranks(Window(standings(50, 40, 40, 30, 30, 30, 10))) == [1, 2, 2, 4, 4, 4, 7]


def test_positions_count_every_row_ties_included() -> None:
    placed = place(Window(standings(50, 40, 40, 30)))

    assert [p.position for p in placed] == [1, 2, 3, 4]


def test_everyone_tied_is_first() -> None:
    assert ranks(Window(standings(5, 5, 5))) == [1, 1, 1]


def test_a_window_inside_a_tie_ranks_its_rows_from_what_lies_before_it() -> None:
    # The board: 90, 80, 80, 80, 70, 70: a window from the third row on.
    window = Window(standings(80, 80, 70, 70), higher=1, before=2)

    placed = place(window)

    assert [p.rank for p in placed] == [2, 2, 5, 5]
    assert [p.position for p in placed] == [3, 4, 5, 6]


def test_a_window_starting_below_a_tie_counts_the_whole_tie_above_it() -> None:
    # The board: 80, 80, 80, 70, 60: a window of the last two rows.
    window = Window(standings(70, 60), higher=3, before=3)

    assert ranks(window) == [4, 5]


def test_board_order_is_points_then_a_hash_of_the_id() -> None:
    rows = [Standing(f"learner-{n}", 10) for n in range(20)] + [Standing("z", 11)]

    ordered = sorted(rows, key=lambda s: s.order)

    assert ordered[0].learner_id == "z"
    assert sorted(ordered[1:], key=lambda s: s.order) == ordered[1:]
    assert [s.learner_id for s in ordered[1:]] != sorted(s.learner_id for s in rows[:20])


@pytest.mark.parametrize(
    ("index", "n", "expected"),
    [
        (0, 2, (0, 3)),  # the first row: nothing above
        (4, 2, (2, 5)),  # the last row: nothing below
        (2, 2, (0, 5)),
        (2, 0, (2, 3)),  # no neighbours: the row alone
        (1, 10, (0, 5)),  # more neighbours asked for than the board has
    ],
)
def test_neighbours_stop_at_the_edges_of_the_board(
    index: int, n: int, expected: tuple[int, int]
) -> None:
    rows = standings(50, 40, 30, 20, 10)

    assert around(rows, f"l{index}", n) == expected


def test_no_neighbours_for_a_learner_not_on_the_board() -> None:
    assert around(standings(50, 40), "someone-else", 2) is None


# --- privacy -----------------------------------------------------------------------------------


def test_privacy_modes_are_ordered_from_the_most_open() -> None:
    assert list(Privacy) == [
        Privacy.FULL_NAME,
        Privacy.ANONYMOUS,
        Privacy.RANK_ONLY,
        Privacy.HIDDEN,
    ]
    assert more_private(Privacy.ANONYMOUS, Privacy.FULL_NAME) is Privacy.ANONYMOUS
    assert more_private(Privacy.RANK_ONLY, Privacy.HIDDEN, Privacy.FULL_NAME) is Privacy.HIDDEN


LEARNER = Onlooker("me", oversees=False)
OVERSEER = Onlooker("ed", oversees=True)
ROW = Placed(Standing("ada", 40), rank=3, position=4)
ADA = Profile("Ada Lovelace", Privacy.FULL_NAME)


@pytest.mark.parametrize(
    ("board", "learner"),
    list(itertools.product(list(Privacy)[:3], list(Privacy)[:3])),
)
def test_another_learners_row_shows_the_more_private_of_the_two_settings(
    board: Privacy, learner: Privacy
) -> None:
    """Every combination of a board's mode and a learner's own (HIDDEN rows are never read)."""
    row = row_for(ROW, mode=board, onlooker=LEARNER, profile=Profile("Ada Lovelace", learner))

    if board is Privacy.FULL_NAME and learner is Privacy.FULL_NAME:
        assert (row.display_name, row.learner_id) == ("Ada Lovelace", "ada")
    else:
        assert (row.display_name, row.learner_id) == ("Learner 4", None)
    assert (row.rank, row.points, row.is_viewer) == (3, 40, False)


@pytest.mark.parametrize(("board", "learner"), list(itertools.product(Privacy, list(Privacy)[:3])))
def test_those_who_oversee_a_board_see_every_name(board: Privacy, learner: Privacy) -> None:
    row = row_for(ROW, mode=board, onlooker=OVERSEER, profile=Profile("Ada Lovelace", learner))

    assert (row.display_name, row.learner_id) == ("Ada Lovelace", "ada")


@pytest.mark.parametrize(("board", "own"), list(itertools.product(Privacy, list(Privacy)[:3])))
def test_the_viewer_always_sees_their_own_row_in_full(board: Privacy, own: Privacy) -> None:
    me = Onlooker("ada", oversees=False, visibility=own)

    row = row_for(ROW, mode=board, onlooker=me, profile=Profile("Ada Lovelace", own))

    assert (row.display_name, row.learner_id, row.is_viewer) == ("Ada Lovelace", "ada", True)


def test_a_named_row_without_a_name_shows_the_learner_id() -> None:
    row = row_for(ROW, mode=Privacy.FULL_NAME, onlooker=LEARNER, profile=Profile())

    assert (row.display_name, row.learner_id) == ("ada", "ada")


def test_an_anonymised_row_is_named_by_its_place_never_its_id_or_name() -> None:
    row = row_for(ROW, mode=Privacy.ANONYMOUS, onlooker=LEARNER, profile=ADA)

    assert row.display_name == anonymous_name(4) == "Learner 4"
    assert "ada" not in row.display_name.lower() and "lovelace" not in row.display_name.lower()


@pytest.mark.parametrize(
    ("board", "own", "seen"),
    [
        (Privacy.FULL_NAME, Privacy.FULL_NAME, Privacy.FULL_NAME),
        (Privacy.ANONYMOUS, Privacy.FULL_NAME, Privacy.ANONYMOUS),
        (Privacy.FULL_NAME, Privacy.ANONYMOUS, Privacy.FULL_NAME),  # own setting: how I appear
        (Privacy.FULL_NAME, Privacy.RANK_ONLY, Privacy.RANK_ONLY),  # and what I choose to see
        (Privacy.HIDDEN, Privacy.RANK_ONLY, Privacy.HIDDEN),
        (Privacy.ANONYMOUS, Privacy.HIDDEN, Privacy.ANONYMOUS),  # opted out, still looks
        (Privacy.RANK_ONLY, Privacy.FULL_NAME, Privacy.RANK_ONLY),
        (Privacy.HIDDEN, Privacy.FULL_NAME, Privacy.HIDDEN),
    ],
)
def test_what_a_learner_sees_of_a_board(board: Privacy, own: Privacy, seen: Privacy) -> None:
    assert view_of(board, Onlooker("me", oversees=False, visibility=own)) is seen


def test_those_who_oversee_see_every_board_whole() -> None:
    assert all(view_of(mode, OVERSEER) is Privacy.FULL_NAME for mode in Privacy)


def test_only_open_and_anonymous_views_have_a_top_list() -> None:
    assert [shows_top(mode) for mode in Privacy] == [True, True, False, False]


def board_view(mode: Privacy, onlooker: Onlooker) -> tuple[list[str], str | None, list[str]]:
    top = place(Window(standings(50, 40, 30)))
    near = place(Window((Standing("l1", 40), Standing("l2", 30)), higher=1, before=1))
    profiles = {f"l{n}": Profile(f"Name {n}") for n in range(3)}
    view = present(
        Board(Period.WEEK, MONDAY),
        mode=mode,
        onlooker=onlooker,
        size=3,
        top=top,
        near=near,
        profiles=profiles,
    )
    mine = view.viewer_row.display_name if view.viewer_row else None
    return (
        [row.display_name for row in view.top],
        mine,
        [row.display_name for row in view.neighbours],
    )


def test_a_learner_on_an_open_board_sees_names_and_their_own_row() -> None:
    me = Onlooker("l2", oversees=False)

    assert board_view(Privacy.FULL_NAME, me) == (
        ["Name 0", "Name 1", "Name 2"],
        "Name 2",
        ["Name 1", "Name 2"],
    )


def test_a_learner_on_an_anonymous_board_sees_only_themselves_by_name() -> None:
    me = Onlooker("l2", oversees=False)

    assert board_view(Privacy.ANONYMOUS, me) == (
        ["Learner 1", "Learner 2", "Name 2"],
        "Name 2",
        ["Learner 2", "Name 2"],
    )


def test_a_learner_on_a_rank_only_board_sees_no_top_list() -> None:
    me = Onlooker("l2", oversees=False)

    assert board_view(Privacy.RANK_ONLY, me) == ([], "Name 2", ["Learner 2", "Name 2"])


def test_a_learner_who_chose_rank_only_sees_no_top_list_on_an_open_board() -> None:
    me = Onlooker("l2", oversees=False, visibility=Privacy.RANK_ONLY)

    assert board_view(Privacy.FULL_NAME, me)[0] == []


def test_a_hidden_board_shows_a_learner_nothing() -> None:
    view = present(
        Board(Period.ALL_TIME),
        mode=Privacy.HIDDEN,
        onlooker=Onlooker("l2", oversees=False),
        size=3,
        top=place(Window(standings(50))),
        near=[],
        profiles={},
    )

    assert (view.size, view.top, view.viewer_row, view.neighbours) == (None, [], None, [])


def test_an_educator_sees_a_hidden_board_with_every_name() -> None:
    assert board_view(Privacy.HIDDEN, OVERSEER) == (
        ["Name 0", "Name 1", "Name 2"],
        None,
        ["Name 1", "Name 2"],
    )
