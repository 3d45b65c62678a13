"""Learners."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import UpdateOne

from domain.learners import DEFAULT_TIME_ZONE, Learner
from persistence.database import READ_BATCH, Database, Document
from persistence.indexes import LEARNERS


def learner_from_document(doc: Document) -> Learner:
    return Learner(
        id=doc["_id"],
        display_name=doc.get("displayName"),
        time_zone=doc.get("timeZone", DEFAULT_TIME_ZONE),
    )


class LearnerRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[LEARNERS]

    async def find_by_ids(self, ids: Iterable[str], session: Any = None) -> dict[str, Learner]:
        query = {"_id": {"$in": list(set(ids))}}
        cursor = self._collection.find(query, session=session, batch_size=READ_BATCH)
        return {doc["_id"]: learner_from_document(doc) async for doc in cursor}

    async def upsert(self, learner: Learner) -> Learner:
        await self._collection.update_one(
            {"_id": learner.id},
            {"$set": {"displayName": learner.display_name, "timeZone": learner.time_zone}},
            upsert=True,
        )
        return learner

    async def create_missing(self, learners: Sequence[Learner], session: Any = None) -> None:
        """Creates learners first seen through their events, leaving existing ones untouched."""
        if not learners:
            return
        ops = [
            UpdateOne(
                {"_id": learner.id},
                {
                    "$setOnInsert": {
                        "displayName": learner.display_name,
                        "timeZone": learner.time_zone,
                    }
                },
                upsert=True,
            )
            for learner in learners
        ]
        await self._collection.bulk_write(ops, ordered=False, session=session)
