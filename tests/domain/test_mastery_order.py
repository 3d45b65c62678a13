"""Mastery follows the answers in the order they happened, not the order they arrived."""

from __future__ import annotations

import itertools

import pytest

from domain.mastery import DEFAULT_BKT, mastery_changed, new_skill_state, practise
from tests.domain.test_mastery import RIGHT, WRONG, answered, exact_bkt, in_a_row, minute


def test_a_late_wrong_answer_counts_as_if_it_had_arrived_in_time() -> None:
    three_right = [(minute(1), RIGHT), (minute(2), RIGHT), (minute(3), RIGHT)]
    early_wrong = (minute(0), WRONG)
    exact = float(exact_bkt([WRONG, RIGHT, RIGHT, RIGHT]))
    in_one_request = answered([early_wrong, *three_right])
    late = answered([*three_right, early_wrong])
    assert exact == pytest.approx(0.9506, abs=1e-4)
    assert in_one_request.p_known == pytest.approx(exact, abs=1e-12)
    assert late.p_known == pytest.approx(exact, abs=1e-12)
    assert [answer.at for answer in late.answers] == [minute(n) for n in range(4)]


def test_every_arrival_order_of_six_answers_gives_the_forward_pass() -> None:
    pattern = [RIGHT, WRONG, RIGHT, RIGHT, WRONG, RIGHT]
    exact = float(exact_bkt(pattern))
    for arrival in itertools.permutations(in_a_row(pattern)):
        state = answered(arrival)
        assert state.p_known == pytest.approx(exact, abs=1e-12)
        assert [answer.correct for answer in state.answers] == pattern


def test_answers_at_the_same_time_keep_their_order_of_arrival() -> None:
    same_time = [(minute(1), WRONG), (minute(1), RIGHT)]
    state = answered([(minute(2), RIGHT), *same_time])
    assert [answer.correct for answer in state.answers] == [WRONG, RIGHT, RIGHT]
    assert state.p_known == pytest.approx(float(exact_bkt([WRONG, RIGHT, RIGHT])), abs=1e-12)


def test_the_counters_add_up_whatever_the_order() -> None:
    state = answered([(minute(3), RIGHT), (minute(1), WRONG), (minute(2), RIGHT)])
    assert (state.attempts, state.correct) == (3, 2)
    assert state.time_spent_seconds == 30
    assert state.last_practised_at == minute(3)


def test_a_late_wrong_answer_takes_mastery_back() -> None:
    mastered = answered([(minute(n), RIGHT) for n in (1, 2, 3, 5)])
    assert (mastered.mastered, mastered.mastered_at) == (True, minute(5))
    # In time order: right, right, right, wrong, right gives 0.927.
    after = answered([(minute(4), WRONG)], state=mastered)
    assert not after.mastered
    assert after.mastered_at is None
    assert mastery_changed(mastered, after) == -1


def test_mastered_at_moves_to_where_the_current_run_began_after_a_late_wrong_answer() -> None:
    mastered = answered([(minute(n), RIGHT) for n in (1, 2, 3, 5, 6, 7)])
    assert mastered.mastered_at == minute(5)
    # In time order: 0.4, 0.775, 0.9455, wrong 0.7158, 0.927, 0.9845, 0.9969.
    after = answered([(minute(4), WRONG)], state=mastered)
    assert after.mastered
    assert after.mastered_at == minute(6)
    assert mastery_changed(mastered, after) == 0


def test_mastered_at_moves_earlier_when_a_late_right_answer_starts_the_run_sooner() -> None:
    mastered = answered([(minute(n), RIGHT) for n in (2, 3, 4, 5)])
    assert mastered.mastered_at == minute(5)
    after = answered([(minute(1), RIGHT)], state=mastered)
    assert after.mastered_at == minute(4)


def test_mastered_at_stays_while_the_run_goes_on() -> None:
    state = answered(in_a_row([RIGHT] * 8, start=1))
    assert state.mastered_at == minute(4)


def test_an_answer_in_time_order_steps_once_and_keeps_the_earlier_entries() -> None:
    before = answered(in_a_row([RIGHT, WRONG, RIGHT, RIGHT]))
    after = answered([(minute(10), WRONG)], state=before)
    assert len(after.answers) == 5
    assert all(new is old for new, old in zip(after.answers, before.answers, strict=False))


def test_a_late_answer_retraces_only_from_where_it_belongs() -> None:
    before = answered(in_a_row([RIGHT, WRONG, RIGHT, RIGHT]))
    after = answered([(minute(1.5), WRONG)], state=before)
    assert [answer.at for answer in after.answers][2] == minute(1.5)
    assert after.answers[0] is before.answers[0]
    assert after.answers[1] is before.answers[1]
    assert all(
        new is not old for new, old in zip(after.answers[3:], before.answers[2:], strict=True)
    )


def test_the_window_drops_the_oldest_answers_and_carries_their_knowledge_on() -> None:
    pattern = [RIGHT, WRONG, RIGHT, RIGHT, WRONG, RIGHT, RIGHT, WRONG, RIGHT, RIGHT, RIGHT, WRONG]
    windowed = answered(in_a_row(pattern), window=5)
    assert [answer.at for answer in windowed.answers] == [minute(n) for n in range(7, 12)]
    assert windowed.dropped == 7
    seven = answered(in_a_row(pattern[:7]))
    assert windowed.base_log_odds == seven.log_odds
    assert windowed.p_known == pytest.approx(float(exact_bkt(pattern)), abs=1e-12)
    assert windowed.attempts == 12


def test_a_late_answer_inside_the_window_is_still_placed_exactly() -> None:
    pattern = [RIGHT, WRONG, RIGHT, RIGHT, WRONG, RIGHT, RIGHT, RIGHT]
    state = answered(in_a_row(pattern), window=5)
    after = answered([(minute(5.5), WRONG)], state=state, window=5)
    in_time_order = [*pattern[:6], WRONG, *pattern[6:]]
    assert after.p_known == pytest.approx(float(exact_bkt(in_time_order)), abs=1e-12)
    assert after.dropped == 4


def test_an_answer_older_than_the_window_is_applied_just_before_the_oldest_kept_answer() -> None:
    pattern = [RIGHT, WRONG, RIGHT, RIGHT, RIGHT, WRONG, RIGHT, RIGHT]
    state = answered(in_a_row(pattern, start=1), window=5)  # keeps minutes 4 to 8
    assert state.dropped == 3
    after = answered([(minute(0), WRONG)], state=state, window=5)
    as_documented = [*pattern[:3], WRONG, *pattern[3:]]
    assert after.p_known == pytest.approx(float(exact_bkt(as_documented)), abs=1e-12)
    # The too-old answer is the oldest of six kept, so it is the one the window drops.
    assert after.dropped == 4
    assert [answer.at for answer in after.answers] == [minute(n) for n in range(4, 9)]


def test_practice_without_an_answer_leaves_the_trace_alone() -> None:
    state = answered(in_a_row([RIGHT, RIGHT]))
    after = practise(
        state, at=minute(0), time_spent_seconds=5, correct=None, score=None, params=DEFAULT_BKT
    )
    assert after.answers is state.answers
    assert after.log_odds == state.log_odds
    assert after.last_practised_at == minute(1)


def test_a_window_smaller_than_one_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        practise(
            new_skill_state("ada", "ec2", DEFAULT_BKT),
            at=minute(0),
            time_spent_seconds=0,
            correct=RIGHT,
            score=None,
            params=DEFAULT_BKT,
            window=0,
        )
