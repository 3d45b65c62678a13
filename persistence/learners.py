"""Learners."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ReturnDocument, UpdateOne

from domain.leaderboards import DEFAULT_VISIBILITY, Privacy
from domain.learners import DEFAULT_TIME_ZONE, Learner, LearnerChanges
from persistence.database import Database, Document, find_in
from persistence.indexes import LEARNERS


def learner_from_document(doc: Document) -> Learner:
    return Learner(
        id=doc["_id"],
        display_name=doc.get("displayName"),
        time_zone=doc.get("timeZone", DEFAULT_TIME_ZONE),
        leaderboard_visibility=Privacy(doc.get("leaderboardVisibility", DEFAULT_VISIBILITY)),
    )


class LearnerRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[LEARNERS]

    async def find_by_ids(self, ids: Iterable[str], session: Any = None) -> dict[str, Learner]:
        cursor = find_in(self._collection, "_id", ids, session=session)
        return {doc["_id"]: learner_from_document(doc) async for doc in cursor}

    async def update(self, changes: LearnerChanges) -> Learner:
        """Sets the fields given (creating the learner if need be); returns it as stored."""
        sets: Document = {}
        if changes.display_name is not None or changes.clear_display_name:
            sets["displayName"] = changes.display_name
        if changes.time_zone is not None:
            sets["timeZone"] = changes.time_zone
        if changes.leaderboard_visibility is not None:
            sets["leaderboardVisibility"] = changes.leaderboard_visibility.value
        defaults = {"displayName": None, "timeZone": DEFAULT_TIME_ZONE}
        update: Document = {"$setOnInsert": {k: v for k, v in defaults.items() if k not in sets}}
        if sets:
            update["$set"] = sets
        doc = await self._collection.find_one_and_update(
            {"_id": changes.id}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        return learner_from_document(doc)

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
