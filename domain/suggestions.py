"""The next best items for a learner: named, ranked, each with its reason and minutes.

Three sources, in this order: items due for review (the least likely to be recalled first:
forgetting is what a review repairs), unfinished items of the weakest exam domains (what raises
the pass probability most), then the next new items of the learner's certifications. An item
appears once, under its first reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.catalog import ContentItem, ContentKind

# Minutes an item takes when the catalog does not say.
DEFAULT_MINUTES: dict[ContentKind, int] = {
    ContentKind.LESSON: 10,
    ContentKind.QUESTION: 2,
    ContentKind.LAB: 30,
    ContentKind.QUIZ: 10,
    ContentKind.PRACTICE: 15,
}


class SuggestionReason(StrEnum):
    REVIEW_DUE = "review_due"
    WEAK_DOMAIN = "weak_domain"
    NEXT_UP = "next_up"


@dataclass(frozen=True, slots=True)
class Suggestion:
    rank: int
    item: ContentItem
    reason: SuggestionReason
    message: str
    minutes: int


@dataclass(frozen=True, slots=True)
class DueItem:
    item: ContentItem
    recall: float  # probability of recalling it now


@dataclass(frozen=True, slots=True)
class WeakDomainItems:
    domain: str
    mastery: float
    items: tuple[ContentItem, ...]


def minutes_for(item: ContentItem) -> int:
    return item.estimated_minutes or DEFAULT_MINUTES[item.kind]


def suggest(
    *,
    due: Sequence[DueItem],
    weak: Sequence[WeakDomainItems],
    next_up: Sequence[ContentItem],
    limit: int,
) -> list[Suggestion]:
    candidates: list[tuple[ContentItem, SuggestionReason, str]] = []
    for entry in sorted(due, key=lambda d: (d.recall, d.item.id)):
        candidates.append(
            (
                entry.item,
                SuggestionReason.REVIEW_DUE,
                f"Due for review: {entry.recall:.0%} chance of recalling it now",
            )
        )
    for domain in weak:
        for item in domain.items:
            candidates.append(
                (
                    item,
                    SuggestionReason.WEAK_DOMAIN,
                    f"Strengthens {domain.domain} ({domain.mastery:.0%} mastered)",
                )
            )
    for item in next_up:
        candidates.append((item, SuggestionReason.NEXT_UP, "Next up in your study path"))
    seen: set[str] = set()
    chosen: list[Suggestion] = []
    for item, reason, message in candidates:
        if item.id in seen:
            continue
        seen.add(item.id)
        chosen.append(Suggestion(len(chosen) + 1, item, reason, message, minutes_for(item)))
        if len(chosen) == limit:
            break
    return chosen
