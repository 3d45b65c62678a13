"""Learning analytics types: reviews due, the next best items, at-risk reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from domain import review, risk, suggestions
from resolvers import analytics
from schema.catalog import ContentItem
from schema.progress import ContentProgress

SuggestionReason = strawberry.enum(
    suggestions.SuggestionReason, description="Why an item is suggested."
)
RiskKind = strawberry.enum(risk.RiskKind, description="A reason a learner is at risk.")


@strawberry.type(description="An item's spaced-repetition schedule (FSRS).")
class ReviewSchedule:
    due_at: datetime
    last_reviewed_at: datetime | None
    recall_probability: float = strawberry.field(
        description="Probability the learner recalls it now, 0..1."
    )
    reviews: int
    lapses: int = strawberry.field(description="Wrong answers after the first review.")

    @classmethod
    def from_domain(cls, card: review.ReviewCard, now: datetime) -> Self:
        return cls(
            due_at=card.due,
            last_reviewed_at=card.last_review,
            recall_probability=round(review.recall_probability(card, now), 4),
            reviews=card.reviews,
            lapses=card.lapses,
        )


@strawberry.type(description="An item due for review.")
class DueReview:
    content: ContentItem | None
    progress: ContentProgress
    due_at: datetime
    recall_probability: float = strawberry.field(description="Now, 0..1.")

    @classmethod
    def from_domain(cls, value: analytics.DueReview) -> Self:
        assert value.progress.review is not None
        return cls(
            content=ContentItem.from_domain(value.item) if value.item else None,
            progress=ContentProgress.from_domain(value.progress),
            due_at=value.progress.review.due,
            recall_probability=round(value.recall, 4),
        )


@strawberry.type(description="A suggested next item, with why and how long it takes.")
class NextItem:
    rank: int
    content: ContentItem
    reason: SuggestionReason  # type: ignore[valid-type]
    message: str
    estimated_minutes: int

    @classmethod
    def from_domain(cls, value: suggestions.Suggestion) -> Self:
        return cls(
            rank=value.rank,
            content=ContentItem.from_domain(value.item),
            reason=value.reason,
            message=value.message,
            estimated_minutes=value.minutes,
        )


@strawberry.type(description="One reason a learner is at risk.")
class RiskReason:
    kind: RiskKind  # type: ignore[valid-type]
    message: str


@strawberry.type(description="Whether a learner is at risk, and why (README: At risk).")
class RiskAssessment:
    at_risk: bool
    reasons: list[RiskReason]

    @classmethod
    def from_domain(cls, reasons: list[risk.RiskReason]) -> Self:
        return cls(
            at_risk=bool(reasons),
            reasons=[RiskReason(kind=r.kind, message=r.message) for r in reasons],
        )
