from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.activity import ActivityBucket, DailyRollup
from domain.curves import (
    FIT_RATE_MAX,
    FIT_RATE_MIN,
    FIT_RATE_STEPS,
    FIT_RATES,
    MAX_ATTEMPTS_TO_MASTERY,
    Breakthrough,
    CurvePoint,
    FittedCurve,
    LearningCurve,
    Plateau,
    attempts_to_mastery,
    fit_learning_curve,
    learning_curve,
    skill_curve,
    time_to_mastery,
)
from domain.errors import InvalidInput
from domain.mastery import (
    DEFAULT_BKT,
    MASTERED_AT,
    BktParams,
    SkillState,
    new_skill_state,
    practise,
    update_knowledge,
)

RIGHT, WRONG = True, False
D1 = date(2026, 3, 1)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# Right answers say more, and learning is slower, than by default: mastery takes a while.
SLOW = BktParams(prior=0.1, learn=0.02, guess=0.3, slip=0.2)


def day(n: int) -> date:
    """Day `n` of March 2026 (1 is 1 March)."""
    return D1 + timedelta(days=n - 1)


def scored(n: int, *scores: float) -> DailyRollup:
    """The rollup of day `n` holding one answer per score."""
    bucket = ActivityBucket(
        events=len(scores),
        time_spent_seconds=60.0 * len(scores),
        answered=len(scores),
        scored=len(scores),
        score_sum=sum(scores),
    )
    return DailyRollup(learner_id="ada", day=day(n), total=bucket)


def unscored(n: int) -> DailyRollup:
    """A day of reading only: events, no scored answer."""
    bucket = ActivityBucket(events=3, time_spent_seconds=900.0, completions=1)
    return DailyRollup(learner_id="ada", day=day(n), total=bucket)


def daily(values: Sequence[float]) -> list[DailyRollup]:
    """One scored day per value, on consecutive days from 1 March."""
    return [scored(n, value) for n, value in enumerate(values, 1)]


def exponential(start: float, ceiling: float, rate: float, ts: Sequence[float]) -> list[float]:
    return [ceiling - (ceiling - start) * math.exp(-rate * t) for t in ts]


def values(points: Sequence[CurvePoint]) -> list[float]:
    return [point.value for point in points]


def r(value: float) -> float:
    """`value` to 9 decimals: results built from float sums compare with what they should be."""
    return round(value, 9)


def rounded_fit(fit: FittedCurve | None) -> FittedCurve | None:
    """The fit with start and ceiling to 9 decimals; the rate, a grid value, stays exact."""
    return None if fit is None else replace(fit, start=r(fit.start), ceiling=r(fit.ceiling))


def plateaus_of(curve: LearningCurve) -> tuple[Plateau, ...]:
    return tuple(replace(each, level=r(each.level)) for each in curve.plateaus)


def breakthroughs_of(curve: LearningCurve) -> tuple[Breakthrough, ...]:
    return tuple(
        replace(each, before=r(each.before), after=r(each.after)) for each in curve.breakthroughs
    )


# fit_learning_curve


def test_the_rate_grid_is_logarithmic_from_end_to_end() -> None:
    assert len(FIT_RATES) == FIT_RATE_STEPS == 200
    assert (FIT_RATES[0], FIT_RATES[-1]) == (FIT_RATE_MIN, FIT_RATE_MAX) == (1e-3, 10.0)
    ratios = [b / a for a, b in itertools.pairwise(FIT_RATES)]
    assert all(ratio == pytest.approx(10 ** (4 / 199), rel=1e-9) for ratio in ratios)


def test_the_fit_recovers_known_parameters_from_exact_data() -> None:
    ts = [float(t) for t in range(15)]
    fit = fit_learning_curve(list(zip(ts, exponential(0.4, 0.9, 0.2, ts), strict=True)))
    assert fit is not None
    assert fit.start == pytest.approx(0.4, abs=0.02)
    assert fit.ceiling == pytest.approx(0.9, abs=0.02)
    assert fit.rate == pytest.approx(0.2, rel=0.2)
    assert fit.rate in FIT_RATES


