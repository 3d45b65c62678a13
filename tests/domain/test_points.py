from __future__ import annotations

import pytest

from domain.catalog import MAX_TITLE_LENGTH
from domain.errors import InvalidInput
from domain.events import EventType, RawScore, validate_event
from domain.points import (
    MAX_MANUAL_AWARD,
    PERFECT,
    PERFECT_SCORE_BONUS,
    EventAward,
    award_fingerprint,
    check_manual_award,
    event_awards,
)
from tests.domain.support import event
from tests.factories import NOW, draft

NOTHING: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("type_", "amount"),
    [(EventType.STARTED, 5), (EventType.COMPLETED, 10), (EventType.MASTERED, 25)],
)
def test_a_first_event_of_a_type_on_an_item_earns_its_points(type_: EventType, amount: int) -> None:
    awards = event_awards(event(type=type_, score=None), NOTHING)
    assert awards == [EventAward(type_.value, amount, f"{type_.value} saa-ec2-1")]


@pytest.mark.parametrize("type_", [EventType.STARTED, EventType.COMPLETED, EventType.MASTERED])
def test_the_same_type_on_the_same_item_earns_nothing_the_second_time(type_: EventType) -> None:
    assert event_awards(event(type=type_, score=None), frozenset({type_.value})) == []


def test_points_already_earned_for_another_type_do_not_block_this_one() -> None:
    awards = event_awards(event(type=EventType.COMPLETED, score=None), frozenset({"started"}))
    assert [(award.key, award.amount) for award in awards] == [("completed", 10)]


@pytest.mark.parametrize("type_", [EventType.VIEWED, EventType.ANSWERED])
@pytest.mark.parametrize("score", [None, 0.0, 0.9, 0.999])
def test_viewing_and_answering_earn_nothing_without_a_perfect_score(
    type_: EventType, score: float | None
) -> None:
    assert event_awards(event(type=type_, score=score), NOTHING) == []


def test_a_perfect_answer_earns_the_bonus() -> None:
    awards = event_awards(event(type=EventType.ANSWERED, score=1.0), NOTHING)
    assert awards == [EventAward(PERFECT, PERFECT_SCORE_BONUS, "perfect score on saa-ec2-1")]


def test_a_perfect_completion_earns_its_points_and_the_bonus() -> None:
    awards = event_awards(event(type=EventType.COMPLETED, score=1.0), NOTHING)
    assert [(award.key, award.amount) for award in awards] == [("completed", 10), (PERFECT, 10)]


@pytest.mark.parametrize(
    ("type_", "expected"), [(EventType.ANSWERED, []), (EventType.COMPLETED, [("completed", 10)])]
)
def test_the_perfect_bonus_is_earned_once_per_item(
    type_: EventType, expected: list[tuple[str, int]]
) -> None:
    awards = event_awards(event(type=type_, score=1.0), frozenset({PERFECT}))
    assert [(award.key, award.amount) for award in awards] == expected


def test_a_raw_score_at_its_maximum_is_perfect() -> None:
    perfect = validate_event(
        draft(score=None, raw_score=RawScore(raw=20, min=0, max=20)),
        field_prefix="events[0]",
        received_at=NOW,
        known_content=True,
    )
    assert [award.key for award in event_awards(perfect, NOTHING)] == [PERFECT]


@pytest.mark.parametrize("amount", [1, 250, MAX_MANUAL_AWARD])
def test_a_manual_award_within_bounds_is_accepted_with_a_trimmed_reason(amount: int) -> None:
    assert check_manual_award(amount, "  helped a peer  ", "award-1") == "helped a peer"


@pytest.mark.parametrize("amount", [0, -1, -500, MAX_MANUAL_AWARD + 1])
def test_a_manual_award_out_of_bounds_names_the_amount(amount: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_manual_award(amount, "helped a peer", "award-1")
    assert raised.value.field == "amount"
    assert str(MAX_MANUAL_AWARD) in raised.value.rule


@pytest.mark.parametrize("reason", ["", "   ", "\t\n", "x" * (MAX_TITLE_LENGTH + 1)])
def test_a_manual_award_needs_a_reason_and_names_it(reason: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_manual_award(10, reason, "award-1")
    assert raised.value.field == "reason"


@pytest.mark.parametrize("award_id", ["", " x", "a|b", "x" * 129])
def test_a_manual_award_needs_a_valid_award_id_and_names_it(award_id: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_manual_award(10, "helped a peer", award_id)
    assert raised.value.field == "awardId"


def test_an_award_fingerprint_tells_apart_amounts_and_reasons() -> None:
    same = award_fingerprint(10, "helped a peer")
    assert award_fingerprint(10, "helped a peer") == same
    assert award_fingerprint(11, "helped a peer") != same
    assert award_fingerprint(10, "helped a friend") != same
