"""Outbound webhooks: what is sent, how it is signed, and when a failed delivery is tried again.

A message is written to the outbox in the same transaction as what caused it, then posted to the
notification service. Its body is compact JSON; its signature, in the Stripe and Standard Webhooks
style, is an HMAC-SHA256 over the send time and the body, so a receiver can tell the body came
from Cairn and refuse an old delivery replayed later. The id is the message's own, fixed when it
is written: every attempt carries the same `Cairn-Delivery-Id`, which receivers de-duplicate by.

Failed deliveries are retried with exponential back-off and full jitter (anywhere between zero and
a ceiling that doubles with each attempt, up to a cap), so a receiver coming back from an outage
is not hit by every sender at once; after the last allowed attempt the message is dead: kept, with
its last error, never silently dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SIGNATURE_HEADER = "Cairn-Signature"
DELIVERY_ID_HEADER = "Cairn-Delivery-Id"
EVENT_HEADER = "Cairn-Event"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = timedelta(minutes=5)
MAX_ID_LENGTH = 256

Random = Callable[[], float]  # a draw in [0, 1), such as `random.random`


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One notification to send. `id` is derived from its cause (the unlock, say), so a unit of
    work that runs again writes the same message rather than a second one."""

    id: str
    kind: str  # what happened, e.g. "achievement_unlocked": the body's `type`
    user_id: str | None
    payload: dict[str, Any]  # JSON-able: the body's `data`
    created_at: datetime

    def __post_init__(self) -> None:
        # It travels in a header: visible ASCII only.
        if not 0 < len(self.id) <= MAX_ID_LENGTH or not all(33 <= ord(c) < 127 for c in self.id):
            raise ValueError(f"an outbox message id must be 1 to {MAX_ID_LENGTH} visible ASCII")
        if not self.kind or not all(33 <= ord(c) < 127 for c in self.kind):
            raise ValueError("an outbox message kind must be visible ASCII")
        if self.created_at.tzinfo is None:
            raise ValueError("an outbox message's created_at must carry its time zone")
        encode_body(self)  # a payload that is not JSON fails here, in its producer's unit


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message due to be sent, with the attempts already made to send it."""

    message: OutboxMessage
    attempts: int


# The body and its headers ------------------------------------------------------------------


def _timestamp(value: datetime) -> str:
    # Milliseconds, as the database keeps them: a message read back encodes to the same bytes.
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_body(message: OutboxMessage) -> bytes:
    """`{"id", "type", "createdAt", "userId", "data"}` as compact JSON (ASCII, escaped)."""
    body = {
        "id": message.id,
        "type": message.kind,
        "createdAt": _timestamp(message.created_at),
        "userId": message.user_id,
        "data": message.payload,
    }
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The `Cairn-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`."""
    return f"t={timestamp},{SIGNATURE_VERSION}={_mac(secret, timestamp, body)}"


def delivery_headers(
    message: OutboxMessage, body: bytes, *, secret: str, now: datetime
) -> dict[str, str]:
    """The headers of one attempt: signed at `now`, so a retry is never too old to verify."""
    return {
        "Content-Type": "application/json",
        DELIVERY_ID_HEADER: message.id,
        EVENT_HEADER: message.kind,
        SIGNATURE_HEADER: sign(secret, body, timestamp=int(now.timestamp())),
    }


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """Whether `header` (a `Cairn-Signature`) signs `body` with `secret`, at a time within
    `tolerance` of `now`. Several `v1` entries may be given (while a secret is rotated); any one
    matching is enough. Compared in constant time."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SIGNATURE_VERSION:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = _mac(secret, timestamp, body)
    # Every candidate is compared, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    return any(matches)


# Outcomes and retries ----------------------------------------------------------------------


def is_delivered(status: int) -> bool:
    """Any 2xx answer delivers the message."""
    return 200 <= status < 300


def is_gone(status: int) -> bool:
    """410 Gone: the receiver will never take it; trying again is pointless."""
    return status == 410


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential back-off with full jitter: after the n-th failed attempt, wait anywhere up to
    min(max_delay, first_delay x 2^(n-1)); after `max_attempts` failed attempts, give up."""

    max_attempts: int = 20
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.first_delay <= timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("the first delay must be positive and at most the maximum delay")

    def ceiling(self, attempts: int) -> timedelta:
        """The longest wait after `attempts` failed attempts."""
        seconds = self.first_delay.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 64)
        return min(self.max_delay, timedelta(seconds=min(seconds, 1e9)))

    def delay(self, attempts: int, *, random: Random) -> timedelta:
        return self.ceiling(attempts) * random()


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime


@dataclass(frozen=True, slots=True)
class Dead:
    """Given up on: kept with its last error, for an operator to look at."""


def after_failure(
    schedule: RetrySchedule,
    *,
    attempts: int,
    now: datetime,
    random: Random,
    gone: bool = False,
) -> Retry | Dead:
    """What to do once attempt number `attempts` has failed."""
    if gone or attempts >= schedule.max_attempts:
        return Dead()
    return Retry(at=now + schedule.delay(attempts, random=random))
