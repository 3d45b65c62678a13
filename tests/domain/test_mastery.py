from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

import pytest

from domain.errors import InvalidInput
from domain.mastery import (
    DEFAULT_BKT,
    MASTERED_AT,
    BktParams,
    MasteryLevel,
    SkillState,
    is_mastered,
    judge_answer,
    mastery_changed,
    mastery_level,
    new_skill_state,
    practise,
    predict_correct,
    update_knowledge,
)
from tests.factories import NOW

RIGHT, WRONG = True, False


def minute(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def exact_bkt(answers: Iterable[bool], params: BktParams = DEFAULT_BKT) -> Fraction:
    """The BKT forward pass in exact rational arithmetic: the reference for the float code.

    Parameters are read as the decimals they are written as (0.1 is 1/10).
    """
    prior, learn, guess, slip = (
        Fraction(repr(value)) for value in (params.prior, params.learn, params.guess, params.slip)
    )
    p = prior
    for correct in answers:
        if correct:
            posterior = p * (1 - slip) / (p * (1 - slip) + (1 - p) * guess)
        else:
            posterior = p * slip / (p * slip + (1 - p) * (1 - guess))
        p = posterior + (1 - posterior) * learn
    return p


def exact_log_odds(p: Fraction) -> float:
    return math.log(p.numerator) - math.log(p.denominator - p.numerator)


def answered(
    answers: Sequence[tuple[datetime, bool]],
    params: BktParams = DEFAULT_BKT,
    *,
    state: SkillState | None = None,
    window: int = 1000,
) -> SkillState:
    """The state after `answers`, applied in the order given (which is the order of arrival)."""
    state = state or new_skill_state("ada", "ec2", params)
    for at, correct in answers:
        state = practise(
            state,
            at=at,
            time_spent_seconds=10,
            correct=correct,
            score=None,
            params=params,
            window=window,
        )
    return state


def in_a_row(answers: Sequence[bool], start: float = 0) -> list[tuple[datetime, bool]]:
    """`answers` a minute apart from `minute(start)` on."""
    return [(minute(start + i), correct) for i, correct in enumerate(answers)]


def bkt_by_hand(p_known: float, correct: bool, *, t: float, g: float, s: float) -> float:
    """The BKT step written out as in DESIGN.md, independent of the code under test."""
    p_correct = p_known * (1 - s) + (1 - p_known) * g
    posterior = p_known * (1 - s) / p_correct if correct else p_known * s / (1 - p_correct)
    return posterior + (1 - posterior) * t


def test_by_default_a_skill_starts_at_10_percent_and_moves_by_the_textbook() -> None:
    assert new_skill_state("ada", "ec2", DEFAULT_BKT).p_known == pytest.approx(0.1, abs=1e-12)
    # Prior 0.1, learn 0.1, guess 0.2, slip 0.1: see the hand-computed steps below.
    assert answered([(minute(0), RIGHT)]).p_known == pytest.approx(0.4, abs=1e-12)
    assert answered([(minute(0), WRONG)]).p_known == pytest.approx(8.2 / 73, abs=1e-12)


@pytest.mark.parametrize(
    ("p_known", "correct", "expected"),
    [
        # P(correct) = 0.1*0.9 + 0.9*0.2 = 0.27; post = 0.09/0.27 = 1/3; L' = 1/3 + 2/3*0.1 = 0.4
        (0.1, True, 0.4),
        # P(wrong) = 0.1*0.1 + 0.9*0.8 = 0.73; post = 0.01/0.73; L' = 8.2/73
        (0.1, False, 8.2 / 73),
        # P(correct) = 0.36 + 0.12 = 0.48; post = 0.75; L' = 0.75 + 0.25*0.1 = 0.775
        (0.4, True, 0.775),
        # P(wrong) = 0.04 + 0.48 = 0.52; post = 1/13; L' = 2.2/13
        (0.4, False, 2.2 / 13),
        # P(correct) = 0.6975 + 0.045 = 0.7425; post = 31/33; L' = 31.2/33
        (0.775, True, 31.2 / 33),
    ],
)
def test_update_knowledge_matches_hand_computed_values(
    p_known: float, correct: bool, expected: float
) -> None:
    assert update_knowledge(p_known, correct=correct, params=DEFAULT_BKT) == pytest.approx(
        expected, abs=1e-12
    )


@pytest.mark.parametrize("correct", [True, False])
@pytest.mark.parametrize("p_known", [0.05, 0.3, 0.5, 0.8, 0.97])
@pytest.mark.parametrize(
    "params", [DEFAULT_BKT, BktParams(prior=0.3, learn=0.05, guess=0.25, slip=0.15)]
)
def test_update_knowledge_follows_the_design_formulas(
    p_known: float, correct: bool, params: BktParams
) -> None:
    expected = bkt_by_hand(p_known, correct, t=params.learn, g=params.guess, s=params.slip)
    assert update_knowledge(p_known, correct=correct, params=params) == pytest.approx(expected)


def test_a_correct_answer_raises_mastery() -> None:
    assert update_knowledge(0.5, correct=True, params=DEFAULT_BKT) > 0.5


def test_a_wrong_answer_lowers_a_high_mastery() -> None:
    assert update_knowledge(0.9, correct=False, params=DEFAULT_BKT) < 0.9


def test_consecutive_correct_answers_raise_mastery_monotonically() -> None:
    p = DEFAULT_BKT.prior
    history = [p]
    for _ in range(10):
        p = update_knowledge(p, correct=True, params=DEFAULT_BKT)
        history.append(p)
    assert all(later > earlier for earlier, later in itertools.pairwise(history))
    assert history[-1] <= 1.0


def test_four_correct_answers_in_a_row_master_a_skill_from_the_default_prior() -> None:
    p = DEFAULT_BKT.prior
    levels = []
    for _ in range(4):
        p = update_knowledge(p, correct=True, params=DEFAULT_BKT)
        levels.append(is_mastered(p))
    # 0.4, 0.775, 0.9455, 0.9886: the third is just short of 0.95.
    assert levels == [False, False, False, True]


def test_predict_correct_is_the_probability_of_a_correct_answer() -> None:
    assert predict_correct(0.1, DEFAULT_BKT) == pytest.approx(0.27)
    assert predict_correct(1.0, DEFAULT_BKT) == pytest.approx(0.9)
    assert predict_correct(0.0, DEFAULT_BKT) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("p_known", "level"),
    [
        (0.0, MasteryLevel.NOVICE),
        (0.39, MasteryLevel.NOVICE),
        (0.4, MasteryLevel.DEVELOPING),
        (0.69, MasteryLevel.DEVELOPING),
        (0.7, MasteryLevel.PROFICIENT),
        (0.949, MasteryLevel.PROFICIENT),
        (MASTERED_AT, MasteryLevel.MASTERED),
        (1.0, MasteryLevel.MASTERED),
    ],
)
def test_mastery_level_bands_start_at_their_lower_bound(
    p_known: float, level: MasteryLevel
) -> None:
    assert mastery_level(p_known) is level
    assert is_mastered(p_known) is (level is MasteryLevel.MASTERED)


