"""Learning curves: how a learner's scores, or their grip on one skill, grow with practice.

The model. Practice is assumed to close a fixed share of the gap to a ceiling per unit of time (a
day for the overall curve, an attempt for a skill), so the value follows

    y(t) = ceiling - (ceiling - start) * exp(-rate * t)

with `start` the value at t = 0 and `rate` how fast the gap closes (half of it in ln 2 / rate).
`fit_learning_curve` finds the three numbers by least squares; a falling curve (start above the
ceiling) is allowed.

The overall curve (`learning_curve`) reads the daily rollups: one point per local day with scored
answers, valued at that day's average score (0..1). Days without scores are left out, not counted
as zero, so "scored days" below counts those points, not calendar days. On top of the points:

- smoothed: each point's value averaged with those of up to SMOOTHING_DAYS - 1 scored days before;
- plateaus: runs of at least PLATEAU_MIN_DAYS scored days over which the smoothed value stays
  within a band narrower than PLATEAU_BAND (max - min), found left to right without overlap;
- breakthroughs: scored days whose smoothed value is at least BREAKTHROUGH_RISE above that of
  BREAKTHROUGH_LOOKBACK scored days before; each such day counts, so a steep climb gives several;
- improvement per week: the slope of the least-squares line through (calendar days since the first
  point, value), in percentage points per week.

One skill's curve (`skill_curve`) reads the BKT trace of `domain.mastery`: one point per kept
answer, valued at the probability the skill is known right after it; it also tells how many more
right answers in a row would bring the skill to MASTERED_AT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean

from domain.activity import DailyRollup
from domain.errors import InvalidInput
from domain.mastery import BktParams, SkillState, is_mastered, update_knowledge

# The fit: the rate is searched on FIT_RATE_STEPS values evenly spaced in log scale from
# FIT_RATE_MIN to FIT_RATE_MAX per unit of t (neighbours about 4.7 % apart), both ends included.
FIT_RATE_MIN = 1e-3
FIT_RATE_MAX = 10.0
FIT_RATE_STEPS = 200
FIT_MIN_POINTS = 3  # fewer points than this give no fit: three numbers need three values

SMOOTHING_DAYS = 7  # the trailing mean covers this many scored days, the point's own included
PLATEAU_MIN_DAYS = 7  # a plateau lasts at least this many scored days
PLATEAU_BAND = 0.03  # ... over which the smoothed value moves less than this (max - min)
BREAKTHROUGH_RISE = 0.10  # a breakthrough: the smoothed value rises at least this much
BREAKTHROUGH_LOOKBACK = 3  # ... above its value this many scored days before
DAYS_PER_WEEK = 7

MAX_ATTEMPTS_TO_MASTERY = 100  # beyond this many right answers, mastery is out of sight: None

# Thresholds compare values built from sums of floats: a rise written as 0.10 may come out as
# 0.0999...; this much rounding is forgiven, in the direction the rule is stated.
_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One point of a curve: a day (overall) or an answer's time (one skill), a value in 0..1."""

    at: date | datetime
    value: float


@dataclass(frozen=True, slots=True)
class FittedCurve:
    """y(t) = ceiling - (ceiling - start) * exp(-rate * t); t in days, or attempts for a skill."""

    start: float
    ceiling: float
    rate: float

    def value_at(self, t: float) -> float:
        return self.ceiling - (self.ceiling - self.start) * math.exp(-self.rate * t)


def _rate_grid() -> tuple[float, ...]:
    ratio = math.log(FIT_RATE_MAX / FIT_RATE_MIN)
    last = FIT_RATE_STEPS - 1
    inner = (FIT_RATE_MIN * math.exp(ratio * step / last) for step in range(1, last))
    return (FIT_RATE_MIN, *inner, FIT_RATE_MAX)  # the ends as written, not as rounded


FIT_RATES = _rate_grid()


