from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta

import pytest

from domain.activity import ActivityBucket, DailyRollup
from domain.errors import InvalidInput
from domain.trends import (
    HEATMAP_BAND_MINUTES,
    Forecast,
    HeatmapDay,
    HourCount,
    Period,
    TargetPoint,
    WeekdayCount,
    forecast_completion,
    heatmap,
    merge,
    patterns,
    progress_against_target,
    series,
)

ZERO = ActivityBucket()
MARCH_2 = date(2026, 3, 2)  # a Monday
MARCH_29 = date(2026, 3, 29)  # the Sunday four weeks later


def march(n: int) -> date:
    """Day `n` of March 2026 (2 March is a Monday)."""
    return date(2026, 3, n)


def bucket(*, minutes: float = 0.0, events: int = 1, completions: int = 0) -> ActivityBucket:
    return ActivityBucket(events=events, time_spent_seconds=minutes * 60, completions=completions)


def rollup(
    day: date,
    *,
    total: ActivityBucket | None = None,
    by_hour: Mapping[int, ActivityBucket] | None = None,
    by_category: Mapping[str, ActivityBucket] | None = None,
    by_difficulty: Mapping[str, ActivityBucket] | None = None,
    by_certification: Mapping[str, ActivityBucket] | None = None,
) -> DailyRollup:
    """A rollup whose total is `total`, or the sum of `by_hour` when only that is given."""
    if total is None:
        total = ZERO
        for each in (by_hour or {}).values():
            total = merge(total, each)
    return DailyRollup(
        learner_id="ada",
        day=day,
        total=total,
        by_category=dict(by_category or {}),
        by_difficulty=dict(by_difficulty or {}),
        by_hour=dict(by_hour or {}),
        by_certification=dict(by_certification or {}),
    )


def studied(day: date, minutes: float, *, hour: int = 7, events: int = 1) -> DailyRollup:
    return rollup(day, by_hour={hour: bucket(minutes=minutes, events=events)})


def completed(day: date, count: int) -> DailyRollup:
    return rollup(day, total=bucket(completions=count))


# merge


def test_merge_adds_every_field() -> None:
    a = ActivityBucket(
        events=3, time_spent_seconds=120.5, answered=2, scored=2, score_sum=1.5, completions=1
    )
    b = ActivityBucket(
        events=4, time_spent_seconds=30.0, answered=1, scored=1, score_sum=0.3, completions=2
    )
    merged = merge(a, b)
    assert merged == ActivityBucket(
        events=7, time_spent_seconds=150.5, answered=3, scored=3, score_sum=1.8, completions=3
    )
    assert merged.average_score == pytest.approx(0.6)
    assert merge(a, ZERO) == a
    assert merge(ZERO, b) == b


# series: periods, labels and clipping


@pytest.mark.parametrize(
    ("period", "first", "last", "expected"),
    [
        pytest.param(
            Period.DAY,
            date(2026, 12, 30),
            date(2027, 1, 2),
            [
                ("2026-12-30", date(2026, 12, 30), date(2026, 12, 30)),
                ("2026-12-31", date(2026, 12, 31), date(2026, 12, 31)),
                ("2027-01-01", date(2027, 1, 1), date(2027, 1, 1)),
                ("2027-01-02", date(2027, 1, 2), date(2027, 1, 2)),
            ],
            id="days-across-new-year",
        ),
        pytest.param(
            Period.WEEK,
            date(2026, 12, 24),
            date(2027, 1, 6),
            [
                ("2026-W52", date(2026, 12, 24), date(2026, 12, 27)),
                ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
                ("2027-W01", date(2027, 1, 4), date(2027, 1, 6)),
            ],
            id="iso-week-53-across-new-year-clipped",
        ),
        pytest.param(
            Period.WEEK,
            date(2026, 3, 10),
            date(2026, 3, 10),
            [("2026-W11", date(2026, 3, 10), date(2026, 3, 10))],
            id="one-day-week",
        ),
        pytest.param(
            Period.WEEK,
            date(2025, 12, 29),
            date(2026, 1, 4),
            [("2026-W01", date(2025, 12, 29), date(2026, 1, 4))],
            id="week-1-starting-in-the-old-year",
        ),
        pytest.param(
            Period.MONTH,
            date(2026, 11, 15),
            date(2027, 2, 10),
            [
                ("2026-11", date(2026, 11, 15), date(2026, 11, 30)),
                ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
                ("2027-01", date(2027, 1, 1), date(2027, 1, 31)),
                ("2027-02", date(2027, 2, 1), date(2027, 2, 10)),
            ],
            id="months-across-new-year-clipped",
        ),
        pytest.param(
            Period.MONTH,
            date(2028, 1, 31),
            date(2028, 3, 1),
            [
                ("2028-01", date(2028, 1, 31), date(2028, 1, 31)),
                ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
                ("2028-03", date(2028, 3, 1), date(2028, 3, 1)),
            ],
            id="leap-february",
        ),
    ],
)
def test_series_has_one_point_per_period_overlapping_the_range(
    period: Period, first: date, last: date, expected: list[tuple[str, date, date]]
) -> None:
    points = series([], period=period, first=first, last=last)
    assert [(p.label, p.start, p.end) for p in points] == expected
    for point in points:
        assert point.total == ZERO
        assert point.active_days == 0
        assert point.by_category == point.by_difficulty == point.by_certification == {}