def test_the_fit_is_exact_when_the_rate_is_on_the_grid() -> None:
    rate = FIT_RATES[100]  # about 0.102
    ts = [0.0, 1.0, 2.0, 4.0, 7.0, 11.0, 20.0, 30.0]
    fit = fit_learning_curve(list(zip(ts, exponential(0.25, 0.85, rate, ts), strict=True)))
    assert rounded_fit(fit) == FittedCurve(start=0.25, ceiling=0.85, rate=rate)


def test_a_fitted_curve_gives_its_values() -> None:
    curve = FittedCurve(start=0.4, ceiling=0.9, rate=0.2)
    assert curve.value_at(0) == pytest.approx(0.4)
    assert curve.value_at(5) == pytest.approx(0.9 - 0.5 * math.exp(-1))


def test_the_fit_works_on_unordered_points_not_starting_at_zero() -> None:
    ts = [9.0, 3.0, 6.0, 12.0, 1.0]
    points = list(zip(ts, exponential(0.3, 0.8, FIT_RATES[120], ts), strict=True))
    assert rounded_fit(fit_learning_curve(points)) == FittedCurve(0.3, 0.8, FIT_RATES[120])


def test_a_falling_curve_fits_with_its_start_above_the_ceiling() -> None:
    ts = [float(t) for t in range(10)]
    fit = fit_learning_curve(list(zip(ts, exponential(0.9, 0.5, FIT_RATES[150], ts), strict=True)))
    assert fit is not None
    assert fit.start == pytest.approx(0.9, abs=1e-9)
    assert fit.ceiling == pytest.approx(0.5, abs=1e-9)


def best_start(ts: Sequence[float], ys: Sequence[float], ceiling: float, rate: float) -> float:
    """The least-squares start for a given ceiling and rate."""
    us = [math.exp(-rate * t) for t in ts]
    gap = sum(u * (y - ceiling) for u, y in zip(us, ys, strict=True)) / sum(u * u for u in us)
    return ceiling + gap


def test_a_ceiling_above_one_is_held_at_one() -> None:
    ts = [float(t) for t in range(6)]
    ys = exponential(0.5, 1.6, 0.05, ts)  # a nearly straight stretch far from its ceiling
    fit = fit_learning_curve(list(zip(ts, ys, strict=True)))
    assert fit is not None
    assert fit.ceiling == 1.0
    # The start is the best one for the held ceiling, and the curve still passes near the data.
    assert fit.start == pytest.approx(best_start(ts, ys, 1.0, fit.rate), abs=1e-12)
    assert max(abs(fit.value_at(t) - y) for t, y in zip(ts, ys, strict=True)) < 0.02


def test_a_ceiling_below_zero_is_held_at_zero() -> None:
    ts = [float(t) for t in range(6)]
    ys = [0.5 - 0.2 * t for t in ts]  # down to -0.5: no curve settling at or above 0 gets there
    fit = fit_learning_curve(list(zip(ts, ys, strict=True)))
    assert fit is not None
    assert fit.ceiling == 0.0
    assert fit.start == pytest.approx(best_start(ts, ys, 0.0, fit.rate), abs=1e-12)


def test_flat_data_fit_a_flat_curve() -> None:
    fit = fit_learning_curve([(0.0, 0.7), (1.0, 0.7), (5.0, 0.7)])
    assert fit is not None
    assert (r(fit.start), r(fit.ceiling)) == (0.7, 0.7)
    assert fit.rate in FIT_RATES  # any rate fits a flat line


@pytest.mark.parametrize(
    "points",
    [
        pytest.param([], id="none"),
        pytest.param([(0.0, 0.4)], id="one"),
        pytest.param([(0.0, 0.4), (1.0, 0.6)], id="two"),
        pytest.param([(2.0, 0.4), (2.0, 0.6), (2.0, 0.7)], id="one-t"),
    ],
)
def test_no_fit_without_three_points_at_two_times(points: list[tuple[float, float]]) -> None:
    assert fit_learning_curve(points) is None


