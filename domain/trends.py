"""Trends: chart-ready analytics computed from a learner's daily rollups.

Every function takes the rollups as they come (any order, days without activity absent) and reads
only the days of the range it is asked about; two rollups for the same day add up. Days are local
calendar days of the learner (`domain.activity`), so weeks and months are local too. A day is
active when its bucket holds at least one event; minutes are `time_spent_seconds / 60`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from statistics import fmean, pstdev

from domain.activity import ActivityBucket, DailyRollup, merge_buckets, merge_slices
from domain.errors import InvalidInput

ONE_DAY = timedelta(days=1)
ZERO = ActivityBucket()

HOURS_IN_DAY = 24
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_PEAK_HOURS = 3
MAX_PEAK_WEEKDAYS = 2
CLEAR_PEAK_SHARE = 0.4  # a peak is clear when it holds this share of all minutes, and no tie
MIN_ACTIVE_DAYS_FOR_HABITS = 3  # regularity and peak advice need this many active days
LOW_ACTIVE_SHARE = 0.3
IRREGULAR_BELOW = 0.5
SHORT_DAY_MINUTES = 10.0
MAX_SUGGESTIONS = 3

# Heatmap bands for an active day: 1 under 15 minutes, 2 under 30, 3 under 60, 4 from 60 on.
HEATMAP_BAND_MINUTES = (15.0, 30.0, 60.0)
DEFAULT_HEATMAP_DAYS = 90

DEFAULT_FORECAST_WINDOW_DAYS = 28  # four full weeks
FORECAST_WEEK_DAYS = 7


# Both buckets added up field by field (the average score follows from the sums).
merge = merge_buckets


def _merge_into(target: dict[str, ActivityBucket], source: Mapping[str, ActivityBucket]) -> None:
    target.update(merge_slices(target, source))


def _minutes(bucket: ActivityBucket) -> float:
    return bucket.time_spent_seconds / 60


def _active(bucket: ActivityBucket) -> bool:
    return bucket.events > 0


def _check_range(first: date, last: date) -> None:
    if last < first:
        raise InvalidInput("last", "must not be before first")


def _in_range(rollups: Iterable[DailyRollup], first: date, last: date) -> list[DailyRollup]:
    return [rollup for rollup in rollups if first <= rollup.day <= last]


def _totals_by_day(rollups: Iterable[DailyRollup]) -> dict[date, ActivityBucket]:
    totals: dict[date, ActivityBucket] = {}
    for rollup in rollups:
        totals[rollup.day] = merge(totals.get(rollup.day, ZERO), rollup.total)
    return totals


# Series


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One period of a series; `start` and `end` (inclusive) are clipped to the requested range."""

    start: date
    end: date
    label: str
    total: ActivityBucket
    by_category: Mapping[str, ActivityBucket]
    by_difficulty: Mapping[str, ActivityBucket]
    by_certification: Mapping[str, ActivityBucket]
    active_days: int


def period_start(day: date, period: Period) -> date:
    """The first day of the period holding `day`: itself, its ISO week's Monday, the 1st."""
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(day: date, period: Period) -> date:
    """The last day of the period holding `day`: itself, its ISO week's Sunday, the month's end."""
    start = period_start(day, period)
    if period is Period.DAY:
        return start
    if period is Period.WEEK:
        return start + timedelta(days=6)
    next_month = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return next_month - ONE_DAY


def period_label(day: date, period: Period) -> str:
    """`2026-03-10` for a day, the ISO week `2026-W11` for a week, `2026-03` for a month.

    The ISO week belongs to the ISO year of its Thursday: 2026-12-28..2027-01-03 is `2026-W53`.
    """
    if period is Period.DAY:
        return day.isoformat()
    if period is Period.WEEK:
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return f"{day.year:04d}-{day.month:02d}"