def test_series_sums_each_period_and_counts_only_days_inside_the_clipped_range() -> None:
    rollups = [
        # Out of order; the 24th is in W52 but before the range, the 7th after it.
        rollup(date(2027, 1, 7), total=bucket(minutes=100, events=9)),
        rollup(date(2026, 12, 29), total=bucket(minutes=5, events=1, completions=1)),
        rollup(date(2026, 12, 23), total=bucket(minutes=100, events=9)),
        rollup(date(2026, 12, 25), total=bucket(minutes=10, events=2)),
        rollup(date(2027, 1, 2), total=bucket(minutes=20, events=3, completions=2)),
        rollup(date(2026, 12, 29), total=bucket(minutes=1, events=1)),  # same day again
    ]
    points = series(rollups, period=Period.WEEK, first=date(2026, 12, 24), last=date(2027, 1, 6))
    assert [(p.label, p.total, p.active_days) for p in points] == [
        ("2026-W52", bucket(minutes=10, events=2), 1),
        ("2026-W53", bucket(minutes=26, events=5, completions=3), 2),
        ("2027-W01", ZERO, 0),
    ]


def test_series_by_month_keeps_empty_months_and_merges_breakdowns() -> None:
    rollups = [
        rollup(
            date(2026, 1, 5),
            total=bucket(minutes=10, events=2),
            by_category={"compute": bucket(minutes=10, events=2)},
            by_difficulty={"easy": bucket(minutes=4, events=1), "hard": bucket(minutes=6)},
            by_certification={"SAA": bucket(minutes=10, events=2)},
        ),
        rollup(
            date(2026, 1, 20),
            total=bucket(minutes=30, events=3),
            by_category={"compute": bucket(minutes=20, events=2), "storage": bucket(minutes=10)},
            by_difficulty={"easy": bucket(minutes=30, events=3)},
            by_certification={"CCP": bucket(minutes=30, events=3)},
        ),
        rollup(date(2026, 3, 31), total=bucket(minutes=1)),
    ]
    january, february, march_point = series(
        rollups, period=Period.MONTH, first=date(2026, 1, 1), last=date(2026, 3, 31)
    )
    assert january.total == bucket(minutes=40, events=5)
    assert january.active_days == 2
    assert january.by_category == {
        "compute": bucket(minutes=30, events=4),
        "storage": bucket(minutes=10),
    }
    assert january.by_difficulty == {
        "easy": bucket(minutes=34, events=4),
        "hard": bucket(minutes=6),
    }
    assert january.by_certification == {
        "SAA": bucket(minutes=10, events=2),
        "CCP": bucket(minutes=30, events=3),
    }
    assert (february.label, february.total, february.active_days) == ("2026-02", ZERO, 0)
    assert february.by_category == {}
    assert (march_point.total, march_point.active_days) == (bucket(minutes=1), 1)