def test_three_points_are_enough_for_a_fit() -> None:
    assert fit_learning_curve([(0.0, 0.4), (1.0, 0.6), (2.0, 0.7)]) is not None


# learning_curve: points and smoothing


def test_points_are_the_scored_days_in_order_at_their_average_score() -> None:
    rollups = [scored(5, 0.5, 1.0), unscored(2), scored(1, 0.4), unscored(6), scored(3, 0.2)]
    curve = learning_curve(rollups)
    assert curve.points == (
        CurvePoint(day(1), 0.4),
        CurvePoint(day(3), 0.2),
        CurvePoint(day(5), 0.75),
    )


def test_rollups_of_the_same_day_add_up() -> None:
    curve = learning_curve([scored(2, 1.0), scored(2, 0.5, 0.0), unscored(2)])
    assert curve.points == (CurvePoint(day(2), 0.5),)


def test_the_smoothed_value_is_the_mean_of_the_last_seven_scored_days() -> None:
    raw = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]
    rollups = [scored(2 * n, value) for n, value in enumerate(raw, 1)]  # every other day
    curve = learning_curve([*rollups, unscored(3), unscored(5)])
    assert [point.at for point in curve.smoothed] == [day(2 * n) for n in range(1, 10)]
    assert values(curve.smoothed) == pytest.approx(
        [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 3.5 / 7, 4.3 / 7]
    )


def test_no_scored_days_give_an_empty_curve() -> None:
    curve = learning_curve([unscored(1), unscored(2)])
    assert curve.points == curve.smoothed == ()
    assert curve.plateaus == ()
    assert curve.breakthroughs == ()
    assert curve.fit is None
    assert curve.improvement_per_week is None


def test_one_scored_day_has_no_trend() -> None:
    curve = learning_curve([scored(4, 0.6)])
    assert curve.points == curve.smoothed == (CurvePoint(day(4), 0.6),)
    assert curve.fit is None
    assert curve.improvement_per_week is None


# learning_curve: plateaus


def test_a_flat_stretch_of_eight_scored_days_is_a_plateau() -> None:
    curve = learning_curve(daily([0.6] * 8))
    assert plateaus_of(curve) == (Plateau(first=day(1), last=day(8), level=0.6),)


def test_a_rising_stretch_is_no_plateau() -> None:
    curve = learning_curve(daily([0.4 + 0.02 * n for n in range(8)]))
    assert curve.plateaus == ()


def test_a_plateau_counts_scored_days_not_calendar_days() -> None:
    seven = [scored(2 * n - 1, 0.5) for n in range(1, 8)]  # days 1, 3, ..., 13
    assert plateaus_of(learning_curve(seven)) == (Plateau(first=day(1), last=day(13), level=0.5),)
    six = [scored(n, 0.5) for n in (1, 2, 3, 5, 8, 12)]  # twelve calendar days, six scored
    assert learning_curve([*six, unscored(4), unscored(13)]).plateaus == ()


def test_a_plateau_starts_once_the_smoothed_value_settles() -> None:
    # Three days at 0.3, then 0.8: the mean climbs until the 0.3s leave its window (day 10).
    curve = learning_curve(daily([0.3] * 3 + [0.8] * 14))
    assert plateaus_of(curve) == (Plateau(first=day(10), last=day(17), level=0.8),)


def test_a_long_plateau_is_reported_once_and_a_later_one_apart() -> None:
    curve = learning_curve(daily([0.5] * 20 + [0.9] * 15))
    assert plateaus_of(curve) == (
        Plateau(first=day(1), last=day(20), level=0.5),
        Plateau(first=day(27), last=day(35), level=0.9),
    )


