"""Stored learning events, keyed by (learner, client event id)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pymongo.errors import BulkWriteError

from domain.events import LearningEvent
from domain.guard import GuardReason
from domain.learning import EventOutcome
from persistence.achievements import unlock_from_document, unlock_to_document
from persistence.database import Database, Document, find_by_ids, pair_id, pair_ids
from persistence.indexes import EVENTS
from persistence.progress import progress_from_document, progress_to_document
from persistence.versioned import ConcurrentUpdate, Session, is_duplicate

EventKey = tuple[str, str]  # (learner id, client event id)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as first recorded, with the outcome it produced (returned again on replay)."""

    learner_id: str
    event_id: str
    fingerprint: str
    outcome: EventOutcome


def outcome_to_document(outcome: EventOutcome) -> Document:
    return {
        **progress_to_document(outcome.progress),
        "unlocks": [unlock_to_document(unlock) for unlock in outcome.unlocks],
        "points": outcome.points,
        "guarded": [reason.value for reason in outcome.guarded],
        "creditedSeconds": outcome.credited_seconds,
    }


def outcome_from_document(doc: Document) -> EventOutcome:
    return EventOutcome(
        progress=progress_from_document(doc),
        unlocks=tuple(unlock_from_document(unlock) for unlock in doc.get("unlocks", [])),
        points=doc.get("points", 0),
        guarded=tuple(GuardReason(reason) for reason in doc.get("guarded", ())),
        credited_seconds=doc.get("creditedSeconds"),
    )


def event_to_document(
    event: LearningEvent, *, outcome: EventOutcome, received_at: datetime
) -> Document:
    return {
        "_id": pair_id(event.learner_id, event.event_id),
        "learnerId": event.learner_id,
        "eventId": event.event_id,
        "type": event.type.value,
        "contentId": event.content_id,
        "occurredAt": event.occurred_at,
        "receivedAt": received_at,
        "score": event.score,
        "correct": event.correct,
        "timeSpentSeconds": event.time_spent_seconds,
        "sessionId": event.session_id,
        "metadata": event.metadata,
        "fingerprint": event.fingerprint,
        "outcome": outcome_to_document(outcome),
    }


class EventRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[EVENTS]

    async def find_by_keys(
        self, keys: Iterable[EventKey], session: Session
    ) -> dict[EventKey, StoredEvent]:
        projection = {"learnerId": 1, "eventId": 1, "fingerprint": 1, "outcome": 1}
        cursor = find_by_ids(
            self._collection, pair_ids(keys), session=session, projection=projection
        )
        return {
            (doc["learnerId"], doc["eventId"]): StoredEvent(
                learner_id=doc["learnerId"],
                event_id=doc["eventId"],
                fingerprint=doc["fingerprint"],
                outcome=outcome_from_document(doc["outcome"]),
            )
            async for doc in cursor
        }

    async def insert_many(
        self, events: Sequence[tuple[LearningEvent, EventOutcome, datetime]], session: Session
    ) -> None:
        """Stores new events with their outcomes; one already stored means a concurrent writer
        won the race."""
        if not events:
            return
        documents = [
            event_to_document(event, outcome=outcome, received_at=received_at)
            for event, outcome, received_at in events
        ]
        try:
            await self._collection.insert_many(documents, ordered=True, session=session)
        except BulkWriteError as error:
            if is_duplicate(error):
                raise ConcurrentUpdate(EVENTS) from error
            raise

    async def count_for(self, learner_id: str) -> int:
        return int(await self._collection.count_documents({"learnerId": learner_id}))
