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
from datetime import date, timedelta
from enum import StrEnum
from functools import reduce

from domain.activity import ActivityBucket, DailyRollup, merge_buckets
from domain.streaks import Streak

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
