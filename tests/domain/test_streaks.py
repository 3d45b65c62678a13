from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.activity import local_time
from domain.streaks import (
    DEFAULT_AT_RISK_HOUR,
    DayRun,
    Streak,
    add_day,
    longest_streak,
    run_length,
    streak_on,
)

D1 = date(2026, 3, 1)


def day(n: int) -> date:
    """Day `n` of March 2026 (1 is 1 March)."""
    return D1 + timedelta(days=n - 1)


def runs_of(days: Iterable[date]) -> tuple[DayRun, ...]:
    runs: tuple[DayRun, ...] = ()
    for each in days:
        runs = add_day(runs, each)
    return runs


def local_days(instants: Iterable[datetime], time_zone: str) -> tuple[DayRun, ...]:
    return runs_of(local_time(at, time_zone).day for at in instants)


# add_day


def test_a_first_day_makes_a_run_of_one() -> None:
    assert add_day((), day(5)) == ((day(5), day(5)),)


@pytest.mark.parametrize(
    ("runs", "new_day", "expected"),
    [
        pytest.param(((day(1), day(3)),), day(4), ((day(1), day(4)),), id="extends-the-end"),
        pytest.param(((day(2), day(3)),), day(1), ((day(1), day(3)),), id="extends-the-start"),
        pytest.param(
            ((day(1), day(3)), (day(5), day(7))), day(4), ((day(1), day(7)),), id="bridges-a-gap"
        ),
        pytest.param(
            ((day(1), day(1)),), day(3), ((day(1), day(1)), (day(3), day(3))), id="leaves-a-gap"
        ),
        pytest.param(
            ((day(5), day(6)),), day(1), ((day(1), day(1)), (day(5), day(6))), id="sorted-first"
        ),
    ],
)
def test_add_day_merges_a_day_into_the_adjacent_runs(
    runs: tuple[DayRun, ...], new_day: date, expected: tuple[DayRun, ...]
) -> None:
    assert add_day(runs, new_day) == expected


@pytest.mark.parametrize("repeated", [day(1), day(2), day(3), day(6)])
def test_a_day_already_active_is_a_no_op(repeated: date) -> None:
    runs = ((day(1), day(3)), (day(6), day(6)))
    assert add_day(runs, repeated) == runs


def test_a_late_day_that_fills_a_one_day_gap_joins_both_runs_into_one() -> None:
    runs = runs_of([day(1), day(2), day(4), day(5)])
    assert runs == ((day(1), day(2)), (day(4), day(5)))
    assert add_day(runs, day(3)) == ((day(1), day(5)),)


HISTORY = [day(1), day(2), day(3), day(5), day(6), day(9), day(3), day(10), day(11)]
HISTORY_RUNS = ((day(1), day(3)), (day(5), day(6)), (day(9), day(11)))


@pytest.mark.parametrize(
    "order",
    [
        list(HISTORY),
        list(reversed(HISTORY)),
        sorted(HISTORY, key=lambda d: (d.day % 3, d)),
        [day(11), day(1), day(9), day(3), day(6), day(2), day(10), day(5), day(3)],
    ],
)
def test_out_of_order_days_give_the_same_runs_as_ordered_ones(order: list[date]) -> None:
    assert runs_of(order) == HISTORY_RUNS


@pytest.mark.parametrize("order", list(itertools.permutations([day(1), day(2), day(3), day(4)])))
def test_every_order_of_four_consecutive_days_gives_one_run(order: tuple[date, ...]) -> None:
    assert runs_of(order) == ((day(1), day(4)),)


def test_a_run_across_a_month_and_year_end_is_one_run() -> None:
    runs = runs_of([date(2026, 1, 1), date(2025, 12, 31), date(2025, 12, 30)])
    assert runs == ((date(2025, 12, 30), date(2026, 1, 1)),)


def test_a_leap_day_joins_february_and_march() -> None:
    runs = runs_of([date(2028, 2, 28), date(2028, 3, 1), date(2028, 2, 29)])
    assert runs == ((date(2028, 2, 28), date(2028, 3, 1)),)


# longest_streak


@pytest.mark.parametrize(
    ("runs", "longest"),
    [
        ((), 0),
        (((day(4), day(4)),), 1),
        (HISTORY_RUNS, 3),
        (((day(1), day(7)), (day(9), day(10))), 7),
        (((day(1), day(2)), (day(4), day(8)), (day(20), day(21))), 5),
    ],
)
def test_longest_streak_is_the_longest_run(runs: tuple[DayRun, ...], longest: int) -> None:
    assert longest_streak(runs) == longest


