"""Streaks: consecutive local calendar days with activity.

Active days are kept as sorted, non-overlapping runs of consecutive days. A late event fills its
day wherever it falls, merging the runs on either side, so the state stays a handful of pairs
however long the history, and out-of-order events give the same answer as ordered ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

DayRun = tuple[date, date]  # first and last day, inclusive
ONE_DAY = timedelta(days=1)
DEFAULT_AT_RISK_HOUR = 18
# Streak freezes, as Duolingo has them: a freeze covers one missed day, so the streak lives on
# (a frozen day keeps the streak, it does not lengthen it). At most MAX_FREEZES are held; one is
# earned for every FREEZE_EVERY active days of a streak, and educators, guardians and admins can
# grant them.
MAX_FREEZES = 2
FREEZE_EVERY = 7


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


def remove_day(runs: Sequence[DayRun], day: date) -> tuple[DayRun, ...]:
    """The runs without `day` (a run containing it splits in two)."""
    out: list[DayRun] = []
    for start, end in runs:
        if start <= day <= end:
            if start < day:
                out.append((start, day - ONE_DAY))
            if day < end:
                out.append((day + ONE_DAY, end))
        else:
            out.append((start, end))
    return tuple(out)


def contains(runs: Sequence[DayRun], day: date) -> bool:
    return any(start <= day <= end for start, end in runs)


def merged(a: Sequence[DayRun], b: Sequence[DayRun]) -> tuple[DayRun, ...]:
    """The days of both, as runs."""
    out: tuple[DayRun, ...] = tuple(a)
    for start, end in b:
        day = start
        while day <= end:
            out = add_day(out, day)
            day += ONE_DAY
    return out


def active_within(runs: Sequence[DayRun], first: date, last: date) -> int:
    """How many days of `runs` fall in [first, last]."""
    total = 0
    for start, end in runs:
        low, high = max(start, first), min(end, last)
        if low <= high:
            total += (high - low).days + 1
    return total


def longest_chain(active: Sequence[DayRun], frozen: Sequence[DayRun] = ()) -> int:
    """The longest streak: the most active days in one chain of active or frozen days."""
    if not frozen:
        return longest_streak(active)
    return max(
        (active_within(active, first, last) for first, last in merged(active, frozen)),
        default=0,
    )


@dataclass(frozen=True, slots=True)
class FreezeChange:
    """What marking one more active day did to the freezes."""

    frozen: tuple[DayRun, ...]
    held: int
    spent: tuple[date, ...] = ()  # missed days a held freeze now covers
    earned: int = 0
    refunded: int = 0  # frozen days that turned out active (a late event)


def mark_active(
    active: Sequence[DayRun], frozen: Sequence[DayRun], held: int, day: date
) -> FreezeChange:
    """Freezes after `day` is marked active (`active` does not hold it yet).

    A new day after a gap that the held freezes can cover spends them on the missed days; a
    frozen day that turns out active gives its freeze back; every FREEZE_EVERY active days in the
    day's chain earn one. Held freezes never exceed MAX_FREEZES.
    """
    if contains(active, day):
        return FreezeChange(frozen=tuple(frozen), held=held)
    frozen_runs: tuple[DayRun, ...] = tuple(frozen)
    spent: tuple[date, ...] = ()
    refunded = 0
    covered = merged(active, frozen_runs)
    if contains(frozen_runs, day):
        frozen_runs = remove_day(frozen_runs, day)
        refunded = 1
    elif covered and covered[-1][1] < day - ONE_DAY:
        # The streak before the gap can live on if the held freezes cover every missed day.
        last = covered[-1][1]
        missed = (day - last).days - 1
        if 0 < missed <= held:
            spent = tuple(last + ONE_DAY * n for n in range(1, missed + 1))
            for missed_day in spent:
                frozen_runs = add_day(frozen_runs, missed_day)
    held = held - len(spent) + refunded
    # Freezes earned: the chain's active days, before and after, by FREEZE_EVERY.
    chains_before = merged(active, frozen_runs)
    neighbours = [
        active_within(active, first, last)
        for first, last in chains_before
        if first - ONE_DAY <= day <= last + ONE_DAY
    ]
    after_active = add_day(active, day)
    chain = next(
        (run for run in merged(after_active, frozen_runs) if run[0] <= day <= run[1]),
        (day, day),
    )
    now = active_within(after_active, *chain)
    earned = max(0, now // FREEZE_EVERY - sum(n // FREEZE_EVERY for n in neighbours))
    held = min(MAX_FREEZES, held + earned)
    return FreezeChange(
        frozen=frozen_runs, held=held, spent=spent, earned=earned, refunded=refunded
    )


@dataclass(frozen=True, slots=True)
class FreezeGrant:
    """Freezes given by an educator, guardian or admin, under the client's idempotency key."""

    learner_id: str
    grant_id: str
    requested: int
    granted: int  # what fitted under MAX_FREEZES
    held: int  # the learner's freezes right after
    reason: str
    granted_by: str
    at: datetime


def granted(held: int, requested: int) -> int:
    """How many of `requested` freezes fit under MAX_FREEZES."""
    return max(0, min(requested, MAX_FREEZES - held))


@dataclass(frozen=True, slots=True)
class Streak:
    current: int
    longest: int
    last_active: date | None
    active_today: bool
    at_risk: bool = False
    freezes_held: int = 0
    frozen_days: tuple[date, ...] = ()  # days of the current streak a freeze covered
    freezes_pending: int = 0  # missed days the held freezes will cover on the next activity


def streak_on(
    runs: Sequence[DayRun],
    *,
    today: date,
    local_hour: int,
    at_risk_hour: int = DEFAULT_AT_RISK_HOUR,
    frozen: Sequence[DayRun] = (),
    freezes_held: int = 0,
) -> Streak:
    """The streak as seen on the learner's local `today` at `local_hour`.

    A streak that ended yesterday is still alive: today can extend it; so is one whose missed
    days the held freezes cover (they are spent on the next activity). Past `at_risk_hour` with
    no activity yet today, it is at risk. Its length counts active days only.
    """
    # Days after `today` (possible after a change of time zone) do not count yet.
    past = [(first, min(last, today)) for first, last in runs if first <= today]
    if not past:
        return Streak(
            current=0,
            longest=0,
            last_active=None,
            active_today=False,
            freezes_held=freezes_held,
        )
    past_frozen = [(first, min(last, today)) for first, last in frozen if first <= today]
    chains = merged(past, past_frozen)
    chain = chains[-1]
    last_active = past[-1][1]
    active_today = last_active == today
    missed = max(0, (today - chain[1]).days - 1)
    alive = missed <= freezes_held
    current = active_within(past, *chain) if alive else 0
    frozen_days: tuple[date, ...] = ()
    if alive:
        frozen_days = tuple(
            chain[0] + ONE_DAY * n
            for n in range((chain[1] - chain[0]).days + 1)
            if contains(past_frozen, chain[0] + ONE_DAY * n)
        )
    return Streak(
        current=current,
        longest=longest_chain(past, past_frozen),
        last_active=last_active,
        active_today=active_today,
        at_risk=alive and not active_today and local_hour >= at_risk_hour,
        freezes_held=freezes_held,
        frozen_days=frozen_days,
        freezes_pending=missed if alive else 0,
    )