def series(
    rollups: Iterable[DailyRollup],
    *,
    period: Period,
    first: date,
    last: date,
    certification: str | None = None,
) -> list[SeriesPoint]:
    """One point per period overlapping [first, last], oldest first, empty periods included.

    Weeks are ISO weeks (Monday to Sunday) of the local calendar, labelled with their ISO year and
    number. The first and last points are clipped to the range: their `start` and `end` are the
    part of the period inside it, and only those days count. A point's buckets are the sums of its
    days' buckets (`merge`); `active_days` counts its days with at least one event.

    With `certification`, each day contributes only its `by_certification[certification]` bucket:
    that bucket is the point's `total`, `active_days` counts the days with events for it, and
    `by_category`, `by_difficulty` and `by_certification` are empty, because rollups do not
    cross-tabulate a certification with the other breakdowns.
    """
    _check_range(first, last)
    by_period: dict[date, list[DailyRollup]] = {}
    for rollup in _in_range(rollups, first, last):
        by_period.setdefault(period_start(rollup.day, period), []).append(rollup)
    points: list[SeriesPoint] = []
    start = period_start(first, period)
    while start <= last:
        end = period_end(start, period)
        clipped_start, clipped_end = max(start, first), min(end, last)
        in_period = by_period.get(start, [])
        points.append(
            _point(
                in_period, clipped_start, clipped_end, period_label(start, period), certification
            )
        )
        start = end + ONE_DAY
    return points


def weekly_series(
    weeks: Iterable[DailyRollup],
    *,
    first: date,
    last: date,
    active_runs: Sequence[tuple[date, date]] = (),
    certification: str | None = None,
) -> list[SeriesPoint]:
    """The weekly series from weekly rollups (each keyed by its week's Monday): one point per
    whole ISO week from the week of `first` to the week of `last`, empty weeks included.

    Weekly rollups are kept whole, so points are not clipped: the first starts on a Monday, the
    last ends on a Sunday. Without the days, a week's `active_days` comes from the learner's
    runs of active days (`active_runs`, as totals keep them; with `certification`, the days
    active on anything). Buckets and the certification filter are as in `series`.
    """
    _check_range(first, last)
    by_monday = {rollup.day: rollup for rollup in weeks}
    points: list[SeriesPoint] = []
    start = period_start(first, Period.WEEK)
    while start <= last:
        end = period_end(start, Period.WEEK)
        week = by_monday.get(start)
        point = _point(
            [week] if week else [], start, end, period_label(start, Period.WEEK), certification
        )
        active = sum(
            max(0, (min(run_last, end) - max(run_first, start)).days + 1)
            for run_first, run_last in active_runs
        )
        points.append(replace(point, active_days=active if week else 0))
        start = end + ONE_DAY
    return points


def _point(
    rollups: Sequence[DailyRollup], start: date, end: date, label: str, certification: str | None
) -> SeriesPoint:
    total = ZERO
    by_category: dict[str, ActivityBucket] = {}
    by_difficulty: dict[str, ActivityBucket] = {}
    by_certification: dict[str, ActivityBucket] = {}
    active: set[date] = set()
    for rollup in rollups:
        if certification is not None:
            bucket = rollup.by_certification.get(certification, ZERO)
        else:
            bucket = rollup.total
            _merge_into(by_category, rollup.by_category)
            _merge_into(by_difficulty, rollup.by_difficulty)
            _merge_into(by_certification, rollup.by_certification)
        total = merge(total, bucket)
        if _active(bucket):
            active.add(rollup.day)
    return SeriesPoint(
        start=start,
        end=end,
        label=label,
        total=total,
        by_category=by_category,
        by_difficulty=by_difficulty,
        by_certification=by_certification,
        active_days=len(active),
    )


# Patterns


@dataclass(frozen=True, slots=True)
class HourCount:
    hour: int  # local hour, 0-23
    events: int
    minutes: float


@dataclass(frozen=True, slots=True)
class WeekdayCount:
    weekday: int  # ISO: 1 is Monday, 7 is Sunday
    events: int
    minutes: float
    active_days: int


@dataclass(frozen=True, slots=True)
class LearningPatterns:
    hours: tuple[HourCount, ...]  # 24 entries, hour 0 first
    weekdays: tuple[WeekdayCount, ...]  # 7 entries, Monday first
    peak_hours: tuple[int, ...]
    peak_weekdays: tuple[int, ...]  # ISO weekdays
    days: int  # days in the range
    active_days: int
    active_share: float
    regularity: float
    average_daily_minutes_when_active: float
    suggestions: tuple[str, ...]
    sessions: int = 0
    average_session_minutes: float = 0.0


