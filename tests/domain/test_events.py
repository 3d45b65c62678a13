from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.events import (
    MAX_METADATA_BYTES,
    MAX_TIME_SPENT_SECONDS,
    EventType,
    LearningEvent,
    RawScore,
    fingerprint,
    validate_event,
)
from tests.factories import NOW, draft

PREFIX = "events[3]"


def validated(*, known_content: bool = True, **overrides: Any) -> LearningEvent:
    return validate_event(
        draft(**overrides), field_prefix=PREFIX, received_at=NOW, known_content=known_content
    )


def rejected_field(known_content: bool = True, **overrides: Any) -> str:
    with pytest.raises(InvalidInput) as error:
        validated(known_content=known_content, **overrides)
    return error.value.field


def nested(depth: int) -> dict[str, Any]:
    """A metadata object `depth` levels deep: {"k": {"k": ... {"k": 1}}}."""
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    result: dict[str, Any] = value
    return result


def test_a_valid_draft_becomes_an_event_with_the_same_fields() -> None:
    event = validated(
        type=EventType.ANSWERED,
        score=0.9,
        correct=True,
        time_spent_seconds=60,
        session_id="s-1",
        metadata={"device": "ios"},
    )
    assert event.learner_id == "ada"
    assert event.type is EventType.ANSWERED
    assert event.content_id == "saa-ec2-1"
    assert event.score == 0.9
    assert event.correct is True
    assert event.time_spent_seconds == 60.0
    assert isinstance(event.time_spent_seconds, float)
    assert event.occurred_at == NOW
    assert event.session_id == "s-1"
    assert event.metadata == {"device": "ios"}
    assert len(event.fingerprint) == 32


def test_times_are_kept_to_the_millisecond_as_they_are_stored() -> None:
    sent = NOW - timedelta(minutes=5) + timedelta(microseconds=123_456)

    event = validated(occurred_at=sent)
    received = validate_event(
        draft(occurred_at=None),
        field_prefix=PREFIX,
        received_at=NOW + timedelta(microseconds=999),
        known_content=True,
    )

    # What the service answers and sends live is what it reads back later.
    assert event.occurred_at == sent - timedelta(microseconds=456)
    assert received.occurred_at == NOW
    assert event.fingerprint == validated(occurred_at=sent).fingerprint


def test_an_unknown_content_item_is_rejected_on_content_id() -> None:
    assert rejected_field(known_content=False) == f"{PREFIX}.contentId"


@pytest.mark.parametrize(
    ("field", "value", "expected_field"),
    [
        ("learner_id", "", "learnerId"),
        ("learner_id", "has space", "learnerId"),
        ("event_id", "", "eventId"),
        ("event_id", "x" * 129, "eventId"),
        ("content_id", "-starts-with-dash", "contentId"),
        ("session_id", "bad id", "sessionId"),
    ],
)
def test_malformed_ids_are_rejected_naming_the_field(
    field: str, value: str, expected_field: str
) -> None:
    overrides: dict[str, Any] = {field: value}
    assert rejected_field(**overrides) == f"{PREFIX}.{expected_field}"


@pytest.mark.parametrize(
    ("field", "expected_field"), [("learner_id", "learnerId"), ("event_id", "eventId")]
)
def test_an_id_with_a_trailing_newline_is_rejected(field: str, expected_field: str) -> None:
    overrides: dict[str, Any] = {field: "ada\n"}
    assert rejected_field(**overrides) == f"{PREFIX}.{expected_field}"


@pytest.mark.parametrize("score", [-0.01, 1.01, 50.0, math.nan, math.inf])
def test_a_score_outside_zero_to_one_is_rejected(score: float) -> None:
    assert rejected_field(score=score) == f"{PREFIX}.score"


@pytest.mark.parametrize("score", [0.0, 1.0, 0.5])
def test_scores_at_and_between_the_bounds_are_kept(score: float) -> None:
    assert validated(score=score).score == score