def test_a_plateau_level_is_the_mean_of_its_smoothed_values() -> None:
    # 0.6 and 0.62 alternate: the smoothed values stay within 0.02 of each other.
    raw = [0.6, 0.62] * 4
    curve = learning_curve(daily(raw))
    expected = [sum(raw[max(0, i - 6) : i + 1]) / min(i + 1, 7) for i in range(8)]
    assert len(curve.plateaus) == 1
    assert curve.plateaus[0].level == pytest.approx(sum(expected) / 8)


@pytest.mark.parametrize(
    ("first", "last", "plateau"),
    [
        pytest.param(0.5, 0.70, True, id="moves-0.0286"),
        pytest.param(0.5, 0.71, False, id="moves-0.03-rounding-above"),
        pytest.param(0.04, 0.25, False, id="moves-0.03-rounding-below"),
        pytest.param(0.5, 0.75, False, id="moves-0.0357"),
    ],
)
def test_a_plateau_moves_less_than_three_points(first: float, last: float, plateau: bool) -> None:
    # The seventh day moves the mean by (last - first) / 7: 0.03 exactly for a rise of 0.21,
    # which floating point makes a hair more or less than 0.03; either way it is no plateau.
    curve = learning_curve(daily([first] * 6 + [last]))
    assert bool(curve.plateaus) is plateau


def test_six_flat_days_are_not_yet_a_plateau() -> None:
    assert learning_curve(daily([0.6] * 6)).plateaus == ()
    assert plateaus_of(learning_curve(daily([0.6] * 7))) == (
        Plateau(first=day(1), last=day(7), level=0.6),
    )


# learning_curve: breakthroughs


def test_a_jump_gives_breakthroughs_once_the_mean_has_risen_enough() -> None:
    curve = learning_curve(daily([0.4] * 7 + [0.8] * 3))
    # The smoothed value: 0.4 up to day 7, then 0.4 + 0.4k/7 on the k-th day at 0.8.
    assert breakthroughs_of(curve) == (
        Breakthrough(day=day(9), before=0.4, after=r(0.4 + 0.8 / 7)),
        Breakthrough(day=day(10), before=0.4, after=r(0.4 + 1.2 / 7)),
    )


def test_breakthroughs_look_back_three_scored_days_not_calendar_days() -> None:
    rollups = [
        scored(n, value) for n, value in zip((1, 4, 9, 10), (0.5, 0.5, 0.5, 0.9), strict=True)
    ]
    curve = learning_curve(rollups)
    # Day 10's mean is 0.6, three scored days after day 1 at 0.5; 0.6 - 0.5 rounds below 0.1 in
    # floating point, and the rise counts all the same.
    assert breakthroughs_of(curve) == (Breakthrough(day=day(10), before=0.5, after=0.6),)


def test_a_small_jump_is_no_breakthrough() -> None:
    # A lasting rise of 0.2 moves the 7-day mean by 3 * 0.2 / 7 < 0.1 in three days.
    assert learning_curve(daily([0.4] * 7 + [0.6] * 7)).breakthroughs == ()


def test_a_fall_is_no_breakthrough() -> None:
    assert learning_curve(daily([0.9] * 7 + [0.3] * 7)).breakthroughs == ()


def test_no_breakthrough_within_the_first_three_scored_days() -> None:
    assert learning_curve(daily([0.0, 1.0, 1.0])).breakthroughs == ()


# learning_curve: improvement per week and fit


def test_improvement_per_week_is_the_slope_in_points_per_week() -> None:
    offsets = [0, 2, 3, 7, 10]
    rising = [scored(1 + d, 0.5 + 0.01 * d) for d in offsets]
    assert learning_curve(rising).improvement_per_week == pytest.approx(7.0)
    falling = [scored(1 + d, 0.9 - 0.02 * d) for d in offsets]
    assert learning_curve(falling).improvement_per_week == pytest.approx(-14.0)


def test_improvement_per_week_is_the_least_squares_slope() -> None:
    # (0, 0.2), (1, 0.6), (2, 0.4): slope 0.1 a day, whatever the middle point does.
    curve = learning_curve(daily([0.2, 0.6, 0.4]))
    assert curve.improvement_per_week == pytest.approx(70.0)