def test_series_for_one_certification_takes_only_its_bucket_and_no_breakdowns() -> None:
    rollups = [
        rollup(
            march(2),
            total=bucket(minutes=50, events=5),
            by_category={"compute": bucket(minutes=50, events=5)},
            by_certification={"SAA": bucket(minutes=20, events=2), "CCP": bucket(minutes=30)},
        ),
        rollup(
            march(3),
            total=bucket(minutes=30, events=3, completions=1),
            by_certification={"SAA": bucket(minutes=30, events=3, completions=1)},
        ),
        rollup(
            march(4),
            total=bucket(minutes=9),
            by_certification={"CCP": bucket(minutes=9)},
        ),
    ]
    points = series(rollups, period=Period.DAY, first=march(2), last=march(5), certification="SAA")
    assert [(p.label, p.total, p.active_days) for p in points] == [
        ("2026-03-02", bucket(minutes=20, events=2), 1),
        ("2026-03-03", bucket(minutes=30, events=3, completions=1), 1),
        ("2026-03-04", ZERO, 0),
        ("2026-03-05", ZERO, 0),
    ]
    assert all(p.by_category == p.by_difficulty == p.by_certification == {} for p in points)
    (week,) = series(
        rollups, period=Period.WEEK, first=march(2), last=march(8), certification="SAA"
    )
    assert (week.total, week.active_days) == (bucket(minutes=50, events=5, completions=1), 2)


def test_series_rejects_a_range_that_ends_before_it_starts() -> None:
    with pytest.raises(InvalidInput) as error:
        series([], period=Period.DAY, first=march(5), last=march(4))
    assert error.value.field == "last"


# patterns


def test_patterns_count_hours_and_weekdays_and_rank_the_peaks() -> None:
    rollups = [
        rollup(
            march(2),  # Monday
            by_hour={
                7: bucket(minutes=30, events=3),
                20: bucket(minutes=10),
                22: bucket(minutes=5),
            },
        ),
        rollup(march(4), by_hour={7: bucket(minutes=20, events=2)}),  # Wednesday
        rollup(march(9), by_hour={9: bucket(minutes=10), 23: bucket(events=4)}),  # Monday
        rollup(march(11), by_hour={6: bucket(minutes=4)}),  # Wednesday
        rollup(march(14), by_hour={6: bucket(minutes=5)}),  # Saturday
    ]
    result = patterns(rollups, first=MARCH_2, last=MARCH_29)
    assert len(result.hours) == 24
    assert [h.hour for h in result.hours] == list(range(24))
    assert result.hours[7] == HourCount(hour=7, events=5, minutes=50.0)
    assert result.hours[23] == HourCount(hour=23, events=4, minutes=0.0)
    assert result.hours[0] == HourCount(hour=0, events=0, minutes=0.0)
    # 9:00 and 20:00 tie at 10 minutes: the earlier hour first. 6:00 (9 minutes) and 22:00 come
    # after them; 23:00 has events but no minutes.
    assert result.peak_hours == (7, 9, 20)
    assert result.weekdays == (
        WeekdayCount(weekday=1, events=10, minutes=55.0, active_days=2),
        WeekdayCount(weekday=2, events=0, minutes=0.0, active_days=0),
        WeekdayCount(weekday=3, events=3, minutes=24.0, active_days=2),
        WeekdayCount(weekday=4, events=0, minutes=0.0, active_days=0),
        WeekdayCount(weekday=5, events=0, minutes=0.0, active_days=0),
        WeekdayCount(weekday=6, events=1, minutes=5.0, active_days=1),
        WeekdayCount(weekday=7, events=0, minutes=0.0, active_days=0),
    )
    assert result.peak_weekdays == (1, 3)
    assert (result.days, result.active_days) == (28, 5)
    assert result.active_share == pytest.approx(5 / 28)
    assert result.average_daily_minutes_when_active == pytest.approx(84 / 5)


def test_patterns_ignore_days_outside_the_range() -> None:
    rollups = [studied(march(1), 600), studied(march(2), 10), studied(march(30), 600)]
    result = patterns(rollups, first=MARCH_2, last=MARCH_29)
    assert result.active_days == 1
    assert result.hours[7].minutes == 10.0
    assert result.average_daily_minutes_when_active == 10.0