def test_no_score_stays_none() -> None:
    assert validated(score=None).score is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (RawScore(raw=8, min=0, max=10), 0.8),
        (RawScore(raw=0, min=0, max=10), 0.0),
        (RawScore(raw=10, min=0, max=10), 1.0),
        (RawScore(raw=75, min=50, max=100), 0.5),
        (RawScore(raw=-5, min=-10, max=10), 0.25),
    ],
)
def test_a_raw_score_is_scaled_between_min_and_max(raw: RawScore, expected: float) -> None:
    assert validated(score=None, raw_score=raw).score == pytest.approx(expected)


@pytest.mark.parametrize("raw", [RawScore(raw=11, min=0, max=10), RawScore(raw=-1, min=0, max=10)])
def test_a_raw_score_outside_min_and_max_is_rejected_on_raw(raw: RawScore) -> None:
    assert rejected_field(score=None, raw_score=raw) == f"{PREFIX}.rawScore.raw"


@pytest.mark.parametrize(
    "raw",
    [
        RawScore(raw=5, min=10, max=10),
        RawScore(raw=5, min=10, max=0),
        RawScore(raw=5, min=0, max=math.inf),
        RawScore(raw=math.nan, min=0, max=10),
    ],
)
def test_a_raw_score_with_an_empty_or_non_finite_range_is_rejected(raw: RawScore) -> None:
    assert rejected_field(score=None, raw_score=raw) == f"{PREFIX}.rawScore"


def test_giving_both_score_and_raw_score_is_rejected() -> None:
    field = rejected_field(score=0.5, raw_score=RawScore(raw=5, min=0, max=10))
    assert field == f"{PREFIX}.score"


@pytest.mark.parametrize(
    "seconds", [-1, -0.001, MAX_TIME_SPENT_SECONDS + 1, math.nan, math.inf, -math.inf]
)
def test_a_time_spent_that_is_negative_over_a_day_or_not_a_number_is_rejected(
    seconds: float,
) -> None:
    assert rejected_field(time_spent_seconds=seconds) == f"{PREFIX}.timeSpentSeconds"


@pytest.mark.parametrize("seconds", [0, 0.5, MAX_TIME_SPENT_SECONDS])
def test_a_time_spent_from_zero_up_to_a_full_day_is_accepted(seconds: float) -> None:
    assert validated(time_spent_seconds=seconds).time_spent_seconds == seconds


def test_the_time_spent_limit_is_twenty_four_hours() -> None:
    assert validated(time_spent_seconds=86_400).time_spent_seconds == 86_400
    assert rejected_field(time_spent_seconds=86_401) == f"{PREFIX}.timeSpentSeconds"


def test_an_event_more_than_five_minutes_in_the_future_is_rejected() -> None:
    late = NOW + timedelta(minutes=5, seconds=1)
    assert rejected_field(occurred_at=late) == f"{PREFIX}.occurredAt"


@pytest.mark.parametrize(
    "occurred_at",
    [
        NOW + timedelta(minutes=5),
        NOW + timedelta(minutes=4, seconds=59),
        NOW - timedelta(days=400),
        # The same instant as NOW + 5 min, written with another offset.
        (NOW + timedelta(minutes=5)).astimezone(timezone(timedelta(hours=-7))),
    ],
)
def test_an_event_up_to_five_minutes_ahead_or_in_the_past_is_accepted(
    occurred_at: datetime,
) -> None:
    assert validated(occurred_at=occurred_at).occurred_at == occurred_at


def test_a_naive_occurred_at_is_rejected() -> None:
    naive = datetime(2026, 3, 10, 11, 0)
    assert rejected_field(occurred_at=naive) == f"{PREFIX}.occurredAt"


def test_occurred_at_defaults_to_the_time_of_receipt() -> None:
    assert validated(occurred_at=None).occurred_at == NOW


def test_no_metadata_becomes_an_empty_object() -> None:
    assert validated(metadata=None).metadata == {}


def test_metadata_of_exactly_the_byte_limit_is_accepted() -> None:
    # '{"k":"' + value + '"}' is 8 bytes of JSON around the value.
    metadata = {"k": "x" * (MAX_METADATA_BYTES - 8)}
    assert validated(metadata=metadata).metadata == metadata


def test_metadata_over_the_byte_limit_is_rejected() -> None:
    metadata = {"k": "x" * (MAX_METADATA_BYTES - 7)}
    assert rejected_field(metadata=metadata) == f"{PREFIX}.metadata"


