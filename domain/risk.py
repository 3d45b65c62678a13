"""At-risk detection: a learner who may be dropping out or heading for a failed exam, and why.

Each rule gives a reason in plain words; a learner is at risk when any rule holds. Thresholds are
settings (`RiskSettings`, from `CAIRN_AT_RISK_*`):

- inactive: no activity for `inactive_days` days or more (or none ever);
- streak broken: no streak now, after one of 3 days or more, and active within `inactive_days`
  (so that the two reasons do not repeat each other);
- falling scores: the average score of the last 7 days is `score_drop` or more below that of the
  7 days before, each over `min_scored` scored answers or more;
- low readiness: an exam date within `exam_within_days` days and a predicted pass probability
  under `readiness_below` percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import reduce
from zoneinfo import ZoneInfo

from domain.activity import ActivityBucket, DailyRollup, merge_buckets
from domain.streaks import DayRun, Streak, streak_on

WINDOW_DAYS = 7
MIN_STREAK = 3


class RiskKind(StrEnum):
    INACTIVE = "inactive"
    STREAK_BROKEN = "streak_broken"
    FALLING_SCORES = "falling_scores"
    LOW_READINESS = "low_readiness"


@dataclass(frozen=True, slots=True)
class RiskSettings:
    inactive_days: int = 7
    score_drop: float = 0.10  # 10 percentage points
    min_scored: int = 3
    readiness_below: float = 50.0  # percent pass probability
    exam_within_days: int = 30


@dataclass(frozen=True, slots=True)
class RiskReason:
    kind: RiskKind
    message: str


@dataclass(frozen=True, slots=True)
class ExamOutlook:
    """A coming exam: its date, what it is, and the learner's predicted pass probability."""

    exam_date: date
    certification: str
    pass_probability: float  # percent


def assess_risk(
    *,
    today: date,
    streak: Streak,
    recent: Sequence[DailyRollup],
    exam: ExamOutlook | None = None,
    settings: RiskSettings = RiskSettings(),
) -> list[RiskReason]:
    """Why the learner is at risk (empty: not at risk). `recent`: their last 14 days."""
    reasons = []
    idle = None if streak.last_active is None else (today - streak.last_active).days
    if idle is None or idle >= settings.inactive_days:
        reasons.append(
            RiskReason(
                RiskKind.INACTIVE,
                "No activity yet" if idle is None else f"No activity for {idle} days",
            )
        )
    elif streak.current == 0 and streak.longest >= MIN_STREAK:
        reasons.append(
            RiskReason(
                RiskKind.STREAK_BROKEN,
                f"Their streak is broken (the longest was {streak.longest} days)",
            )
        )
    falling = _falling_scores(today, recent, settings)
    if falling is not None:
        reasons.append(falling)
    if exam is not None:
        days_left = (exam.exam_date - today).days
        if 0 <= days_left <= settings.exam_within_days and (
            exam.pass_probability < settings.readiness_below
        ):
            reasons.append(
                RiskReason(
                    RiskKind.LOW_READINESS,
                    f"The {exam.certification} exam is in {days_left} days with a "
                    f"{exam.pass_probability:.0f} % predicted pass probability",
                )
            )
    return reasons


def _falling_scores(
    today: date, recent: Sequence[DailyRollup], settings: RiskSettings
) -> RiskReason | None:
    split = today - timedelta(days=WINDOW_DAYS - 1)
    earlier_start = split - timedelta(days=WINDOW_DAYS)
    last = _scores(r for r in recent if split <= r.day <= today)
    before = _scores(r for r in recent if earlier_start <= r.day < split)
    if last.scored < settings.min_scored or before.scored < settings.min_scored:
        return None
    assert last.average_score is not None and before.average_score is not None
    if before.average_score - last.average_score < settings.score_drop - 1e-9:
        return None
    return RiskReason(
        RiskKind.FALLING_SCORES,
        f"Their average score fell from {before.average_score:.0%} to "
        f"{last.average_score:.0%} over the last week",
    )


def _scores(rollups: Iterable[DailyRollup]) -> ActivityBucket:
    return reduce(merge_buckets, (rollup.total for rollup in rollups), ActivityBucket())


# --- the schedule: when a learner who does nothing more is at risk ---------------------------

NEVER_ACTIVE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RiskSchedule:
    """When a learner is at risk if they do nothing more: from `since` on for good, and during
    the `windows` ([start, end) instants) before it. Without new activity every rule above is a
    function of the day alone, so a write can say in advance on which days its learner will be
    at risk; a list of a group's members can then be ordered and counted without evaluating
    each member again (the exam rule needs an exam date and is left out)."""

    since: datetime
    windows: tuple[tuple[datetime, datetime], ...] = ()

    def at_risk(self, at: datetime) -> bool:
        return at >= self.since or any(start <= at < end for start, end in self.windows)

    def at_risk_since(self, at: datetime) -> datetime | None:
        """When the spell of risk `at` falls in began (None: not at risk then)."""
        if at >= self.since:
            return self.since
        return next((start for start, end in self.windows if start <= at < end), None)


def risk_schedule(
    *,
    active_days: Sequence[DayRun],
    recent: Sequence[DailyRollup],
    time_zone: str,
    settings: RiskSettings = RiskSettings(),
    frozen_days: Sequence[DayRun] = (),
    freezes_held: int = 0,
) -> RiskSchedule:
    """The schedule of a learner whose local active days are `active_days`, with `recent` their
    rollups of the 14 days up to their last active day, in their time zone; their streak is the
    one they see, with the missed days freezes covered (`frozen_days`) and the freezes they hold,
    which would be spent on the days they miss from now on.

    `assess_risk` is evaluated for each local day from the last active one until inactivity
    holds (from then on it always does); each local day starts at its local midnight."""
    if not active_days:
        return RiskSchedule(since=NEVER_ACTIVE)
    last = active_days[-1][1]
    horizon = max(settings.inactive_days, WINDOW_DAYS)
    flags = []
    for offset in range(horizon + 1):
        today = last + timedelta(days=offset)
        streak = streak_on(
            active_days,
            today=today,
            local_hour=0,
            frozen=frozen_days,
            freezes_held=freezes_held,
        )
        flags.append(
            bool(assess_risk(today=today, streak=streak, recent=recent, settings=settings))
        )
    start = horizon  # inactive from here on, for good
    while start > 0 and flags[start - 1]:
        start -= 1
    zone = ZoneInfo(time_zone)

    def midnight(offset: int) -> datetime:
        day = last + timedelta(days=offset)
        return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)

    windows = []
    offset = 0
    while offset < start:
        if flags[offset]:
            end = offset
            while end < start and flags[end]:
                end += 1
            windows.append((midnight(offset), midnight(end)))
            offset = end
        else:
            offset += 1
    return RiskSchedule(since=midnight(start), windows=tuple(windows))