def test_run_length_counts_both_ends() -> None:
    assert run_length((day(3), day(3))) == 1
    assert run_length((day(3), day(9))) == 7


# streak_on

TODAY = day(10)


def test_an_empty_history_has_no_streak() -> None:
    assert streak_on((), today=TODAY, local_hour=23) == Streak(
        current=0, longest=0, last_active=None, active_today=False, at_risk=False
    )


@pytest.mark.parametrize("hour", [0, 12, 23])
def test_activity_today_counts_today_and_is_never_at_risk(hour: int) -> None:
    streak = streak_on(((day(7), TODAY),), today=TODAY, local_hour=hour)
    assert streak == Streak(current=4, longest=4, last_active=TODAY, active_today=True)


@pytest.mark.parametrize(
    ("hour", "at_risk"),
    [(0, False), (DEFAULT_AT_RISK_HOUR - 1, False), (DEFAULT_AT_RISK_HOUR, True), (23, True)],
)
def test_a_streak_that_ended_yesterday_is_alive_and_at_risk_from_the_at_risk_hour(
    hour: int, at_risk: bool
) -> None:
    streak = streak_on(((day(7), day(9)),), today=TODAY, local_hour=hour)
    assert streak.current == 3
    assert streak.longest == 3
    assert streak.last_active == day(9)
    assert streak.active_today is False
    assert streak.at_risk is at_risk


@pytest.mark.parametrize(("hour", "at_risk"), [(17, False), (18, True)])
def test_by_default_a_streak_is_at_risk_from_six_in_the_evening(hour: int, at_risk: bool) -> None:
    streak = streak_on(((day(9), day(9)),), today=TODAY, local_hour=hour)
    assert streak.at_risk is at_risk


@pytest.mark.parametrize(("hour", "at_risk"), [(20, False), (21, True)])
def test_the_at_risk_hour_can_be_chosen(hour: int, at_risk: bool) -> None:
    streak = streak_on(((day(9), day(9)),), today=TODAY, local_hour=hour, at_risk_hour=21)
    assert streak.at_risk is at_risk


def test_a_gap_of_two_days_ends_the_current_streak_but_keeps_the_longest() -> None:
    runs = ((day(1), day(5)), (day(7), day(8)))
    streak = streak_on(runs, today=TODAY, local_hour=20)
    assert streak == Streak(
        current=0, longest=5, last_active=day(8), active_today=False, at_risk=False
    )


def test_the_longest_streak_can_be_an_older_run_than_the_current_one() -> None:
    runs = ((day(1), day(6)), (day(9), TODAY))
    streak = streak_on(runs, today=TODAY, local_hour=9)
    assert (streak.current, streak.longest) == (2, 6)


def test_a_run_that_starts_after_today_does_not_count_as_current() -> None:
    runs = ((day(8), day(9)), (day(11), day(12)))
    streak = streak_on(runs, today=TODAY, local_hour=9)
    assert streak.current == 2
    assert streak.last_active == day(9)
    assert streak.active_today is False


def test_only_future_activity_is_no_streak_yet() -> None:
    streak = streak_on(((day(11), day(15)),), today=TODAY, local_hour=9)
    assert streak == Streak(current=0, longest=0, last_active=None, active_today=False)


def test_a_run_reaching_past_today_counts_only_up_to_today() -> None:
    streak = streak_on(((day(8), day(12)),), today=TODAY, local_hour=9)
    assert streak.current == 3
    assert streak.last_active == TODAY
    assert streak.active_today is True


@pytest.mark.parametrize(
    ("runs", "current", "longest"),
    [
        pytest.param(((day(9), TODAY), (day(12), day(16))), 2, 2, id="later-run"),
        pytest.param(((day(8), day(14)),), 3, 3, id="run-reaching-past-today"),
        pytest.param(((day(1), day(4)), (day(9), day(20))), 2, 4, id="older-run-still-longest"),
    ],
)
def test_days_after_today_do_not_count_towards_the_longest_streak(
    runs: tuple[DayRun, ...], current: int, longest: int
) -> None:
    streak = streak_on(runs, today=TODAY, local_hour=9)
    assert (streak.current, streak.longest) == (current, longest)


# Time zones, daylight saving and midnight