def sessions_in(rollup: DailyRollup) -> int:
    """A day's study sessions: the distinct `sessionId`s its events sent, or, when they sent
    none, its runs of consecutive local hours with activity (Cairn keeps no event stream per
    learner to measure gaps on, so a session is read from the hours it spans)."""
    if rollup.sessions:
        return len(rollup.sessions)
    hours = sorted(h for h, bucket in rollup.by_hour.items() if _active(bucket))
    return sum(1 for i, hour in enumerate(hours) if i == 0 or hours[i - 1] != hour - 1)


def patterns(rollups: Iterable[DailyRollup], *, first: date, last: date) -> LearningPatterns:
    """When and how steadily the learner studied over [first, last].

    - `hours`: events and minutes per local hour, from the rollups' `by_hour`.
    - `weekdays`: events, minutes and active days per ISO weekday, from the daily totals.
    - `peak_hours`: the hours holding the most minutes, most first, ties by earlier hour; only
      hours with some study time; at most MAX_PEAK_HOURS. `peak_weekdays`: the same for weekdays,
      at most MAX_PEAK_WEEKDAYS.
    - `active_share`: active days / days in the range.
    - `regularity`: 1 - the coefficient of variation (population standard deviation / mean) of the
      gaps in days between consecutive active days, capped at 1, so evenly spaced days score 1 and
      bunched ones near 0; 0 with fewer than MIN_ACTIVE_DAYS_FOR_HABITS active days.
    - `average_daily_minutes_when_active`: minutes / active days; 0 with no active day.
    - `sessions`: runs of consecutive active hours, day by day (`sessions_in`);
      `average_session_minutes`: minutes / sessions.

    `suggestions`, at most MAX_SUGGESTIONS, in this order:

    1. Active share under LOW_ACTIVE_SHARE: study more often ("You studied on 3 of the last 28
       days; short daily sessions beat long rare ones.").
    2. Otherwise, regularity under IRREGULAR_BELOW with enough active days: fix study days. Left out
       after 1, whose advice is daily sessions, not two or three days a week.
    3. Otherwise, active days averaging under SHORT_DAY_MINUTES: longer sessions. Left out after 1,
       which favours short sessions.
    4. A clear peak hour: the top hour holds at least CLEAR_PEAK_SHARE of all minutes, strictly
       more than any other hour, over at least MIN_ACTIVE_DAYS_FOR_HABITS active days.
    5. A clear peak weekday, by the same rule.
    """
    _check_range(first, last)
    days = _in_range(rollups, first, last)
    hour_events = [0] * HOURS_IN_DAY
    hour_minutes = [0.0] * HOURS_IN_DAY
    for rollup in days:
        for hour, bucket in rollup.by_hour.items():
            if 0 <= hour < HOURS_IN_DAY:
                hour_events[hour] += bucket.events
                hour_minutes[hour] += _minutes(bucket)
    totals = _totals_by_day(days)
    active_days = sorted(day for day, bucket in totals.items() if _active(bucket))
    weekday_events = [0] * 7
    weekday_minutes = [0.0] * 7
    weekday_active = [0] * 7
    for day, bucket in totals.items():
        weekday_events[day.weekday()] += bucket.events
        weekday_minutes[day.weekday()] += _minutes(bucket)
        weekday_active[day.weekday()] += 1 if _active(bucket) else 0

    day_count = (last - first).days + 1
    minutes = sum(_minutes(bucket) for bucket in totals.values())
    average = minutes / len(active_days) if active_days else 0.0
    regularity = _regularity(active_days)
    sessions = sum(sessions_in(rollup) for rollup in days)
    peak_hours = _peaks(hour_minutes, MAX_PEAK_HOURS, numbered_from=0)
    peak_weekdays = _peaks(weekday_minutes, MAX_PEAK_WEEKDAYS, numbered_from=1)
    suggestions = _suggestions(
        active_days=len(active_days),
        days=day_count,
        regularity=regularity,
        average_minutes=average,
        clear_peak_hour=peak_hours[0] if _has_clear_peak(hour_minutes) else None,
        clear_peak_weekday=peak_weekdays[0] if _has_clear_peak(weekday_minutes) else None,
    )
    return LearningPatterns(
        hours=tuple(
            HourCount(hour=hour, events=hour_events[hour], minutes=hour_minutes[hour])
            for hour in range(HOURS_IN_DAY)
        ),
        weekdays=tuple(
            WeekdayCount(
                weekday=index + 1,
                events=weekday_events[index],
                minutes=weekday_minutes[index],
                active_days=weekday_active[index],
            )
            for index in range(7)
        ),
        peak_hours=peak_hours,
        peak_weekdays=peak_weekdays,
        days=day_count,
        active_days=len(active_days),
        active_share=len(active_days) / day_count,
        regularity=regularity,
        average_daily_minutes_when_active=average,
        suggestions=suggestions,
        sessions=sessions,
        average_session_minutes=minutes / sessions if sessions else 0.0,
    )