def fit_learning_curve(points: Sequence[tuple[float, float]]) -> FittedCurve | None:
    """The least-squares exponential through `points` (t, y); None for fewer than 3 or one t.

    For a fixed rate the curve is linear in its other two numbers: with u = exp(-rate * t),
    y = ceiling + (start - ceiling) * u, a straight line in u. So for each rate of FIT_RATES the
    best ceiling (intercept) and start - ceiling (slope) come in closed form from the linear
    least squares of y on u, and the rate kept is the one with the smallest sum of squared
    residuals (the smallest rate among exact ties). The ceiling is held to [0, 1]: when the line's
    intercept falls outside, the ceiling is set to the nearer bound and the slope solved again for
    it, which is the constrained optimum because the residuals are a convex quadratic. The start is
    not bounded: it is where the fitted curve puts t = 0, which may lie before the first point.
    A rate whose u values are all equal (they underflowed to zero) cannot be fitted and is skipped.
    """
    if len(points) < FIT_MIN_POINTS:
        return None
    ts = [float(t) for t, _ in points]
    ys = [float(y) for _, y in points]
    if min(ts) == max(ts):
        return None
    best: tuple[float, FittedCurve] | None = None
    for rate in FIT_RATES:
        candidate = _fit_for_rate(ts, ys, rate)
        if candidate is not None and (best is None or candidate[0] < best[0]):
            best = candidate
    return best[1] if best is not None else None


def _fit_for_rate(
    ts: Sequence[float], ys: Sequence[float], rate: float
) -> tuple[float, FittedCurve] | None:
    """The best curve with this rate and its sum of squared residuals; None if u is constant."""
    us = [math.exp(-rate * t) for t in ts]
    mean_u, mean_y = fmean(us), fmean(ys)
    spread = sum((u - mean_u) ** 2 for u in us)
    if spread <= 0:
        return None
    slope = sum((u - mean_u) * (y - mean_y) for u, y in zip(us, ys, strict=True)) / spread
    ceiling = mean_y - slope * mean_u
    if not 0.0 <= ceiling <= 1.0:
        ceiling = min(max(ceiling, 0.0), 1.0)
        # u > 0 somewhere, else the spread would be zero.
        slope = sum(u * (y - ceiling) for u, y in zip(us, ys, strict=True)) / sum(u * u for u in us)
    residuals = sum((y - ceiling - slope * u) ** 2 for u, y in zip(us, ys, strict=True))
    return residuals, FittedCurve(start=ceiling + slope, ceiling=ceiling, rate=rate)


# The overall curve


@dataclass(frozen=True, slots=True)
class Plateau:
    """Scored days `first` to `last` (inclusive) over which the smoothed value held at `level`."""

    first: date
    last: date
    level: float


@dataclass(frozen=True, slots=True)
class Breakthrough:
    """On `day` the smoothed value reached `after`, up from `before` a few scored days earlier."""

    day: date
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class LearningCurve:
    """The overall curve; `improvement_per_week` in percentage points (None under two points)."""

    points: tuple[CurvePoint, ...]
    smoothed: tuple[CurvePoint, ...]
    fit: FittedCurve | None
    plateaus: tuple[Plateau, ...]
    breakthroughs: tuple[Breakthrough, ...]
    improvement_per_week: float | None


def learning_curve(rollups: Sequence[DailyRollup]) -> LearningCurve:
    """The curve of a learner's daily average scores, with its plateaus and breakthroughs.

    Rollups may come in any order; two for the same day add up (their score sums and counts).
    The rules are those of the module docstring. A plateau's `level` is the mean of its smoothed
    values. Plateaus are sought from the first scored day on: each starts at the earliest day that
    begins one and runs as long as the band allows; the search resumes the day after it ends.
    """
    points = _daily_points(rollups)
    values = [point.value for point in points]
    smoothed_values = [
        fmean(values[max(0, index - SMOOTHING_DAYS + 1) : index + 1])
        for index in range(len(values))
    ]
    smoothed = tuple(
        CurvePoint(at=point.at, value=value)
        for point, value in zip(points, smoothed_values, strict=True)
    )
    days = [_day(point) for point in points]
    offsets = [float((day - days[0]).days) for day in days]
    slope = _slope(offsets, values)
    return LearningCurve(
        points=points,
        smoothed=smoothed,
        fit=fit_learning_curve(list(zip(offsets, values, strict=True))),
        plateaus=_plateaus(days, smoothed_values),
        breakthroughs=_breakthroughs(days, smoothed_values),
        improvement_per_week=None if slope is None else slope * 100 * DAYS_PER_WEEK,
    )


def _daily_points(rollups: Sequence[DailyRollup]) -> tuple[CurvePoint, ...]:
    sums: dict[date, tuple[float, int]] = {}
    for rollup in rollups:
        score_sum, scored = sums.get(rollup.day, (0.0, 0))
        sums[rollup.day] = (score_sum + rollup.total.score_sum, scored + rollup.total.scored)
    return tuple(
        CurvePoint(at=day, value=score_sum / scored)
        for day, (score_sum, scored) in sorted(sums.items())
        if scored > 0
    )


