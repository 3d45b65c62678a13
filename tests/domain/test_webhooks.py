"""Outbound webhooks: the body, the signature a receiver checks, and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from domain.webhooks import (
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Dead,
    OutboxMessage,
    Retry,
    RetrySchedule,
    after_failure,
    delivery_headers,
    encode_body,
    is_delivered,
    is_gone,
    sign,
    verify_signature,
)

SECRET = "webhook-tests-only-secret-0123456789abcdef"
NOW = datetime(2025, 3, 14, 9, 26, 53, 589_000, tzinfo=UTC)


def message(**overrides: object) -> OutboxMessage:
    fields: dict[str, object] = {
        "id": "unlock|ada|streak-7",
        "kind": "achievement_unlocked",
        "user_id": "ada",
        "payload": {"achievement": "streak-7", "points": 50, "title": "Week-long streak"},
        "created_at": NOW,
    }
    fields.update(overrides)
    return OutboxMessage(**fields)  # type: ignore[arg-type]


# The body ------------------------------------------------------------------------------------


def test_the_body_is_compact_json_with_the_id_type_time_user_and_data() -> None:
    body = encode_body(message())

    assert b" " not in body.replace(b"Week-long streak", b"")
    assert json.loads(body) == {
        "id": "unlock|ada|streak-7",
        "type": "achievement_unlocked",
        "createdAt": "2025-03-14T09:26:53.589Z",
        "userId": "ada",
        "data": {"achievement": "streak-7", "points": 50, "title": "Week-long streak"},
    }


def test_the_body_is_the_same_whenever_it_is_encoded() -> None:
    # The database keeps milliseconds: a message read back must encode to the same bytes.
    precise = message(created_at=NOW + timedelta(microseconds=123))
    read_back = message(created_at=NOW)

    assert encode_body(precise) == encode_body(read_back)


def test_a_message_without_a_user_says_so() -> None:
    assert json.loads(encode_body(message(user_id=None)))["userId"] is None


def test_the_headers_name_the_delivery_the_event_and_carry_a_signature() -> None:
    body = encode_body(message())

    headers = delivery_headers(message(), body, secret=SECRET, now=NOW)

    assert headers[DELIVERY_ID_HEADER] == "unlock|ada|streak-7"
    assert headers[EVENT_HEADER] == "achievement_unlocked"
    assert headers["Content-Type"] == "application/json"
    assert headers[SIGNATURE_HEADER].startswith(f"t={int(NOW.timestamp())},v1=")
    assert verify_signature(SECRET, headers[SIGNATURE_HEADER], body, now=NOW)


# The signature -------------------------------------------------------------------------------


def test_a_signature_is_hmac_sha256_of_the_time_and_body() -> None:
    header = sign(SECRET, b'{"a":1}', timestamp=1_700_000_000)

    expected = hmac.new(SECRET.encode(), b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_signature_verifies_with_the_same_secret_and_body() -> None:
    body = encode_body(message())
    header = sign(SECRET, body, timestamp=int(NOW.timestamp()))

    assert verify_signature(SECRET, header, body, now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"50", b"51")), id="body"),
        pytest.param(
            lambda h, b: (re.sub(r"t=(\d+)", lambda m: f"t={int(m[1]) + 1}", h), b), id="timestamp"
        ),
        pytest.param(lambda h, b: (h[:-1] + ("0" if h[-1] != "0" else "1"), b), id="signature"),
        pytest.param(lambda h, b: (h.split(",")[0], b), id="no-signature"),
        pytest.param(lambda h, b: ("v1=" + h.split("v1=")[1], b), id="no-timestamp"),
        pytest.param(lambda h, b: ("", b), id="empty"),
        pytest.param(lambda h, b: ("t=abc,v1=00", b), id="garbage"),
    ],
)
def test_a_tampered_delivery_is_refused(tamper: object) -> None:
    body = encode_body(message())
    header = sign(SECRET, body, timestamp=int(NOW.timestamp()))

    bad_header, bad_body = tamper(header, body)  # type: ignore[operator]

    assert not verify_signature(SECRET, bad_header, bad_body, now=NOW)


def test_another_secret_is_refused() -> None:
    body = encode_body(message())
    header = sign(SECRET, body, timestamp=int(NOW.timestamp()))

    assert not verify_signature(SECRET + "x", header, body, now=NOW)


def test_a_signature_from_outside_the_tolerance_is_refused() -> None:
    body = encode_body(message())
    signed_at = int(NOW.timestamp())
    header = sign(SECRET, body, timestamp=signed_at)
    tolerance = timedelta(minutes=5)

    def verifies(now: datetime) -> bool:
        return verify_signature(SECRET, header, body, now=now, tolerance=tolerance)

    assert verifies(NOW + timedelta(minutes=4, seconds=59))
    assert verifies(NOW - timedelta(minutes=4, seconds=59))  # the sender's clock runs ahead
    assert not verifies(NOW + timedelta(minutes=5, seconds=2))  # a replay, later
    assert not verifies(NOW - timedelta(minutes=5, seconds=2))


def test_any_of_several_signatures_may_match_while_a_secret_is_rotated() -> None:
    body = encode_body(message())
    old = sign("an-old-secret-that-is-being-retired-0000", body, timestamp=int(NOW.timestamp()))
    new = sign(SECRET, body, timestamp=int(NOW.timestamp()))
    header = f"{old},{new.split(',')[1]}"

    assert verify_signature(SECRET, header, body, now=NOW)


# The retry schedule --------------------------------------------------------------------------

SCHEDULE = RetrySchedule(
    max_attempts=12, first_delay=timedelta(seconds=1), max_delay=timedelta(minutes=10)
)


def test_the_ceiling_doubles_from_the_first_delay_up_to_the_cap() -> None:
    ceilings = [SCHEDULE.ceiling(attempts).total_seconds() for attempts in range(1, 13)]

    assert ceilings == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]


def test_the_ceiling_stays_at_the_cap_however_many_attempts() -> None:
    assert SCHEDULE.ceiling(10_000) == timedelta(minutes=10)


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999999])
def test_a_delay_is_drawn_anywhere_up_to_the_ceiling(draw: float) -> None:
    for attempts in range(1, 15):
        delay = SCHEDULE.delay(attempts, random=lambda: draw)

        assert timedelta(0) <= delay <= SCHEDULE.ceiling(attempts)
        assert delay == SCHEDULE.ceiling(attempts) * draw


def test_delays_are_spread_out_rather_than_in_lock_step() -> None:
    rng = random.Random(7)
    delays = {SCHEDULE.delay(5, random=rng.random) for _ in range(50)}

    assert len(delays) == 50
    assert all(timedelta(0) <= delay <= timedelta(seconds=16) for delay in delays)


def test_a_failed_attempt_is_retried_after_a_jittered_delay() -> None:
    decision = after_failure(SCHEDULE, attempts=3, now=NOW, random=lambda: 0.5)

    assert decision == Retry(at=NOW + timedelta(seconds=2))


def test_the_last_allowed_attempt_failing_makes_the_message_dead() -> None:
    assert isinstance(after_failure(SCHEDULE, attempts=11, now=NOW, random=lambda: 0), Retry)
    assert after_failure(SCHEDULE, attempts=12, now=NOW, random=lambda: 0) == Dead()


def test_a_receiver_saying_gone_makes_the_message_dead_at_once() -> None:
    decision = after_failure(SCHEDULE, attempts=1, now=NOW, random=lambda: 0, gone=True)

    assert decision == Dead()


def test_a_schedule_needs_at_least_one_attempt_and_a_sane_delay() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetrySchedule(max_attempts=0)
    with pytest.raises(ValueError, match="delay"):
        RetrySchedule(first_delay=timedelta(0))
    with pytest.raises(ValueError, match="delay"):
        RetrySchedule(first_delay=timedelta(minutes=2), max_delay=timedelta(minutes=1))


@pytest.mark.parametrize(
    ("status", "delivered", "gone"),
    [
        (200, True, False),
        (202, True, False),
        (204, True, False),
        (299, True, False),
        (301, False, False),
        (400, False, False),
        (410, False, True),
        (429, False, False),
        (500, False, False),
        (503, False, False),
    ],
)
def test_only_a_2xx_answer_delivers_and_only_410_means_gone(
    status: int, delivered: bool, gone: bool
) -> None:
    assert (is_delivered(status), is_gone(status)) == (delivered, gone)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"id": ""}, id="empty-id"),
        pytest.param({"id": "unlock|adà"}, id="non-ascii-id"),
        pytest.param({"id": "two words"}, id="space-in-id"),
        pytest.param({"id": "x" * 257}, id="long-id"),
        pytest.param({"kind": ""}, id="empty-kind"),
        pytest.param({"created_at": datetime(2025, 3, 14, 9, 26)}, id="naive-time"),
        pytest.param({"payload": {"score": float("nan")}}, id="nan"),
        pytest.param({"payload": {"when": NOW}}, id="not-json"),
    ],
)
def test_a_message_that_could_not_be_sent_is_refused_where_it_is_made(
    overrides: dict[str, object],
) -> None:
    with pytest.raises((ValueError, TypeError)):
        message(**overrides)
