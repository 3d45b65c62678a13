"""Content progress per learner and item."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from domain.progress import ContentProgress, ProgressFilter, ProgressStatus
from domain.review import ReviewCard
from persistence.database import (
    LEARNER_CHUNK,
    READ_BATCH,
    Database,
    Document,
    find_by_ids,
    find_in,
    in_chunks,
    pair_id,
    pair_ids,
)
from persistence.indexes import PROGRESS
from persistence.versioned import Session, write_versioned

Versioned = tuple[ContentProgress, int]


def progress_to_document(progress: ContentProgress) -> Document:
    return {
        "_id": pair_id(progress.learner_id, progress.content_id),
        "learnerId": progress.learner_id,
        "contentId": progress.content_id,
        "certification": progress.certification,
        "status": progress.status.value,
        "events": progress.events,
        "attempts": progress.attempts,
        "bestScore": progress.best_score,
        "lastScore": progress.last_score,
        "timeSpentSeconds": progress.time_spent_seconds,
        "firstActivityAt": progress.first_activity_at,
        "lastActivityAt": progress.last_activity_at,
        "completedAt": progress.completed_at,
        "lastScoredAt": progress.last_scored_at,
        "pointAwards": sorted(progress.point_awards),
        "rewardedAt": [[kind, at] for kind, at in progress.rewarded_at],
        "review": _card_to_document(progress.review),
        "sessions": list(progress.sessions),
        "answers": progress.answers,
        "correct": progress.correct,
    }


def _card_to_document(card: ReviewCard | None) -> Document | None:
    if card is None:
        return None
    return {
        "state": card.state,
        "step": card.step,
        "stability": card.stability,
        "difficulty": card.difficulty,
        "due": card.due,
        "lastReview": card.last_review,
        "reviews": card.reviews,
        "lapses": card.lapses,
    }


def _card_from_document(doc: Document | None) -> ReviewCard | None:
    if doc is None:
        return None
    return ReviewCard(
        state=doc["state"],
        step=doc.get("step"),
        stability=doc.get("stability"),
        difficulty=doc.get("difficulty"),
        due=doc["due"],
        last_review=doc.get("lastReview"),
        reviews=doc.get("reviews", 0),
        lapses=doc.get("lapses", 0),
    )


def progress_from_document(doc: Document) -> ContentProgress:
    return ContentProgress(
        learner_id=doc["learnerId"],
        content_id=doc["contentId"],
        certification=doc.get("certification"),
        status=ProgressStatus(doc["status"]),
        events=doc.get("events", 0),
        attempts=doc.get("attempts", 0),
        best_score=doc.get("bestScore"),
        last_score=doc.get("lastScore"),
        time_spent_seconds=doc.get("timeSpentSeconds", 0.0),
        first_activity_at=doc.get("firstActivityAt"),
        last_activity_at=doc.get("lastActivityAt"),
        completed_at=doc.get("completedAt"),
        last_scored_at=doc.get("lastScoredAt"),
        point_awards=frozenset(doc.get("pointAwards", ())),
        rewarded_at=tuple((kind, at) for kind, at in doc.get("rewardedAt", ())),
        review=_card_from_document(doc.get("review")),
        sessions=tuple(doc.get("sessions", ())),
        answers=doc.get("answers", 0),
        correct=doc.get("correct", 0),
    )


def filter_query(where: ProgressFilter) -> Document:
    query: Document = {}
    if where.status is not None:
        query["status"] = where.status.value
    if where.certification is not None:
        query["certification"] = where.certification
    return query


class ProgressRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[PROGRESS]

    async def load_for_update(
        self, keys: Iterable[tuple[str, str]], session: Session
    ) -> dict[tuple[str, str], Versioned]:
        """Progress with its version for (learner, content) pairs, in one command."""
        cursor = find_by_ids(self._collection, pair_ids(keys), session=session)
        return {
            (doc["learnerId"], doc["contentId"]): (progress_from_document(doc), doc["v"])
            async for doc in cursor
        }

    async def save(
        self,
        changes: Sequence[tuple[ContentProgress, int | None]],
        session: Session,
    ) -> None:
        await write_versioned(
            self._collection,
            [(progress_to_document(p), version) for p, version in changes],
            session,
        )

    async def pages(
        self,
        learner_ids: Sequence[str],
        *,
        where: ProgressFilter,
        after: str | None,
        limit: int,
    ) -> dict[str, list[ContentProgress]]:
        """Up to `limit` items per learner, by content id after `after`, in one command (per
        `LEARNER_CHUNK` learners)."""
        pages: dict[str, list[ContentProgress]] = {learner_id: [] for learner_id in learner_ids}
        for chunk in in_chunks(learner_ids, LEARNER_CHUNK):
            match: Document = {"learnerId": {"$in": chunk}, **filter_query(where)}
            if after is not None:
                match["contentId"] = {"$gt": after}
            pipeline: list[Document] = [
                {"$match": match},
                {"$sort": {"learnerId": 1, "contentId": 1}},
                {"$group": {"_id": "$learnerId", "items": {"$push": "$$ROOT"}}},
                {"$project": {"items": {"$slice": ["$items", limit]}}},
            ]
            async for row in self._collection.aggregate(pipeline, batchSize=READ_BATCH):
                pages[row["_id"]] = [progress_from_document(doc) for doc in row["items"]]
        return pages

    async def started(
        self, learner_ids: Iterable[str], content_ids: Sequence[str]
    ) -> set[tuple[str, str]]:
        """The (learner, item) pairs among these that have progress, in one command (per
        `LEARNER_CHUNK` learners)."""
        query = {"contentId": {"$in": list(content_ids)}}
        projection = {"learnerId": 1, "contentId": 1}
        cursor = find_in(self._collection, "learnerId", learner_ids, query, projection)
        return {(doc["learnerId"], doc["contentId"]) async for doc in cursor}

    async def find_many(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], ContentProgress]:
        """Progress for (learner, content) pairs; pairs without progress are left out."""
        return {key: value for key, (value, _) in (await self.load_for_update(keys, None)).items()}

    async def find(self, learner_id: str, content_id: str) -> ContentProgress | None:
        doc = await self._collection.find_one({"learnerId": learner_id, "contentId": content_id})
        return None if doc is None else progress_from_document(doc)

    async def due_for_review(
        self, learner_id: str, at: datetime, *, limit: int
    ) -> list[ContentProgress]:
        """The learner's items whose review is due at `at`, the longest overdue first (read
        through the learner's progress index: a learner has one document per item touched)."""
        query = {"learnerId": learner_id, "review.due": {"$lte": at}}
        cursor = self._collection.find(query).sort("review.due", 1).limit(limit)
        return [progress_from_document(doc) async for doc in cursor]
