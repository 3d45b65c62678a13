"""Spaced repetition: when a learner should next review an item, and how likely they recall it.

Each answered item has an FSRS card (the Free Spaced Repetition Scheduler, PyPI `fsrs`, with its
default parameters: 90 % desired retention, no fuzzing so that a schedule is reproducible). An
answer is a review: a wrong answer rates `Again`, a right one `Good`. The card says when the item
is due again and, at any moment, the probability the learner recalls it (its retrievability).

Reviews must be applied in time order. An answer older than the card's last review (sent late by
an offline client) does not change the schedule: the card already reflects a later review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler, State

_SCHEDULER = Scheduler(enable_fuzzing=False)


@dataclass(frozen=True, slots=True)
class ReviewCard:
    state: int  # fsrs.State: 1 learning, 2 review, 3 relearning
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reviews: int = 0
    lapses: int = 0  # wrong answers after the first


def review(card: ReviewCard | None, *, correct: bool, at: datetime) -> ReviewCard:
    """The card after an answer at `at` (a late answer leaves it as it is)."""
    at = at.astimezone(UTC)
    if card is not None and card.last_review is not None and at < card.last_review:
        return card
    current = _to_fsrs(card, at)
    reviewed, _ = _SCHEDULER.review_card(current, Rating.Good if correct else Rating.Again, at)
    return ReviewCard(
        state=int(reviewed.state),
        step=reviewed.step,
        stability=reviewed.stability,
        difficulty=reviewed.difficulty,
        due=reviewed.due,
        last_review=reviewed.last_review,
        reviews=(card.reviews if card else 0) + 1,
        lapses=(card.lapses if card else 0) + (0 if correct or card is None else 1),
    )


def recall_probability(card: ReviewCard, at: datetime) -> float:
    """The probability the learner recalls the item at `at` (0 before any review)."""
    return float(_SCHEDULER.get_card_retrievability(_to_fsrs(card, at), at.astimezone(UTC)))


def is_due(card: ReviewCard, at: datetime) -> bool:
    return card.due <= at


def _to_fsrs(card: ReviewCard | None, at: datetime) -> Card:
    # A fixed id: fsrs would otherwise take the clock (and sleep a millisecond to keep ids apart).
    if card is None:
        return Card(card_id=1, state=State.Learning, due=at)
    return Card(
        card_id=1,
        state=State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due.astimezone(UTC),
        last_review=None if card.last_review is None else card.last_review.astimezone(UTC),
    )
