from __future__ import annotations

from datetime import date, timedelta

from domain.streaks import (
    FREEZE_EVERY,
    MAX_FREEZES,
    DayRun,
    add_day,
    longest_chain,
    mark_active,
    streak_on,
)

MON = date(2026, 3, 2)


def day(n: int) -> date:
    return MON + timedelta(days=n)


def runs(*days: int) -> tuple[DayRun, ...]:
    out: tuple[DayRun, ...] = ()
    for n in days:
        out = add_day(out, day(n))
    return out


# Spending


def test_a_held_freeze_covers_one_missed_day_when_the_learner_comes_back() -> None:
    change = mark_active(runs(0, 1, 2), (), held=1, day=day(4))

    assert change.spent == (day(3),)
    assert change.held == 0
    assert change.frozen == ((day(3), day(3)),)


def test_two_missed_days_need_two_freezes_and_one_is_not_enough() -> None:
    assert mark_active(runs(0, 1), (), held=2, day=day(4)).spent == (day(2), day(3))
    short = mark_active(runs(0, 1), (), held=1, day=day(4))
    assert short.spent == () and short.held == 1  # the streak is broken; the freeze is kept


def test_no_freeze_is_spent_without_a_gap_or_for_a_late_day_inside_the_history() -> None:
    assert mark_active(runs(0, 1), (), held=2, day=day(2)).spent == ()
    assert mark_active(runs(0, 5), (), held=2, day=day(2)).spent == ()
    assert mark_active((), (), held=2, day=day(0)).spent == ()


def test_a_frozen_day_that_turns_out_active_gives_its_freeze_back() -> None:
    change = mark_active(runs(0, 1, 3), runs(2), held=0, day=day(2))

    assert change.refunded == 1
    assert change.held == 1
    assert change.frozen == ()


# Earning


def test_every_seventh_active_day_of_a_streak_earns_a_freeze() -> None:
    six = runs(*range(FREEZE_EVERY - 1))
    assert mark_active(six, (), held=0, day=day(FREEZE_EVERY - 1)).earned == 1
    assert mark_active(runs(0, 1), (), held=0, day=day(2)).earned == 0


def test_frozen_days_bridge_the_chain_but_do_not_count_toward_earning() -> None:
    # Days 0-2 and 4-6 active, day 3 frozen: the seventh active day is day 7.
    active, frozen = runs(0, 1, 2, 4, 5), runs(3)
    assert mark_active(active, frozen, held=0, day=day(6)).earned == 0
    assert mark_active(runs(0, 1, 2, 4, 5, 6), frozen, held=0, day=day(7)).earned == 1


def test_held_freezes_never_exceed_the_maximum() -> None:
    six = runs(*range(FREEZE_EVERY - 1))
    change = mark_active(six, (), held=MAX_FREEZES, day=day(FREEZE_EVERY - 1))
    assert change.held == MAX_FREEZES


def test_a_late_day_joining_two_chains_earns_only_what_the_join_adds() -> None:
    # 3 + 3 active days joined by a late middle day: 7 in one chain, one freeze.
    change = mark_active(runs(0, 1, 2, 4, 5, 6), (), held=0, day=day(3))
    assert change.earned == 1


# The streak as shown


def test_the_streak_lives_on_through_frozen_days_and_counts_active_days_only() -> None:
    streak = streak_on(runs(0, 1, 2, 4), today=day(4), local_hour=9, frozen=runs(3))

    assert streak.current == 4
    assert streak.frozen_days == (day(3),)
    assert streak.longest == 4


def test_a_missed_day_the_held_freeze_will_cover_keeps_the_streak_alive_and_pending() -> None:
    streak = streak_on(runs(0, 1, 2), today=day(4), local_hour=20, freezes_held=1)

    assert streak.current == 3
    assert streak.freezes_pending == 1
    assert streak.at_risk  # nothing today yet, past the at-risk hour


def test_without_freezes_a_missed_day_ends_the_streak() -> None:
    streak = streak_on(runs(0, 1, 2), today=day(4), local_hour=9)
    assert streak.current == 0
    assert streak.freezes_pending == 0


def test_longest_chain_counts_active_days_across_frozen_ones() -> None:
    assert longest_chain(runs(0, 1, 3, 4, 5)) == 3
    assert longest_chain(runs(0, 1, 3, 4, 5), runs(2)) == 5
