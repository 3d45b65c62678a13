"""Learner totals: one document per learner, updated with every event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from domain.totals import LearnerTotals, Tally
from persistence.database import READ_BATCH, Database, Document
from persistence.indexes import TOTALS
from persistence.versioned import Session, write_versioned

Versioned = tuple[LearnerTotals, int]


def tally_to_document(tally: Tally) -> Document:
    return {
        "events": tally.events,
        "contentViewed": tally.content_viewed,
        "questionsAnswered": tally.questions_answered,
        "itemsCompleted": tally.items_completed,
        "scored": tally.scored,
        "scoreSum": tally.score_sum,
        "timeSpentSeconds": tally.time_spent_seconds,
        "perfectScores": tally.perfect_scores,
    }


def tally_from_document(doc: Document) -> Tally:
    return Tally(
        events=doc["events"],
        content_viewed=doc["contentViewed"],
        questions_answered=doc["questionsAnswered"],
        items_completed=doc["itemsCompleted"],
        scored=doc["scored"],
        score_sum=doc["scoreSum"],
        time_spent_seconds=doc["timeSpentSeconds"],
        perfect_scores=doc.get("perfectScores", 0),
    )


def totals_to_document(totals: LearnerTotals) -> Document:
    return {
        "_id": totals.learner_id,
        "overall": tally_to_document(totals.overall),
        "byCertification": [
            {"key": key, **tally_to_document(tally)}
            for key, tally in totals.by_certification.items()
        ],
        "activeDays": [[first.isoformat(), last.isoformat()] for first, last in totals.active_days],
        "masteredSkills": totals.mastered_skills,
        "points": totals.points,
        "unlocks": totals.unlocks,
        "recentRewards": list(totals.recent_rewards),
    }


def totals_from_document(doc: Document) -> LearnerTotals:
    return LearnerTotals(
        learner_id=doc["_id"],
        overall=tally_from_document(doc["overall"]),
        by_certification={
            row["key"]: tally_from_document(row) for row in doc.get("byCertification", [])
        },
        active_days=tuple(
            (date.fromisoformat(first), date.fromisoformat(last))
            for first, last in doc.get("activeDays", [])
        ),
        mastered_skills=doc.get("masteredSkills", 0),
        points=doc.get("points", 0),
        unlocks=doc.get("unlocks", 0),
        recent_rewards=tuple(doc.get("recentRewards", ())),
    )


class TotalsRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[TOTALS]

    async def load_for_update(
        self, learner_ids: Iterable[str], session: Session
    ) -> dict[str, Versioned]:
        cursor = self._collection.find({"_id": {"$in": sorted(set(learner_ids))}}, session=session)
        return {doc["_id"]: (totals_from_document(doc), doc["v"]) async for doc in cursor}

    async def save(
        self, changes: Sequence[tuple[LearnerTotals, int | None]], session: Session
    ) -> None:
        await write_versioned(
            self._collection,
            [(totals_to_document(t), version) for t, version in changes],
            session,
        )

    async def find_by_ids(self, learner_ids: Iterable[str]) -> dict[str, LearnerTotals]:
        query = {"_id": {"$in": list(set(learner_ids))}}
        cursor: Any = self._collection.find(query, batch_size=READ_BATCH)
        return {doc["_id"]: totals_from_document(doc) async for doc in cursor}
