"""Recording events: inputs and payloads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Self, cast

import strawberry
from strawberry.scalars import JSON

from domain import events, guard
from domain.errors import DomainError
from resolvers.recording import EventResult
from schema.errors import error_extensions
from schema.gamification import AchievementUnlock
from schema.progress import ContentProgress

EventType = strawberry.enum(events.EventType, description="What a learner did with an item.")
GuardReason = strawberry.enum(
    guard.GuardReason,
    description="Why the reward guard held something back: TIME_CAPPED (more time than the item "
    "can take), TIME_OVERLAP (time already claimed on the item), DAY_FULL (the day has 24 h), "
    "REPEAT (an answer on the item within the cooldown), RATE (too many rewarded events).",
)


@strawberry.input(description="A score on the client's own scale (as xAPI): raw within min..max.")
class RawScoreInput:
    raw: float
    min: float
    max: float


@strawberry.input(description="One learning event.")
class RecordEventInput:
    learner_id: str
    event_id: str = strawberry.field(
        description="The client's id for this event, unique per learner: the idempotency key. "
        "Sending it again with the same payload returns the first outcome."
    )
    type: EventType  # type: ignore[valid-type]
    content_id: str
    score: float | None = strawberry.field(default=None, description="Scaled score, 0 to 1.")
    raw_score: RawScoreInput | None = strawberry.field(
        default=None, description="Alternative to `score`: raw with its min and max."
    )
    correct: bool | None = strawberry.field(
        default=None, description="Whether an answer was right; else judged by score >= 0.7."
    )
    time_spent_seconds: float = strawberry.field(default=0, description="0 to 86400.")
    occurred_at: datetime | None = strawberry.field(
        default=None, description="With an offset; at most 5 minutes ahead. Default: receipt."
    )
    session_id: str | None = None
    metadata: JSON | None = strawberry.field(default=None, description="At most 4 KiB as JSON.")

    def to_domain(self) -> events.EventDraft:
        raw = self.raw_score
        return events.EventDraft(
            learner_id=self.learner_id,
            event_id=self.event_id,
            type=self.type,
            content_id=self.content_id,
            score=self.score,
            raw_score=None if raw is None else events.RawScore(raw.raw, raw.min, raw.max),
            correct=self.correct,
            time_spent_seconds=self.time_spent_seconds,
            occurred_at=self.occurred_at,
            session_id=self.session_id,
            metadata=self.metadata,
        )


def _event_from_input(
    cls: type[RecordEventInput], value: Mapping[str, Any], context: object
) -> RecordEventInput:
    """Builds an event input straight from graphql-core's coerced values.

    Strawberry's generic conversion walks every field of every input and costs more than
    storing the event; a batch of 1,000 events is worth the direct route. graphql-core has
    already checked and parsed every value (enums, DateTime, JSON) against the schema.
    """
    raw = value.get("rawScore")
    return cls(
        learner_id=value["learnerId"],
        event_id=value["eventId"],
        type=value["type"],
        content_id=value["contentId"],
        score=value.get("score"),
        raw_score=None
        if raw is None
        else RawScoreInput(raw=raw["raw"], min=raw["min"], max=raw["max"]),
        correct=value.get("correct"),
        time_spent_seconds=value.get("timeSpentSeconds", 0),
        occurred_at=value.get("occurredAt"),
        session_id=value.get("sessionId"),
        metadata=value.get("metadata"),
    )


cast(Any, RecordEventInput).__strawberry_definition__.from_input = _event_from_input


@strawberry.enum(description="What became of an event.")
class RecordStatus(Enum):
    RECORDED = "recorded"
    REPLAYED = "replayed"
    FAILED = "failed"


@strawberry.type(description="Why an event was not recorded.")
class EventError:
    code: str = strawberry.field(description="BAD_USER_INPUT, IDEMPOTENCY_CONFLICT, ...")
    field: str | None = strawberry.field(
        description="The input field at fault, e.g. inputs[3].score."
    )
    message: str


@strawberry.type(description="The outcome of one event.")
class RecordEventResult:
    # Nested objects are built only when selected: a batch returns a thousand of these.
    result: strawberry.Private[EventResult]
    index: int = strawberry.field(description="Position of the event in the request.")
    learner_id: str
    event_id: str
    status: RecordStatus

    @strawberry.field(
        description="The item's progress after the event (after its first recording, on replay)."
    )
    def progress(self) -> ContentProgress | None:
        value = self.result.progress
        return ContentProgress.from_domain(value) if value else None

    @strawberry.field(description="Why the event was not recorded, if it was not.")
    def error(self) -> EventError | None:
        return _error(self.result.error)

    @strawberry.field(
        description="Achievements this event unlocked (on replay: those of its first recording)."
    )
    def new_achievements(self) -> list[AchievementUnlock]:
        return [AchievementUnlock.from_domain(unlock) for unlock in self.result.unlocks]

    @strawberry.field(description="Points this event earned, unlocks included.")
    def points_earned(self) -> int:
        return self.result.outcome.points if self.result.outcome else 0

    @strawberry.field(
        description="What the reward guard held back from this event, and why (empty: nothing). "
        "The event is stored whole either way."
    )
    def guarded(self) -> list[GuardReason]:  # type: ignore[valid-type]
        return list(self.result.outcome.guarded) if self.result.outcome else []

    @strawberry.field(
        description="The time this event credited, when the reward guard cut what it claimed."
    )
    def credited_seconds(self) -> float | None:
        return self.result.outcome.credited_seconds if self.result.outcome else None

    @classmethod
    def from_domain(cls, result: EventResult) -> Self:
        return cls(
            result=result,
            index=result.index,
            learner_id=result.learner_id,
            event_id=result.event_id,
            status=_status(result),
        )


@strawberry.type(description="The outcome of a batch of events.")
class RecordEventsPayload:
    results: list[RecordEventResult]
    recorded: int
    replayed: int
    failed: int

    @classmethod
    def from_domain(cls, results: list[EventResult]) -> Self:
        views = [RecordEventResult.from_domain(result) for result in results]
        return cls(
            results=views,
            recorded=sum(1 for v in views if v.status is RecordStatus.RECORDED),
            replayed=sum(1 for v in views if v.status is RecordStatus.REPLAYED),
            failed=sum(1 for v in views if v.status is RecordStatus.FAILED),
        )


def _status(result: EventResult) -> RecordStatus:
    if result.error is not None:
        return RecordStatus.FAILED
    return RecordStatus.REPLAYED if result.replayed else RecordStatus.RECORDED


def _error(error: DomainError | None) -> EventError | None:
    if error is None:
        return None
    extensions = error_extensions(error)
    field = extensions.get("field")
    return EventError(
        code=error.code, field=field if isinstance(field, str) else None, message=str(error)
    )