def _suggestions(
    *,
    active_days: int,
    days: int,
    regularity: float,
    average_minutes: float,
    clear_peak_hour: int | None,
    clear_peak_weekday: int | None,
) -> tuple[str, ...]:
    """The rules of `patterns`, in its order, capped at MAX_SUGGESTIONS."""
    advice: list[str] = []
    enough_days = active_days >= MIN_ACTIVE_DAYS_FOR_HABITS
    if active_days / days < LOW_ACTIVE_SHARE:
        advice.append(_low_share_advice(active_days, days))
    else:
        if enough_days and regularity < IRREGULAR_BELOW:
            advice.append("Your study days are irregular: try fixing two or three days a week.")
        if active_days and average_minutes < SHORT_DAY_MINUTES:
            advice.append(
                f"Your study days average {math.floor(average_minutes)} minutes; "
                f"aim for at least {SHORT_DAY_MINUTES:.0f}."
            )
    if enough_days and clear_peak_hour is not None:
        advice.append(f"You study best around {clear_peak_hour}:00; keep your sessions there.")
    if enough_days and clear_peak_weekday is not None:
        name = WEEKDAY_NAMES[clear_peak_weekday - 1]
        advice.append(f"{name} is your strongest day; plan your longest session then.")
    return tuple(advice[:MAX_SUGGESTIONS])


def _regularity(active_days: Sequence[date]) -> float:
    if len(active_days) < MIN_ACTIVE_DAYS_FOR_HABITS:
        return 0.0
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(active_days)]
    variation = pstdev(gaps) / fmean(gaps)
    return 1.0 - min(variation, 1.0)


def _peaks(minutes: Sequence[float], limit: int, *, numbered_from: int) -> tuple[int, ...]:
    """The entries holding the most minutes, most first, ties by earlier entry, none at 0."""
    ranked = sorted(
        (index for index, value in enumerate(minutes) if value > 0),
        key=lambda index: (-minutes[index], index),
    )
    return tuple(index + numbered_from for index in ranked[:limit])


def _has_clear_peak(minutes: Sequence[float]) -> bool:
    """Whether the top entry holds CLEAR_PEAK_SHARE of the sum and no other entry equals it."""
    total = sum(minutes)
    ranked = sorted(minutes, reverse=True)
    return total > 0 and ranked[0] / total >= CLEAR_PEAK_SHARE and ranked[0] > ranked[1]


def _low_share_advice(active_days: int, days: int) -> str:
    span = "day" if days == 1 else f"{days} days"
    if active_days == 0:
        return f"You did not study in the last {span}; a short session is a good restart."
    return (
        f"You studied on {active_days} of the last {span}; "
        "short daily sessions beat long rare ones."
    )


# Heatmap


@dataclass(frozen=True, slots=True)
class HeatmapDay:
    day: date
    minutes: float
    band: int  # 0 for no activity, else 1..4 by HEATMAP_BAND_MINUTES


def heatmap_band(bucket: ActivityBucket) -> int:
    """0 for a day without events; otherwise 1 + the number of HEATMAP_BAND_MINUTES thresholds the
    day's minutes reach: 1 under 15 minutes, 2 under 30, 3 under 60, 4 from 60 on."""
    if not _active(bucket):
        return 0
    minutes = _minutes(bucket)
    return 1 + sum(1 for threshold in HEATMAP_BAND_MINUTES if minutes >= threshold)


def heatmap(
    rollups: Iterable[DailyRollup], *, last: date, days: int = DEFAULT_HEATMAP_DAYS
) -> list[HeatmapDay]:
    """The `days` days ending with `last`, oldest first, every day included (band 0 if idle)."""
    if days < 1:
        raise InvalidInput("days", "must be at least 1")
    first = last - timedelta(days=days - 1)
    totals = _totals_by_day(_in_range(rollups, first, last))
    cells: list[HeatmapDay] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        bucket = totals.get(day, ZERO)
        cells.append(HeatmapDay(day=day, minutes=_minutes(bucket), band=heatmap_band(bucket)))
    return cells