@pytest.mark.parametrize("name", ["prior", "learn", "guess", "slip"])
@pytest.mark.parametrize("value", [-0.01, 1.01, math.nan])
def test_bkt_params_outside_zero_to_one_are_rejected_naming_the_field(
    name: str, value: float
) -> None:
    params = BktParams(**{name: value})
    with pytest.raises(InvalidInput) as error:
        params.validate("skills[2].bkt")
    assert error.value.field == f"skills[2].bkt.{name}"


@pytest.mark.parametrize(("guess", "slip"), [(0.5, 0.5), (0.6, 0.5), (1.0, 0.0)])
def test_bkt_params_with_guess_plus_slip_of_one_or_more_are_rejected(
    guess: float, slip: float
) -> None:
    with pytest.raises(InvalidInput) as error:
        BktParams(guess=guess, slip=slip).validate("skills[0].bkt")
    assert error.value.field == "skills[0].bkt.guess"


def test_valid_bkt_params_validate_to_themselves() -> None:
    params = BktParams(prior=0.0, learn=1.0, guess=0.3, slip=0.2)
    assert params.validate("bkt") is params


@pytest.mark.parametrize(
    ("correct", "score", "expected"),
    [
        (True, 0.0, True),
        (False, 1.0, False),
        (True, None, True),
        (False, None, False),
        (None, 0.7, True),
        (None, 0.71, True),
        (None, 0.69, False),
        (None, 0.0, False),
        (None, None, None),
    ],
)
def test_judge_answer_prefers_the_flag_then_the_score_threshold(
    correct: bool | None, score: float | None, expected: bool | None
) -> None:
    assert judge_answer(correct=correct, score=score, pass_threshold=0.7) is expected


def test_a_new_skill_state_starts_at_the_log_odds_of_the_prior() -> None:
    state = new_skill_state("ada", "ec2", BktParams(prior=0.25))
    assert state.log_odds == pytest.approx(math.log(1 / 3), abs=1e-15)
    assert state.base_log_odds == state.log_odds
    assert state.p_known == pytest.approx(0.25, abs=1e-15)
    assert (state.answers, state.dropped, state.mastered_at) == ((), 0, None)
    assert state.attempts == 0
    assert state.average_score is None
    assert state.level is MasteryLevel.NOVICE
    assert not state.mastered


def test_practising_with_an_answer_updates_knowledge_and_counters() -> None:
    state = new_skill_state("ada", "ec2", DEFAULT_BKT)
    state = practise(
        state, at=NOW, time_spent_seconds=30, correct=True, score=0.8, params=DEFAULT_BKT
    )
    state = practise(
        state, at=NOW, time_spent_seconds=20, correct=False, score=None, params=DEFAULT_BKT
    )
    assert state.p_known == pytest.approx(bkt_by_hand(0.4, False, t=0.1, g=0.2, s=0.1))
    assert (state.attempts, state.correct, state.scored) == (2, 1, 1)
    assert state.average_score == pytest.approx(0.8)
    assert state.time_spent_seconds == 50


