"""The next best items: reviews due first, then weak domains, then next up; each once."""

from __future__ import annotations

from domain.catalog import ContentKind
from domain.suggestions import DueItem, SuggestionReason, WeakDomainItems, minutes_for, suggest
from tests.factories import content_item

A = content_item(id="a", kind=ContentKind.QUESTION, estimated_minutes=None)
B = content_item(id="b", kind=ContentKind.LAB, estimated_minutes=None)
C = content_item(id="c", estimated_minutes=12)
D = content_item(id="d", estimated_minutes=5)


def test_reviews_come_first_least_recalled_first_then_weak_domains_then_next_up() -> None:
    chosen = suggest(
        due=[DueItem(A, 0.8), DueItem(B, 0.4)],
        weak=[WeakDomainItems("Security", 0.3, (C,))],
        next_up=[D],
        limit=10,
    )

    assert [(s.rank, s.item.id, s.reason) for s in chosen] == [
        (1, "b", SuggestionReason.REVIEW_DUE),
        (2, "a", SuggestionReason.REVIEW_DUE),
        (3, "c", SuggestionReason.WEAK_DOMAIN),
        (4, "d", SuggestionReason.NEXT_UP),
    ]
    assert chosen[0].message == "Due for review: 40% chance of recalling it now"
    assert chosen[2].message == "Strengthens Security (30% mastered)"


def test_an_item_appears_once_under_its_first_reason_and_the_list_is_cut_at_the_limit() -> None:
    chosen = suggest(
        due=[DueItem(C, 0.5)],
        weak=[WeakDomainItems("Security", 0.3, (C, D))],
        next_up=[D, A, B],
        limit=3,
    )

    assert [(s.item.id, s.reason) for s in chosen] == [
        ("c", SuggestionReason.REVIEW_DUE),
        ("d", SuggestionReason.WEAK_DOMAIN),
        ("a", SuggestionReason.NEXT_UP),
    ]


def test_minutes_come_from_the_catalog_or_the_kind() -> None:
    assert (minutes_for(A), minutes_for(B), minutes_for(C)) == (2, 30, 12)
