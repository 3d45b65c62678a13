"""Achievement definitions, unlocks and the points ledger."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from domain.achievements import AchievementDefinition, RuleType, Unlock
from domain.points import ManualAward, PointsEntry, PointsSource
from persistence.database import Database, Document, find_in, pair_id
from persistence.indexes import ACHIEVEMENTS, MANUAL_AWARDS, POINTS, UNLOCKS
from persistence.versioned import ConcurrentUpdate, Session, is_duplicate


def definition_to_document(definition: AchievementDefinition) -> Document:
    return {
        "_id": definition.key,
        "title": definition.title,
        "description": definition.description,
        "icon": definition.icon,
        "points": definition.points,
        "rule": definition.rule.value,
        "threshold": definition.threshold,
        "certification": definition.certification,
        "minScored": definition.min_scored,
    }


def definition_from_document(doc: Document) -> AchievementDefinition:
    return AchievementDefinition(
        key=doc["_id"],
        title=doc["title"],
        description=doc["description"],
        icon=doc["icon"],
        points=doc["points"],
        rule=RuleType(doc["rule"]),
        threshold=doc["threshold"],
        certification=doc.get("certification"),
        min_scored=doc.get("minScored", 1),
    )


def unlock_to_document(unlock: Unlock) -> Document:
    return {
        # One document per learner and achievement: it unlocks once, whatever the concurrency.
        "_id": pair_id(unlock.learner_id, unlock.key),
        "learnerId": unlock.learner_id,
        "key": unlock.key,
        "seq": unlock.seq,
        "title": unlock.title,
        "description": unlock.description,
        "icon": unlock.icon,
        "points": unlock.points,
        "rule": unlock.rule.value,
        "certification": unlock.certification,
        "unlockedAt": unlock.unlocked_at,
        "recordedAt": unlock.recorded_at,
        "eventId": unlock.event_id,
    }


def unlock_from_document(doc: Document) -> Unlock:
    return Unlock(
        learner_id=doc["learnerId"],
        key=doc["key"],
        seq=doc["seq"],
        title=doc["title"],
        description=doc["description"],
        icon=doc["icon"],
        points=doc["points"],
        rule=RuleType(doc["rule"]),
        certification=doc.get("certification"),
        unlocked_at=doc["unlockedAt"],
        event_id=doc.get("eventId"),
        recorded_at=doc.get("recordedAt"),
    )


def points_to_document(entry: PointsEntry) -> Document:
    return {
        "learnerId": entry.learner_id,
        "amount": entry.amount,
        "reason": entry.reason,
        "source": entry.source.value,
        "reference": entry.reference,
        "at": entry.at,
        "recordedAt": entry.recorded_at,
    }


def points_from_document(doc: Document) -> PointsEntry:
    return PointsEntry(
        learner_id=doc["learnerId"],
        amount=doc["amount"],
        reason=doc["reason"],
        source=PointsSource(doc["source"]),
        reference=doc["reference"],
        at=doc["at"],
        recorded_at=doc.get("recordedAt"),
    )


def award_to_document(award: ManualAward) -> Document:
    return {
        "_id": pair_id(award.learner_id, award.award_id),
        "learnerId": award.learner_id,
        "awardId": award.award_id,
        "fingerprint": award.fingerprint,
        "entry": points_to_document(award.entry),
        "total": award.total,
    }


def award_from_document(doc: Document) -> ManualAward:
    return ManualAward(
        learner_id=doc["learnerId"],
        award_id=doc["awardId"],
        fingerprint=doc["fingerprint"],
        entry=points_from_document(doc["entry"]),
        total=doc["total"],
    )


class AchievementRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[ACHIEVEMENTS]

    async def all(self, session: Session = None) -> list[AchievementDefinition]:
        cursor = self._collection.find({}, session=session).sort("_id", 1)
        return [definition_from_document(doc) async for doc in cursor]

    async def upsert(self, definition: AchievementDefinition) -> None:
        document = definition_to_document(definition)
        await self._collection.replace_one({"_id": definition.key}, document, upsert=True)

    async def add_missing(self, definitions: Sequence[AchievementDefinition]) -> None:
        """Adds the given definitions where their key is free; admins' edits stay."""
        if definitions:
            ops = [
                UpdateOne(
                    {"_id": d.key},
                    {"$setOnInsert": definition_to_document(d)},
                    upsert=True,
                )
                for d in definitions
            ]
            await self._collection.bulk_write(ops, ordered=False)


class UnlockRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[UNLOCKS]

    async def keys_for(self, learner_ids: Iterable[str], session: Session) -> dict[str, set[str]]:
        ids = sorted(set(learner_ids))
        found: dict[str, set[str]] = {learner_id: set() for learner_id in ids}
        projection = {"learnerId": 1, "key": 1, "_id": 0}
        async for doc in find_in(
            self._collection, "learnerId", ids, projection=projection, session=session
        ):
            found[doc["learnerId"]].add(doc["key"])
        return found

    async def insert_many(self, unlocks: Sequence[Unlock], session: Session) -> None:
        """Stores unlocks; one already there means a concurrent writer unlocked it first."""
        if not unlocks:
            return
        try:
            await self._collection.insert_many(
                [unlock_to_document(u) for u in unlocks], ordered=True, session=session
            )
        except BulkWriteError as error:
            if is_duplicate(error):
                raise ConcurrentUpdate(UNLOCKS) from error
            raise

    async def for_learners(self, learner_ids: Sequence[str]) -> dict[str, list[Unlock]]:
        """Every unlock of each learner (at most one per achievement), newest first."""
        found: dict[str, list[Unlock]] = {learner_id: [] for learner_id in learner_ids}
        sort = [("learnerId", 1), ("seq", -1)]
        async for doc in find_in(self._collection, "learnerId", learner_ids, sort=sort):
            found[doc["learnerId"]].append(unlock_from_document(doc))
        return found

    async def last_seq(self, learner_id: str) -> int:
        """The seq of the learner's latest unlock; 0 without any."""
        doc = await self._collection.find_one(
            {"learnerId": learner_id}, {"seq": 1}, sort=[("seq", -1)]
        )
        return int(doc["seq"]) if doc else 0

    async def after(self, learner_id: str, seq: int) -> list[Unlock]:
        cursor = self._collection.find({"learnerId": learner_id, "seq": {"$gt": seq}}).sort(
            "seq", 1
        )
        return [unlock_from_document(doc) async for doc in cursor]


class PointsRepository:
    """The points ledger, and the manual awards kept under their idempotency keys."""

    def __init__(self, database: Database) -> None:
        self._collection = database[POINTS]
        self._awards = database[MANUAL_AWARDS]

    async def find_award(
        self, learner_id: str, award_id: str, session: Session
    ) -> ManualAward | None:
        doc = await self._awards.find_one({"_id": pair_id(learner_id, award_id)}, session=session)
        return None if doc is None else award_from_document(doc)

    async def insert_awards(self, awards: Sequence[ManualAward], session: Session) -> None:
        """Stores awards; one already there means a concurrent retry stored it first."""
        if not awards:
            return
        try:
            await self._awards.insert_many(
                [award_to_document(a) for a in awards], ordered=True, session=session
            )
        except BulkWriteError as error:
            if is_duplicate(error):
                raise ConcurrentUpdate(MANUAL_AWARDS) from error
            raise

    async def append(self, entries: Sequence[PointsEntry], session: Session) -> None:
        if entries:
            await self._collection.insert_many(
                [points_to_document(e) for e in entries], ordered=True, session=session
            )

    async def recent(self, learner_id: str, limit: int) -> list[PointsEntry]:
        cursor: Any = (
            self._collection.find({"learnerId": learner_id})
            .sort([("at", -1), ("_id", -1)])
            .limit(limit)
        )
        return [points_from_document(doc) async for doc in cursor]