# Progress against a target


@dataclass(frozen=True, slots=True)
class TargetPoint:
    day: date
    completed: int  # start_completed + completions from `first` to `day`, inclusive
    target: float  # the target line on `day`


def progress_against_target(
    rollups: Iterable[DailyRollup],
    *,
    first: date,
    last: date,
    start_completed: int,
    goal: int,
    target_date: date,
) -> list[TargetPoint]:
    """One point per day of [first, last]: completions so far against a straight target line.

    `start_completed` is what the learner had completed before `first`; `completed` adds every
    completion from `first` up to and including the day. The target line runs straight from
    `start_completed` on `first` to `goal` on `target_date` and is capped at `goal` (so it stays
    flat after `target_date`, and at `goal` throughout when the learner starts at or past it);
    when `target_date` is `first`, it is `goal` from the start.
    """
    _check_range(first, last)
    if goal < 0:
        raise InvalidInput("goal", "must not be negative")
    if start_completed < 0:
        raise InvalidInput("startCompleted", "must not be negative")
    if target_date < first:
        raise InvalidInput("targetDate", "must not be before the first day")
    totals = _totals_by_day(_in_range(rollups, first, last))
    span = (target_date - first).days
    points: list[TargetPoint] = []
    completed = start_completed
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        completed += totals.get(day, ZERO).completions
        line = start_completed + (goal - start_completed) * offset / span if span else goal
        points.append(TargetPoint(day=day, completed=completed, target=float(min(line, goal))))
    return points


# Completion forecast


@dataclass(frozen=True, slots=True)
class Forecast:
    remaining: int
    pace_per_day: float  # completions per day over the window
    expected: date | None
    earliest: date | None
    latest: date | None


def forecast_completion(
    rollups: Iterable[DailyRollup],
    *,
    today: date,
    remaining: int,
    window_days: int = DEFAULT_FORECAST_WINDOW_DAYS,
) -> Forecast:
    """When the `remaining` items will be completed at the recent pace.

    The window is the `window_days` days ending with `today`, inclusive. The pace is the window's
    completions / `window_days`, and `expected` is today + ceil(remaining / pace) days.

    The range comes from the window's weeks: 7-day blocks counted back from `today` (the oldest is
    shorter when `window_days` is not a multiple of 7), each with its own daily pace (completions
    / its days). `earliest` uses the best block's pace. `latest` uses the worst block's pace among
    those with completions; when that pace is above the window's (idle blocks dragged the average
    below every active one, as always when only one block has completions), it would come before
    `expected`, so `latest` is today + 2 x (expected - today) instead. Hence
    earliest <= expected <= latest.

    With nothing remaining all three dates are `today`; with a pace of 0 they are None.
    """
    if remaining < 0:
        raise InvalidInput("remaining", "must not be negative")
    if window_days < 1:
        raise InvalidInput("windowDays", "must be at least 1")
    first = today - timedelta(days=window_days - 1)
    totals = _totals_by_day(_in_range(rollups, first, today))
    blocks: list[tuple[int, int]] = []  # (completions, days)
    end = today
    while end >= first:
        start = max(end - timedelta(days=FORECAST_WEEK_DAYS - 1), first)
        count = sum(bucket.completions for day, bucket in totals.items() if start <= day <= end)
        blocks.append((count, (end - start).days + 1))
        end = start - ONE_DAY
    completions = sum(count for count, _ in blocks)
    pace = Fraction(completions, window_days)
    if remaining == 0:
        return Forecast(remaining, float(pace), today, today, today)
    if completions == 0:
        return Forecast(remaining, float(pace), None, None, None)
    paces = [Fraction(count, length) for count, length in blocks if count > 0]
    expected_days = _days_to_finish(remaining, pace)
    worst = min(paces)
    latest_days = _days_to_finish(remaining, worst) if worst <= pace else 2 * expected_days
    return Forecast(
        remaining=remaining,
        pace_per_day=float(pace),
        expected=today + timedelta(days=expected_days),
        earliest=today + timedelta(days=_days_to_finish(remaining, max(paces))),
        latest=today + timedelta(days=latest_days),
    )


def _days_to_finish(remaining: int, pace: Fraction) -> int:
    """ceil(remaining / pace), exactly."""
    return math.ceil(remaining / pace)
