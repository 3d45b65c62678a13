"""Spaced repetition: each answer schedules the item's next review (FSRS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.review import is_due, recall_probability, review

START = datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_a_first_right_answer_schedules_a_short_learning_step() -> None:
    card = review(None, correct=True, at=START)

    assert card.reviews == 1 and card.lapses == 0
    assert card.last_review == START
    assert START < card.due <= START + timedelta(days=1)


def test_right_answers_on_time_space_the_reviews_out() -> None:
    card = review(None, correct=True, at=START)
    intervals = []
    for _ in range(4):
        previous = card
        card = review(card, correct=True, at=card.due)
        intervals.append(card.due - previous.due)

    assert intervals == sorted(intervals)
    assert intervals[-1] > timedelta(days=7)


def test_a_wrong_answer_brings_the_review_back_soon_and_counts_a_lapse() -> None:
    card = review(None, correct=True, at=START)
    for _ in range(3):
        card = review(card, correct=True, at=card.due)
    forgotten = review(card, correct=False, at=card.due)

    assert forgotten.lapses == 1
    assert forgotten.due - card.due < timedelta(days=1)


def test_recall_fades_with_time_and_is_about_ninety_percent_when_due() -> None:
    card = review(None, correct=True, at=START)
    for _ in range(3):
        card = review(card, correct=True, at=card.due)
    assert card.last_review is not None

    soon = recall_probability(card, card.last_review + timedelta(days=1))
    when_due = recall_probability(card, card.due)
    later = recall_probability(card, card.due + timedelta(days=30))

    assert soon > when_due > later
    assert abs(when_due - 0.9) < 0.02  # FSRS schedules at 90 % desired retention
    assert is_due(card, card.due) and not is_due(card, card.due - timedelta(minutes=1))


def test_a_late_answer_does_not_rewrite_a_later_schedule() -> None:
    card = review(review(None, correct=True, at=START), correct=True, at=START + timedelta(days=2))

    assert review(card, correct=False, at=START + timedelta(days=1)) == card


def test_the_schedule_is_reproducible() -> None:
    def schedule() -> list[datetime]:
        card = review(None, correct=True, at=START)
        dues = [card.due]
        for correct in (True, False, True, True):
            card = review(card, correct=correct, at=card.due)
            dues.append(card.due)
        return dues

    assert schedule() == schedule()