def test_practising_without_an_answer_adds_time_but_keeps_knowledge() -> None:
    state = new_skill_state("ada", "ec2", DEFAULT_BKT)
    after = practise(
        state, at=NOW, time_spent_seconds=90, correct=None, score=None, params=DEFAULT_BKT
    )
    assert after.log_odds == state.log_odds
    assert after.answers == ()
    assert after.attempts == 0
    assert after.time_spent_seconds == 90
    assert after.last_practised_at == NOW


def test_a_late_practice_does_not_move_last_practised_at_backwards() -> None:
    state = new_skill_state("ada", "ec2", DEFAULT_BKT)
    state = practise(
        state, at=NOW, time_spent_seconds=0, correct=None, score=None, params=DEFAULT_BKT
    )
    state = practise(
        state,
        at=NOW - timedelta(hours=1),
        time_spent_seconds=0,
        correct=True,
        score=None,
        params=DEFAULT_BKT,
    )
    assert state.last_practised_at == NOW


def test_learning_nothing_leaves_the_bayes_posterior_as_it_is() -> None:
    # P(correct) = 0.27, so the posterior of a right answer from 0.1 is 0.09 / 0.27 = 1/3.
    no_learning = BktParams(prior=0.1, learn=0.0, guess=0.2, slip=0.1)
    assert update_knowledge(0.1, correct=True, params=no_learning) == pytest.approx(
        1 / 3, abs=1e-15
    )


@pytest.mark.parametrize(
    ("rights", "wrongs", "expected"),
    [(25, 20, 0.2979), (200, 200, 0.1143), (500, 420, 0.1143), (60, 3, 1.0)],
)
def test_long_runs_of_answers_match_exact_arithmetic(
    rights: int, wrongs: int, expected: float
) -> None:
    answers = [RIGHT] * rights + [WRONG] * wrongs
    state = answered(in_a_row(answers))
    exact = exact_bkt(answers)
    assert state.p_known == pytest.approx(float(exact), abs=1e-9)
    assert state.p_known == pytest.approx(expected, abs=1e-4)


def test_many_right_answers_keep_counting_instead_of_sticking_at_certainty() -> None:
    rights = [RIGHT] * 500
    state = answered(in_a_row(rights))
    assert state.log_odds == pytest.approx(exact_log_odds(exact_bkt(rights)), rel=1e-9)
    wrongs = [WRONG] * 20
    after = answered(in_a_row(wrongs, start=500), state=state)
    exact = exact_bkt(rights + wrongs)
    assert after.p_known == pytest.approx(float(exact), abs=1e-9)
    assert after.log_odds == pytest.approx(exact_log_odds(exact), rel=1e-9)
    assert after.log_odds < state.log_odds


DEGENERATE = [
    BktParams(prior=0.0, learn=0.0, guess=0.0, slip=0.0),
    BktParams(prior=1.0, learn=0.0, guess=0.0, slip=0.0),
    BktParams(prior=0.0, learn=1.0, guess=0.0, slip=0.0),
    BktParams(prior=1.0, learn=1.0, guess=0.3, slip=0.0),
    BktParams(prior=0.5, learn=0.0, guess=0.0, slip=0.0),
    BktParams(prior=0.0, learn=0.0, guess=0.3, slip=0.6),
]


@pytest.mark.parametrize("params", DEGENERATE)
def test_degenerate_parameters_never_give_nan(params: BktParams) -> None:
    pattern = [RIGHT, WRONG, WRONG, RIGHT, RIGHT, WRONG]
    for order in itertools.permutations(in_a_row(pattern), 6):
        state = answered(order, params.validate("bkt"))
        values = [state.log_odds, state.base_log_odds, *(a.log_odds for a in state.answers)]
        assert not any(math.isnan(value) for value in values)
        assert 0.0 <= state.p_known <= 1.0
    for p_known in (0.0, 0.5, 1.0):
        for correct in (RIGHT, WRONG):
            assert not math.isnan(update_knowledge(p_known, correct=correct, params=params))


def test_an_answer_that_cannot_happen_leaves_certain_knowledge_as_it_is() -> None:
    never_slips = BktParams(prior=0.5, learn=0.0, guess=0.0, slip=0.0)
    known = answered(in_a_row([RIGHT]), never_slips)
    assert known.p_known == 1.0
    assert answered([(minute(5), WRONG)], never_slips, state=known).p_known == 1.0
    unknown = answered(in_a_row([WRONG]), never_slips)
    assert unknown.p_known == 0.0
    assert answered([(minute(5), RIGHT)], never_slips, state=unknown).p_known == 0.0


def test_mastery_changed_says_whether_a_skill_was_mastered_or_lost() -> None:
    fresh = new_skill_state("ada", "ec2", DEFAULT_BKT)
    mastered = answered(in_a_row([RIGHT] * 4))
    assert mastered.mastered
    assert mastery_changed(fresh, mastered) == 1
    assert mastery_changed(mastered, fresh) == -1
    assert mastery_changed(fresh, fresh) == 0
    assert mastery_changed(mastered, mastered) == 0