def test_peak_weekdays_break_ties_by_the_earlier_weekday_and_keep_two() -> None:
    rollups = [studied(march(d), 10) for d in (8, 7, 6, 5)]  # Sunday to Thursday, equal
    assert patterns(rollups, first=MARCH_2, last=MARCH_29).peak_weekdays == (4, 5)


@pytest.mark.parametrize(
    ("days", "regularity"),
    [
        pytest.param((2, 5, 8, 11, 14, 17), 1.0, id="every-third-day"),
        pytest.param(tuple(range(2, 30)), 1.0, id="every-day"),
        pytest.param((2, 3, 5), 2 / 3, id="gaps-1-2"),
        pytest.param((2, 3, 11), 1 - 3.5 / 4.5, id="gaps-1-8"),
        pytest.param((2, 3, 4, 21), 0.0, id="bunched-capped-at-0"),
        pytest.param((2, 12), 0.0, id="two-days-too-few"),
        pytest.param((), 0.0, id="none"),
    ],
)
def test_regularity_is_one_minus_the_variation_of_the_gaps(
    days: tuple[int, ...], regularity: float
) -> None:
    rollups = [studied(march(d), 20) for d in days]
    assert patterns(rollups, first=MARCH_2, last=MARCH_29).regularity == pytest.approx(regularity)


LOW_SHARE_3 = "You studied on 3 of the last 28 days; short daily sessions beat long rare ones."
LOW_SHARE_4 = "You studied on 4 of the last 28 days; short daily sessions beat long rare ones."
NONE_STUDIED = "You did not study in the last 28 days; a short session is a good restart."
IRREGULAR = "Your study days are irregular: try fixing two or three days a week."
PEAK_AT_7 = "You study best around 7:00; keep your sessions there."
PEAK_AT_21 = "You study best around 21:00; keep your sessions there."
MONDAYS = "Monday is your strongest day; plan your longest session then."


def steady_days(hours: Mapping[int, float]) -> list[DailyRollup]:
    """Every day of the four weeks, the same minutes at the same hours."""
    return [
        rollup(
            MARCH_2 + timedelta(days=n),
            by_hour={hour: bucket(minutes=m) for hour, m in hours.items()},
        )
        for n in range(28)
    ]


@pytest.mark.parametrize(
    ("rollups", "suggestions"),
    [
        pytest.param(steady_days({7: 15, 8: 15}), (), id="steady-no-clear-peak-nothing-to-say"),
        pytest.param(
            steady_days({7: 30, 8: 25, 9: 25, 10: 20}), (), id="top-hour-under-40-percent"
        ),
        pytest.param(steady_days({21: 20, 8: 10}), (PEAK_AT_21,), id="clear-peak-hour"),
        pytest.param(
            [studied(march(d), 40) for d in (2, 3, 4, 21)],
            (LOW_SHARE_4, PEAK_AT_7),
            id="rare-bunched-days-share-advice-not-irregular",
        ),
        pytest.param(
            [studied(march(d), 2) for d in (3, 4, 5)],
            (LOW_SHARE_3, PEAK_AT_7),
            id="rare-short-days-no-advice-to-lengthen",
        ),
        pytest.param(
            [studied(march(d), 60) for d in (2, 9, 16, 23)],
            (LOW_SHARE_4, PEAK_AT_7, MONDAYS),
            id="rare-mondays",
        ),
        pytest.param(
            [studied(march(d), 40, hour=d % 24) for d in (*range(2, 10), 29)],
            (IRREGULAR,),
            id="irregular-but-not-rare",
        ),
        pytest.param(
            [studied(march(d), 20, hour=d % 4) for d in range(2, 30, 3)],
            (),
            id="regular-every-third-day",
        ),
        pytest.param([], (NONE_STUDIED,), id="no-activity"),
    ],
)
def test_suggestions(rollups: list[DailyRollup], suggestions: tuple[str, ...]) -> None:
    assert patterns(rollups, first=MARCH_2, last=MARCH_29).suggestions == suggestions


