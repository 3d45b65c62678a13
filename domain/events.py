"""Learning events: what a client reports, validated into what Cairn stores."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.catalog import check_id
from domain.errors import InvalidInput

MAX_BATCH = 1000
MAX_TIME_SPENT_SECONDS = 24 * 60 * 60
MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_METADATA_BYTES = 4096
MAX_METADATA_DEPTH = 5

JsonObject = dict[str, Any]


class EventType(StrEnum):
    VIEWED = "viewed"
    STARTED = "started"
    ANSWERED = "answered"
    COMPLETED = "completed"
    MASTERED = "mastered"
    HELPED = "helped"  # the learner helped a peer with the item (peer learning)


@dataclass(frozen=True, slots=True)
class RawScore:
    """A score on the client's own scale, as xAPI reports it: raw between min and max."""

    raw: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event as a client sent it, before any rule is checked."""

    learner_id: str
    event_id: str
    type: EventType
    content_id: str
    score: float | None = None
    raw_score: RawScore | None = None
    correct: bool | None = None
    time_spent_seconds: float = 0
    occurred_at: datetime | None = None
    session_id: str | None = None
    metadata: object = None  # checked to be a JSON object of bounded size


@dataclass(frozen=True, slots=True)
class LearningEvent:
    """A valid event. `score` is scaled 0..1; `occurred_at` is timezone-aware."""

    learner_id: str
    event_id: str
    type: EventType
    content_id: str
    occurred_at: datetime
    fingerprint: str
    score: float | None = None
    correct: bool | None = None
    time_spent_seconds: float = 0
    session_id: str | None = None
    metadata: JsonObject = field(default_factory=dict)


def to_milliseconds(at: datetime) -> datetime:
    """`at` to the millisecond, as MongoDB stores dates: what Cairn answers and sends live is
    then what it reads back later."""
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


def validate_event(
    draft: EventDraft, *, field_prefix: str, received_at: datetime, known_content: bool
) -> LearningEvent:
    """Checks every rule and returns the event to store, or raises InvalidInput naming the field."""
    check_id(draft.learner_id, f"{field_prefix}.learnerId")
    check_id(draft.event_id, f"{field_prefix}.eventId")
    check_id(draft.content_id, f"{field_prefix}.contentId")
    if not known_content:
        raise InvalidInput(
            f"{field_prefix}.contentId", f"unknown content item '{draft.content_id}'"
        )
    score = _scaled_score(draft, field_prefix)
    time_spent = draft.time_spent_seconds
    if not math.isfinite(time_spent) or time_spent < 0 or time_spent > MAX_TIME_SPENT_SECONDS:
        raise InvalidInput(
            f"{field_prefix}.timeSpentSeconds",
            f"must be between 0 and {MAX_TIME_SPENT_SECONDS} (24 hours)",
        )
    occurred_at = to_milliseconds(draft.occurred_at or received_at)
    if occurred_at.tzinfo is None:
        raise InvalidInput(f"{field_prefix}.occurredAt", "must carry a time zone offset")
    if occurred_at - received_at > MAX_FUTURE_SKEW:
        minutes = int(MAX_FUTURE_SKEW.total_seconds() // 60)
        raise InvalidInput(
            f"{field_prefix}.occurredAt", f"must not be more than {minutes} minutes in the future"
        )
    if draft.session_id is not None:
        check_id(draft.session_id, f"{field_prefix}.sessionId")
    metadata = _checked_metadata(draft.metadata, f"{field_prefix}.metadata")
    return LearningEvent(
        learner_id=draft.learner_id,
        event_id=draft.event_id,
        type=draft.type,
        content_id=draft.content_id,
        occurred_at=occurred_at,
        fingerprint=fingerprint(draft),
        score=score,
        correct=draft.correct,
        time_spent_seconds=float(time_spent),
        session_id=draft.session_id,
        metadata=metadata,
    )


def fingerprint(draft: EventDraft) -> str:
    """A digest of what the client sent, so a retry can be told from a different event.

    It covers the client's fields only: a defaulted occurred-at (time of receipt) would make
    every retry look different.
    """
    payload = {
        "type": draft.type.value,
        "contentId": draft.content_id,
        "score": draft.score,
        "raw": None
        if draft.raw_score is None
        else [draft.raw_score.raw, draft.raw_score.min, draft.raw_score.max],
        "correct": draft.correct,
        "time": float(draft.time_spent_seconds),
        "at": None if draft.occurred_at is None else draft.occurred_at.timestamp(),
        "session": draft.session_id,
        "metadata": draft.metadata,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


def _scaled_score(draft: EventDraft, field_prefix: str) -> float | None:
    if draft.score is not None and draft.raw_score is not None:
        raise InvalidInput(f"{field_prefix}.score", "give either score or rawScore, not both")
    if draft.score is not None:
        if not math.isfinite(draft.score) or not 0.0 <= draft.score <= 1.0:
            raise InvalidInput(f"{field_prefix}.score", "must be a scaled score between 0 and 1")
        return float(draft.score)
    if draft.raw_score is not None:
        raw = draft.raw_score
        values = (raw.raw, raw.min, raw.max)
        if not all(math.isfinite(v) for v in values) or raw.max <= raw.min:
            raise InvalidInput(f"{field_prefix}.rawScore", "max must be greater than min")
        if not raw.min <= raw.raw <= raw.max:
            raise InvalidInput(f"{field_prefix}.rawScore.raw", "must be between min and max")
        return (raw.raw - raw.min) / (raw.max - raw.min)
    return None


def _checked_metadata(metadata: object, field_name: str) -> JsonObject:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput(field_name, "must be a JSON object")
    if _deeper_than(metadata, MAX_METADATA_DEPTH):
        raise InvalidInput(field_name, f"must not nest deeper than {MAX_METADATA_DEPTH} levels")
    if any(key.startswith("$") or "." in key for key in _keys(metadata)):
        raise InvalidInput(field_name, "keys must not start with '$' or contain '.'")
    try:
        encoded = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidInput(
            field_name, "must be valid Unicode (it holds a lone surrogate)"
        ) from None
    size = len(encoded)
    if size > MAX_METADATA_BYTES:
        raise InvalidInput(
            field_name, f"must be at most {MAX_METADATA_BYTES} bytes as JSON (got {size})"
        )
    return metadata


def _deeper_than(value: object, limit: int) -> bool:
    """Whether objects and lists nest more than `limit` levels, found without recursion (a
    client may send thousands of levels)."""
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            depth += 1
            if depth > limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth) for child in children)
    return False


def _keys(value: object) -> list[str]:
    """Every object key, at any depth (called once the depth is known to be small)."""
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        for nested in value.values():
            keys.extend(_keys(nested))
        return keys
    if isinstance(value, list):
        return [key for item in value for key in _keys(item)]
    return []