def _day(point: CurvePoint) -> date:
    return point.at.date() if isinstance(point.at, datetime) else point.at


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The slope of the least-squares line through (x, y); None under two distinct x."""
    if len(xs) < 2:
        return None
    mean_x, mean_y = fmean(xs), fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread <= 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _plateaus(days: Sequence[date], smoothed: Sequence[float]) -> tuple[Plateau, ...]:
    plateaus: list[Plateau] = []
    start = 0
    while start + PLATEAU_MIN_DAYS <= len(smoothed):
        low = high = smoothed[start]
        end = start + 1  # one past the run's last day
        while end < len(smoothed):
            low, high = min(low, smoothed[end]), max(high, smoothed[end])
            if high - low >= PLATEAU_BAND - _TOLERANCE:
                break
            end += 1
        if end - start >= PLATEAU_MIN_DAYS:
            level = fmean(smoothed[start:end])
            plateaus.append(Plateau(first=days[start], last=days[end - 1], level=level))
            start = end
        else:
            start += 1
    return tuple(plateaus)


def _breakthroughs(days: Sequence[date], smoothed: Sequence[float]) -> tuple[Breakthrough, ...]:
    return tuple(
        Breakthrough(day=days[index], before=smoothed[index - BREAKTHROUGH_LOOKBACK], after=after)
        for index, after in enumerate(smoothed)
        if index >= BREAKTHROUGH_LOOKBACK
        and after - smoothed[index - BREAKTHROUGH_LOOKBACK] >= BREAKTHROUGH_RISE - _TOLERANCE
    )


# One skill


@dataclass(frozen=True, slots=True)
class SkillCurve:
    """One skill's curve: p_known after each kept answer (oldest first) and what is left to do.

    `fit` is over (attempt number among the kept answers, from 1; p_known), so its start is the
    curve's estimate of p_known before the first kept answer. `attempts_to_mastery` is how many
    more right answers in a row would bring p_known to MASTERED_AT: 0 when mastered already,
    None when more than MAX_ATTEMPTS_TO_MASTERY. `improvement_per_attempt` is the change in
    p_known over the kept answers divided by their number (None without kept answers).
    """

    points: tuple[CurvePoint, ...]
    fit: FittedCurve | None
    attempts_to_mastery: int | None
    improvement_per_attempt: float | None


def skill_curve(state: SkillState, params: BktParams) -> SkillCurve:
    """The curve of one learner's skill, traced by BKT with `params`.

    The change per attempt runs from p_known before the first kept answer (the state's
    `base_log_odds`, the prior when no answer was dropped) to p_known after the last, so each of
    the kept answers counts once. Answers the window dropped are not on the curve.
    """
    answers = state.answers
    knowns = [_probability(answer.log_odds) for answer in answers]
    points = tuple(
        CurvePoint(at=answer.at, value=known) for answer, known in zip(answers, knowns, strict=True)
    )
    improvement = None
    if answers:
        improvement = (knowns[-1] - _probability(state.base_log_odds)) / len(answers)
    return SkillCurve(
        points=points,
        fit=fit_learning_curve([(float(index), known) for index, known in enumerate(knowns, 1)]),
        attempts_to_mastery=attempts_to_mastery(state.p_known, params),
        improvement_per_attempt=improvement,
    )


def attempts_to_mastery(p_known: float, params: BktParams) -> int | None:
    """Right answers in a row that bring `p_known` to MASTERED_AT or above, by BKT's update.

    0 when already there; None when MAX_ATTEMPTS_TO_MASTERY right answers would not do (slips
    and guesses so likely that a right answer says little, and no learning between answers).
    """
    p = p_known
    for attempts in range(MAX_ATTEMPTS_TO_MASTERY + 1):
        if is_mastered(p):
            return attempts
        p = update_knowledge(p, correct=True, params=params)
    return None


def time_to_mastery(
    state: SkillState, params: BktParams, *, minutes_per_answer: float
) -> float | None:
    """Minutes of practice to mastery at `minutes_per_answer`: 0 when mastered, None when out of
    sight (see `attempts_to_mastery`)."""
    if not math.isfinite(minutes_per_answer) or minutes_per_answer < 0:
        raise InvalidInput("minutesPerAnswer", "must be a finite number of minutes, 0 or more")
    attempts = attempts_to_mastery(state.p_known, params)
    return None if attempts is None else attempts * minutes_per_answer


def _probability(log_odds: float) -> float:
    """The probability with these log-odds, by a sigmoid that cannot overflow."""
    if log_odds >= 0:
        return 1 / (1 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1 + odds)