def test_no_peak_advice_from_fewer_than_three_active_days() -> None:
    rollups = [studied(march(2), 30), studied(march(4), 30)]
    result = patterns(rollups, first=MARCH_2, last=march(5))
    assert result.active_share == 0.5
    assert result.peak_hours == (7,)
    assert result.suggestions == ()


def test_at_most_three_suggestions_in_rule_order() -> None:
    # Nine days, bunched: Mondays 8 minutes, the other days 2, all at 7:00. Irregular, short days,
    # a clear peak hour and a clear peak weekday all apply; the weekday advice is the fourth.
    days = [*range(2, 10), 29]
    rollups = [studied(march(d), 8 if march(d).isoweekday() == 1 else 2) for d in days]
    result = patterns(rollups, first=MARCH_2, last=MARCH_29)
    assert result.active_share == pytest.approx(9 / 28)
    assert result.regularity == 0.0
    assert result.peak_weekdays == (1, 7)
    assert result.suggestions == (
        IRREGULAR,
        "Your study days average 3 minutes; aim for at least 10.",
        PEAK_AT_7,
    )


def test_no_activity_gives_empty_patterns() -> None:
    result = patterns([], first=MARCH_2, last=MARCH_29)
    assert result.peak_hours == result.peak_weekdays == ()
    assert (result.active_days, result.active_share, result.regularity) == (0, 0.0, 0.0)
    assert result.average_daily_minutes_when_active == 0.0
    assert all(h.events == 0 and h.minutes == 0.0 for h in result.hours)
    assert [w.weekday for w in result.weekdays] == [1, 2, 3, 4, 5, 6, 7]


# heatmap


def test_heatmap_covers_every_day_oldest_first() -> None:
    last = march(29)
    cells = heatmap([studied(last, 20), studied(last - timedelta(days=89), 5)], last=last)
    assert len(cells) == 90
    assert cells[0] == HeatmapDay(day=last - timedelta(days=89), minutes=5.0, band=1)
    assert cells[-1] == HeatmapDay(day=last, minutes=20.0, band=2)
    assert [c.day for c in cells] == [last - timedelta(days=89 - n) for n in range(90)]
    assert sum(1 for c in cells if c.band == 0) == 88


def test_heatmap_ignores_days_outside_the_window() -> None:
    last = march(29)
    cells = heatmap(
        [studied(last + timedelta(days=1), 90), studied(last - timedelta(days=7), 90)],
        last=last,
        days=7,
    )
    assert [(c.day, c.band) for c in cells] == [(last - timedelta(days=6 - n), 0) for n in range(7)]


@pytest.mark.parametrize(
    ("seconds", "events", "band"),
    [
        pytest.param(0, 0, 0, id="no-activity"),
        pytest.param(0, 1, 1, id="events-without-time"),
        pytest.param(899, 1, 1, id="just-under-15"),
        pytest.param(900, 1, 2, id="15"),
        pytest.param(1799, 1, 2, id="just-under-30"),
        pytest.param(1800, 1, 3, id="30"),
        pytest.param(3599, 1, 3, id="just-under-60"),
        pytest.param(3600, 1, 4, id="60"),
        pytest.param(5 * 3600, 1, 4, id="five-hours"),
    ],
)
def test_heatmap_bands(seconds: int, events: int, band: int) -> None:
    day = march(10)
    total = ActivityBucket(events=events, time_spent_seconds=seconds)
    (cell,) = heatmap([rollup(day, total=total)], last=day, days=1)
    assert cell == HeatmapDay(day=day, minutes=seconds / 60, band=band)


def test_heatmap_thresholds_are_15_30_60_minutes() -> None:
    assert HEATMAP_BAND_MINUTES == (15.0, 30.0, 60.0)


def test_heatmap_needs_at_least_one_day() -> None:
    with pytest.raises(InvalidInput) as error:
        heatmap([], last=march(10), days=0)
    assert error.value.field == "days"


# progress against a target