def test_the_overall_fit_is_over_days_since_the_first_scored_day() -> None:
    rate = FIT_RATES[110]
    offsets = [0, 1, 3, 4, 8, 12, 15, 21]
    ys = exponential(0.3, 0.85, rate, offsets)
    rollups = [scored(5 + d, y) for d, y in zip(offsets, ys, strict=True)]
    assert rounded_fit(learning_curve(rollups).fit) == FittedCurve(0.3, 0.85, rate)


# skill_curve


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def practised(
    answers: Sequence[bool], params: BktParams = SLOW, *, window: int = 1000
) -> SkillState:
    state = new_skill_state("ada", "ec2", params)
    for n, correct in enumerate(answers):
        state = practise(
            state,
            at=minute(n),
            time_spent_seconds=30.0,
            correct=correct,
            score=1.0 if correct else 0.0,
            params=params,
            window=window,
        )
    return state


def by_hand(answers: Sequence[bool], params: BktParams = SLOW) -> list[float]:
    """p_known after each answer, by BKT's update from the prior."""
    knowns, p = [], params.prior
    for correct in answers:
        p = update_knowledge(p, correct=correct, params=params)
        knowns.append(p)
    return knowns


def rights_needed(p: float, params: BktParams) -> int:
    """Right answers in a row to mastery, counted by hand (no cap: the caller knows it ends)."""
    count = 0
    while p < MASTERED_AT:
        p = update_knowledge(p, correct=True, params=params)
        count += 1
    return count


ANSWERS = (WRONG, RIGHT, RIGHT, WRONG, RIGHT, RIGHT, RIGHT)


def test_skill_points_are_p_known_after_each_answer() -> None:
    curve = skill_curve(practised(ANSWERS), SLOW)
    assert [point.at for point in curve.points] == [minute(n) for n in range(len(ANSWERS))]
    assert values(curve.points) == pytest.approx(by_hand(ANSWERS), rel=1e-12)


def test_skill_points_follow_answer_time_not_arrival() -> None:
    state = new_skill_state("ada", "ec2", SLOW)
    for n in (2, 0, 1):  # the answer at minute 2 arrives first
        state = practise(
            state, at=minute(n), time_spent_seconds=30.0, correct=n != 0, score=None, params=SLOW
        )
    curve = skill_curve(state, SLOW)
    assert [point.at for point in curve.points] == [minute(0), minute(1), minute(2)]
    assert values(curve.points) == pytest.approx(by_hand([WRONG, RIGHT, RIGHT]), rel=1e-12)


def test_the_skill_fit_is_over_attempt_numbers_from_one() -> None:
    curve = skill_curve(practised(ANSWERS), SLOW)
    expected = fit_learning_curve(list(enumerate(by_hand(ANSWERS), 1)))
    assert expected is not None
    assert rounded_fit(curve.fit) == rounded_fit(expected)
    assert skill_curve(practised([RIGHT, RIGHT]), SLOW).fit is None


def test_improvement_per_attempt_runs_from_the_prior_to_the_last_answer() -> None:
    curve = skill_curve(practised(ANSWERS), SLOW)
    expected = (by_hand(ANSWERS)[-1] - SLOW.prior) / len(ANSWERS)
    assert curve.improvement_per_attempt == pytest.approx(expected, rel=1e-9)


def test_improvement_per_attempt_starts_before_the_oldest_kept_answer() -> None:
    state = practised(ANSWERS, window=4)  # the first three answers were dropped
    curve = skill_curve(state, SLOW)
    knowns = by_hand(ANSWERS)
    assert values(curve.points) == pytest.approx(knowns[3:], rel=1e-12)
    assert curve.improvement_per_attempt == pytest.approx((knowns[-1] - knowns[2]) / 4, rel=1e-9)