def test_the_metadata_byte_limit_is_four_kilobytes() -> None:
    # '{"k":"' + value + '"}' is 8 bytes of JSON around the value.
    four_kilobytes = {"k": "x" * (4096 - 8)}
    assert validated(metadata=four_kilobytes).metadata == four_kilobytes
    assert rejected_field(metadata={"k": "x" * (4096 - 7)}) == f"{PREFIX}.metadata"


def test_metadata_five_levels_deep_is_accepted() -> None:
    assert validated(metadata=nested(5)).metadata == nested(5)


@pytest.mark.parametrize(
    "metadata", [nested(6), {"a": [[[[{"b": 1}]]]]}, {"a": [{"b": [{"c": {"d": 1}}]}]}]
)
def test_metadata_nested_deeper_than_five_levels_is_rejected(metadata: dict[str, Any]) -> None:
    assert rejected_field(metadata=metadata) == f"{PREFIX}.metadata"


@pytest.mark.parametrize(
    "metadata",
    [
        {"$where": "1"},
        {"a.b": 1},
        {"ok": {"$gt": 1}},
        {"ok": [{"nested.key": 1}]},
    ],
)
def test_metadata_keys_starting_with_dollar_or_holding_a_dot_are_rejected(
    metadata: dict[str, Any],
) -> None:
    assert rejected_field(metadata=metadata) == f"{PREFIX}.metadata"


def test_metadata_keys_with_a_dollar_inside_are_accepted() -> None:
    assert validated(metadata={"price$": 1}).metadata == {"price$": 1}


def test_the_error_message_names_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"^events\[3\]\.score: "):
        validated(score=2.0)


def test_identical_drafts_have_the_same_fingerprint() -> None:
    first = draft(event_id="e-1", score=0.5, metadata={"a": 1, "b": [1, 2]})
    second = draft(event_id="e-1", score=0.5, metadata={"b": [1, 2], "a": 1})
    assert fingerprint(first) == fingerprint(second)


def test_a_retry_with_a_defaulted_occurred_at_keeps_its_fingerprint() -> None:
    retry = draft(event_id="e-1", occurred_at=None)
    first = validate_event(retry, field_prefix="e", received_at=NOW, known_content=True)
    later = validate_event(
        retry, field_prefix="e", received_at=NOW + timedelta(minutes=3), known_content=True
    )
    assert first.occurred_at != later.occurred_at
    assert first.fingerprint == later.fingerprint


def test_the_same_instant_in_another_offset_keeps_the_fingerprint() -> None:
    elsewhere = NOW.astimezone(timezone(timedelta(hours=9)))
    assert fingerprint(draft(event_id="e-1")) == fingerprint(
        draft(event_id="e-1", occurred_at=elsewhere)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"type": EventType.COMPLETED},
        {"content_id": "saa-s3-1"},
        {"score": 0.8},
        {"score": None},
        {"score": None, "raw_score": RawScore(raw=9, min=0, max=10)},
        {"correct": True},
        {"correct": False},
        {"time_spent_seconds": 61},
        {"occurred_at": NOW + timedelta(seconds=1)},
        {"occurred_at": None},
        {"session_id": "s-2"},
        {"metadata": {"a": 2}},
        {"metadata": {}},
    ],
)
def test_a_different_payload_has_a_different_fingerprint(change: dict[str, Any]) -> None:
    base: dict[str, Any] = {"event_id": "e-1", "score": 0.9, "metadata": {"a": 1}}
    assert fingerprint(draft(**base)) != fingerprint(draft(**{**base, **change}))


def test_raw_scores_on_different_scales_have_different_fingerprints() -> None:
    first = draft(event_id="e-1", score=None, raw_score=RawScore(raw=5, min=0, max=10))
    second = draft(event_id="e-1", score=None, raw_score=RawScore(raw=10, min=0, max=20))
    assert fingerprint(first) != fingerprint(second)


def test_the_event_carries_the_fingerprint_of_its_draft() -> None:
    source = draft(event_id="e-9")
    event = validate_event(source, field_prefix="e", received_at=NOW, known_content=True)
    assert event.fingerprint == fingerprint(source)