def test_progress_against_target_line_and_cumulative_completions() -> None:
    rollups = [
        completed(march(1), 4),  # before the range: part of start_completed, not counted again
        completed(march(4), 2),
        completed(march(2), 1),
        completed(march(9), 3),
        completed(march(9), 1),
        completed(march(15), 9),  # after the range
    ]
    points = progress_against_target(
        rollups,
        first=march(2),
        last=march(14),
        start_completed=10,
        goal=30,
        target_date=march(12),
    )
    # The line climbs 2 a day from 10 on 2 March to 30 on 12 March, then stays at 30.
    assert points == [
        TargetPoint(day=march(2), completed=11, target=10.0),
        TargetPoint(day=march(3), completed=11, target=12.0),
        TargetPoint(day=march(4), completed=13, target=14.0),
        TargetPoint(day=march(5), completed=13, target=16.0),
        TargetPoint(day=march(6), completed=13, target=18.0),
        TargetPoint(day=march(7), completed=13, target=20.0),
        TargetPoint(day=march(8), completed=13, target=22.0),
        TargetPoint(day=march(9), completed=17, target=24.0),
        TargetPoint(day=march(10), completed=17, target=26.0),
        TargetPoint(day=march(11), completed=17, target=28.0),
        TargetPoint(day=march(12), completed=17, target=30.0),
        TargetPoint(day=march(13), completed=17, target=30.0),
        TargetPoint(day=march(14), completed=17, target=30.0),
    ]