def test_a_skill_without_answers_has_an_empty_curve() -> None:
    state = practise(
        new_skill_state("ada", "ec2", SLOW),
        at=minute(0),
        time_spent_seconds=300.0,
        correct=None,
        score=None,
        params=SLOW,
    )
    curve = skill_curve(state, SLOW)
    assert curve.points == ()
    assert curve.fit is None
    assert curve.improvement_per_attempt is None
    assert curve.attempts_to_mastery == rights_needed(SLOW.prior, SLOW) == 6


# attempts to mastery


def test_attempts_to_mastery_match_the_count_by_hand() -> None:
    state = practised(ANSWERS[:4])
    expected = rights_needed(by_hand(ANSWERS[:4])[-1], SLOW)
    assert expected > 1
    assert skill_curve(state, SLOW).attempts_to_mastery == expected


def test_default_parameters_master_from_the_prior_in_four_right_answers() -> None:
    assert rights_needed(DEFAULT_BKT.prior, DEFAULT_BKT) == 4
    assert attempts_to_mastery(DEFAULT_BKT.prior, DEFAULT_BKT) == 4
    fresh = new_skill_state("ada", "ec2", DEFAULT_BKT)
    assert skill_curve(fresh, DEFAULT_BKT).attempts_to_mastery == 4


def test_a_mastered_skill_needs_no_more_attempts() -> None:
    state = practised([RIGHT] * 12)
    assert state.mastered
    assert skill_curve(state, SLOW).attempts_to_mastery == 0
    assert time_to_mastery(state, SLOW, minutes_per_answer=2.0) == 0.0


def test_each_right_answer_takes_one_off_the_attempts_to_mastery() -> None:
    needed = [skill_curve(practised([RIGHT] * k), SLOW).attempts_to_mastery for k in range(9)]
    assert needed == [6, 5, 4, 3, 2, 1, 0, 0, 0]


def test_a_wrong_answer_adds_to_the_attempts_to_mastery() -> None:
    before = skill_curve(practised([RIGHT, RIGHT]), SLOW).attempts_to_mastery
    after = skill_curve(practised([RIGHT, RIGHT, WRONG]), SLOW).attempts_to_mastery
    assert before is not None and after is not None
    assert after > before


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        pytest.param(0.104, MAX_ATTEMPTS_TO_MASTERY, id="exactly-100"),
        pytest.param(0.1, None, id="101-is-too-many"),
    ],
)
def test_attempts_to_mastery_stop_at_a_hundred(prior: float, expected: int | None) -> None:
    # No learning, and a right answer is nearly as likely unknown as known: slow evidence.
    params = BktParams(prior=prior, learn=0.0, guess=0.475, slip=0.5)
    assert rights_needed(prior, params) == (100 if expected is not None else 101)
    state = new_skill_state("ada", "ec2", params)
    assert skill_curve(state, params).attempts_to_mastery == expected


def test_mastery_out_of_sight_gives_no_time() -> None:
    params = BktParams(prior=0.1, learn=0.0, guess=0.49, slip=0.5)
    state = new_skill_state("ada", "ec2", params)
    assert skill_curve(state, params).attempts_to_mastery is None
    assert time_to_mastery(state, params, minutes_per_answer=1.5) is None


# time_to_mastery


def test_time_to_mastery_is_the_attempts_at_the_given_pace() -> None:
    state = practised([RIGHT, WRONG])
    attempts = rights_needed(by_hand([RIGHT, WRONG])[-1], SLOW)
    assert time_to_mastery(state, SLOW, minutes_per_answer=1.5) == pytest.approx(attempts * 1.5)
    assert time_to_mastery(state, SLOW, minutes_per_answer=0.0) == 0.0


@pytest.mark.parametrize("minutes", [-1.0, math.inf, math.nan])
def test_time_to_mastery_needs_a_sensible_pace(minutes: float) -> None:
    with pytest.raises(InvalidInput) as raised:
        time_to_mastery(practised([RIGHT]), SLOW, minutes_per_answer=minutes)
    assert raised.value.field == "minutesPerAnswer"