# New York springs forward at 02:00 on Sunday 8 March 2026 (EST -5 to EDT -4).
NEW_YORK_AROUND_DST = [
    datetime(2026, 3, 8, 4, 30, tzinfo=UTC),  # Sat 7 Mar 23:30 EST
    datetime(2026, 3, 8, 5, 30, tzinfo=UTC),  # Sun 8 Mar 00:30 EST
    datetime(2026, 3, 9, 3, 30, tzinfo=UTC),  # Sun 8 Mar 23:30 EDT
    datetime(2026, 3, 9, 4, 30, tzinfo=UTC),  # Mon 9 Mar 00:30 EDT
]
# London falls back at 02:00 BST on Sunday 25 October 2026 (BST +1 to GMT +0).
LONDON_AROUND_DST = [
    datetime(2026, 10, 24, 22, 30, tzinfo=UTC),  # Sat 24 Oct 23:30 BST
    datetime(2026, 10, 24, 23, 30, tzinfo=UTC),  # Sun 25 Oct 00:30 BST
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # Sun 25 Oct 23:30 GMT
    datetime(2026, 10, 26, 0, 30, tzinfo=UTC),  # Mon 26 Oct 00:30 GMT
]


@pytest.mark.parametrize(
    ("instants", "time_zone", "expected"),
    [
        pytest.param(
            NEW_YORK_AROUND_DST,
            "America/New_York",
            ((date(2026, 3, 7), date(2026, 3, 9)),),
            id="new-york-spring-forward",
        ),
        pytest.param(
            NEW_YORK_AROUND_DST,
            "Asia/Tokyo",
            ((date(2026, 3, 8), date(2026, 3, 9)),),
            id="same-instants-in-tokyo",
        ),
        pytest.param(
            LONDON_AROUND_DST,
            "Europe/London",
            ((date(2026, 10, 24), date(2026, 10, 26)),),
            id="london-fall-back",
        ),
        pytest.param(
            LONDON_AROUND_DST,
            "Asia/Tokyo",
            ((date(2026, 10, 25), date(2026, 10, 26)),),
            id="same-instants-in-tokyo-2",
        ),
        pytest.param(
            LONDON_AROUND_DST,
            "UTC",
            ((date(2026, 10, 24), date(2026, 10, 26)),),
            id="same-instants-in-utc",
        ),
    ],
)
def test_late_evening_and_just_after_midnight_are_consecutive_local_days_across_dst(
    instants: list[datetime], time_zone: str, expected: tuple[DayRun, ...]
) -> None:
    assert local_days(instants, time_zone) == expected
    assert local_days(reversed(instants), time_zone) == expected


def test_the_local_hours_around_the_new_york_dst_change_are_wall_clock_hours() -> None:
    hours = [local_time(at, "America/New_York").hour for at in NEW_YORK_AROUND_DST]
    assert hours == [23, 0, 23, 0]


def test_the_repeated_hour_when_london_falls_back_stays_on_the_same_day() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert local_time(first, "Europe/London") == local_time(second, "Europe/London")
    assert local_days([first, second], "Europe/London") == (
        (date(2026, 10, 25), date(2026, 10, 25)),
    )


@pytest.mark.parametrize(
    ("time_zone", "last_second"),
    [
        ("UTC", datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 11, 3, 59, 59, tzinfo=UTC)),  # EDT
        ("Asia/Tokyo", datetime(2026, 3, 10, 14, 59, 59, tzinfo=UTC)),
        ("Asia/Kolkata", datetime(2026, 3, 10, 18, 29, 59, tzinfo=UTC)),  # +05:30
    ],
)
def test_one_second_before_and_at_local_midnight_are_two_consecutive_days(
    time_zone: str, last_second: datetime
) -> None:
    midnight = last_second + timedelta(seconds=1)
    before, after = local_time(last_second, time_zone), local_time(midnight, time_zone)
    assert (before.day, before.hour) == (date(2026, 3, 10), 23)
    assert (after.day, after.hour) == (date(2026, 3, 11), 0)
    assert local_days([midnight, last_second], time_zone) == (
        (date(2026, 3, 10), date(2026, 3, 11)),
    )


def test_local_midnight_and_the_last_second_of_the_same_day_are_one_day() -> None:
    start = datetime(2026, 3, 10, 0, 0, 0, tzinfo=UTC)
    end = datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)
    assert local_days([end, start], "UTC") == ((date(2026, 3, 10), date(2026, 3, 10)),)


def test_a_streak_kept_across_the_dst_night_is_current_the_next_evening() -> None:
    runs = local_days(NEW_YORK_AROUND_DST, "America/New_York")
    # Monday 9 March, 19:00 EDT, active after midnight: three days and not at risk.
    streak = streak_on(runs, today=date(2026, 3, 9), local_hour=19)
    assert (streak.current, streak.active_today, streak.at_risk) == (3, True, False)
    # Tuesday evening with nothing yet: still three, now at risk.
    streak = streak_on(runs, today=date(2026, 3, 10), local_hour=19)
    assert (streak.current, streak.active_today, streak.at_risk) == (3, False, True)