@pytest.mark.parametrize(
    ("start_completed", "goal", "target_date", "targets"),
    [
        pytest.param(0, 10, march(5), [0.0, 10 / 3, 20 / 3, 10.0, 10.0], id="fractional-slope"),
        pytest.param(3, 7, march(2), [7.0] * 5, id="target-on-the-first-day"),
        pytest.param(12, 7, march(6), [7.0] * 5, id="already-past-the-goal"),
        pytest.param(0, 0, march(4), [0.0] * 5, id="goal-zero"),
        pytest.param(0, 100, march(31), [0.0, 100 / 29, 200 / 29, 300 / 29, 400 / 29], id="far"),
    ],
)
def test_target_line(
    start_completed: int, goal: int, target_date: date, targets: list[float]
) -> None:
    points = progress_against_target(
        [],
        first=march(2),
        last=march(6),
        start_completed=start_completed,
        goal=goal,
        target_date=target_date,
    )
    assert [p.target for p in points] == pytest.approx(targets)
    assert [p.completed for p in points] == [start_completed] * 5


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"goal": -1}, "goal", id="negative-goal"),
        pytest.param({"target_date": march(1)}, "targetDate", id="target-before-first"),
        pytest.param({"start_completed": -1}, "startCompleted", id="negative-start"),
        pytest.param({"last": march(1)}, "last", id="last-before-first"),
    ],
)
def test_progress_against_target_validation_names_the_field(
    overrides: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {
        "first": march(2),
        "last": march(6),
        "start_completed": 0,
        "goal": 10,
        "target_date": march(10),
        **overrides,
    }
    with pytest.raises(InvalidInput) as error:
        progress_against_target([], **arguments)  # type: ignore[arg-type]
    assert error.value.field == field


# completion forecast

TODAY = march(28)  # the 28-day window is 1..28 March; its weeks end on the 7th, 14th, 21st, 28th


def weekly(*counts: int) -> list[DailyRollup]:
    """Completions per week of the window, newest week first, all on the week's last day."""
    return [completed(TODAY - timedelta(days=7 * n), count) for n, count in enumerate(counts)]


def in_days(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.mark.parametrize(
    ("rollups", "remaining", "expected"),
    [
        pytest.param(
            [completed(march(d), 1) for d in range(1, 29)],
            10,
            Forecast(10, 1.0, in_days(10), in_days(10), in_days(10)),
            id="one-a-day",
        ),
        pytest.param(
            weekly(2, 2, 2, 2),
            5,
            Forecast(5, 2 / 7, in_days(18), in_days(18), in_days(18)),
            id="two-a-week-ceil-17.5",
        ),
        pytest.param(
            weekly(7, 3, 2, 2),
            10,
            Forecast(10, 0.5, in_days(20), in_days(10), in_days(35)),
            id="varying-weeks",
        ),
        pytest.param(
            weekly(14, 0, 0, 0),
            10,
            Forecast(10, 0.5, in_days(20), in_days(5), in_days(40)),
            id="one-active-week-latest-doubles",
        ),
        pytest.param(
            weekly(0, 0, 7, 7),
            10,
            Forecast(10, 0.5, in_days(20), in_days(10), in_days(40)),
            id="idle-weeks-below-every-active-one-latest-doubles",
        ),
        pytest.param(
            [*weekly(0, 0, 0, 0), completed(march(29), 5), completed(date(2026, 2, 28), 5)],
            3,
            Forecast(3, 0.0, None, None, None),
            id="zero-pace-days-outside-the-window-ignored",
        ),
        pytest.param([], 0, Forecast(0, 0.0, TODAY, TODAY, TODAY), id="nothing-remaining-no-pace"),
        pytest.param(
            weekly(7, 7, 7, 7),
            0,
            Forecast(0, 1.0, TODAY, TODAY, TODAY),
            id="nothing-remaining",
        ),
    ],
)
def test_forecast_completion(
    rollups: list[DailyRollup], remaining: int, expected: Forecast
) -> None:
    forecast = forecast_completion(rollups, today=TODAY, remaining=remaining)
    assert forecast.pace_per_day == pytest.approx(expected.pace_per_day)
    assert replace(forecast, pace_per_day=expected.pace_per_day) == expected


def test_forecast_days_are_exact_not_rounded_floats() -> None:
    # 17 / (17 / 28) is 28.000000000000004 in floating point; the forecast says 28 days.
    forecast = forecast_completion([completed(TODAY, 17)], today=TODAY, remaining=17)
    assert forecast.pace_per_day == pytest.approx(17 / 28)
    assert (forecast.expected, forecast.earliest) == (in_days(28), in_days(7))


def test_forecast_with_a_window_that_is_not_whole_weeks() -> None:
    # Ten days: a full week ending today and the three days before it.
    rollups = [completed(TODAY, 7), completed(TODAY - timedelta(days=9), 3)]
    forecast = forecast_completion(rollups, today=TODAY, remaining=10, window_days=10)
    assert forecast == Forecast(10, 1.0, in_days(10), in_days(10), in_days(10))
    forecast = forecast_completion(rollups[:1], today=TODAY, remaining=7, window_days=10)
    assert forecast == Forecast(7, 0.7, in_days(10), in_days(7), in_days(20))


def test_forecast_range_is_ordered_for_any_weekly_counts() -> None:
    for counts in itertools.product(range(4), repeat=4):
        if not any(counts):
            continue
        for remaining in (1, 7, 20):
            forecast = forecast_completion(weekly(*counts), today=TODAY, remaining=remaining)
            assert forecast.earliest is not None
            assert forecast.expected is not None
            assert forecast.latest is not None
            assert forecast.earliest <= forecast.expected <= forecast.latest, (counts, remaining)


@pytest.mark.parametrize(
    ("remaining", "window_days", "field"),
    [
        pytest.param(-1, 28, "remaining", id="negative-remaining"),
        pytest.param(5, 0, "windowDays", id="empty-window"),
    ],
)
def test_forecast_validation_names_the_field(remaining: int, window_days: int, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        forecast_completion([], today=TODAY, remaining=remaining, window_days=window_days)
    assert error.value.field == field


def test_sessions_are_runs_of_consecutive_active_hours() -> None:
    from domain.trends import sessions_in

    bucket = ActivityBucket(events=1, time_spent_seconds=600)
    day = DailyRollup(
        "ada", date(2026, 3, 10), by_hour={7: bucket, 8: bucket, 12: bucket, 20: bucket}
    )
    spread = patterns([day], first=date(2026, 3, 10), last=date(2026, 3, 10))

    assert sessions_in(day) == 3
    assert sessions_in(DailyRollup("ada", date(2026, 3, 10))) == 0
    assert spread.sessions == 0 or spread.sessions == 3


def test_sessions_are_the_days_session_ids_when_events_send_them() -> None:
    from domain.trends import sessions_in

    bucket = ActivityBucket(events=1, time_spent_seconds=600)
    day = DailyRollup(
        "ada", date(2026, 3, 10), by_hour={7: bucket, 8: bucket}, sessions=frozenset({"a", "b"})
    )

    assert sessions_in(day) == 2
