"""Streaks: consecutive local calendar days with activity.

Active days are kept as sorted, non-overlapping runs of consecutive days. A late event fills its
day wherever it falls, merging the runs on either side, so the state stays a handful of pairs
however long the history, and out-of-order events give the same answer as ordered ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

DayRun = tuple[date, date]  # first and last day, inclusive
ONE_DAY = timedelta(days=1)
DEFAULT_AT_RISK_HOUR = 18


def add_day(runs: Sequence[DayRun], day: date) -> tuple[DayRun, ...]:
    """The runs with `day` marked active; unchanged if it already was."""
    merged: list[DayRun] = []
    first, last = day, day
    for start, end in runs:
        if end + ONE_DAY < first or start - ONE_DAY > last:
            merged.append((start, end))
        else:
            first, last = min(first, start), max(last, end)
    merged.append((first, last))
    return tuple(sorted(merged))


def run_length(run: DayRun) -> int:
    return (run[1] - run[0]).days + 1


def longest_streak(runs: Sequence[DayRun]) -> int:
    return max((run_length(run) for run in runs), default=0)


@dataclass(frozen=True, slots=True)
class Streak:
    current: int
    longest: int
    last_active: date | None
    active_today: bool
    at_risk: bool = False


def streak_on(
    runs: Sequence[DayRun],
    *,
    today: date,
    local_hour: int,
    at_risk_hour: int = DEFAULT_AT_RISK_HOUR,
) -> Streak:
    """The streak as seen on the learner's local `today` at `local_hour`.

    A streak that ended yesterday is still alive: today can extend it. Past `at_risk_hour` with no
    activity yet today, it is at risk.
    """
    # Days after `today` (possible after a change of time zone) do not count yet.
    past = [(first, min(last, today)) for first, last in runs if first <= today]
    if not past:
        return Streak(current=0, longest=0, last_active=None, active_today=False)
    last_run = past[-1]
    last_active = min(last_run[1], today)
    active_today = last_active == today
    alive = last_active >= today - ONE_DAY
    current = (last_active - last_run[0]).days + 1 if alive else 0
    return Streak(
        current=current,
        longest=longest_streak(past),
        last_active=last_active,
        active_today=active_today,
        at_risk=alive and not active_today and local_hour >= at_risk_hour,
    )
