"""Groups, their members, and guardianships.

Members and guardianships are documents of their own, keyed `group|learner` and
`parent|learner`, so a group of 10,000 learners is 10,000 small documents, not one large one,
and every change is idempotent: adding a member twice stores it once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from pymongo import ReturnDocument, UpdateOne

from domain.groups import Group, GroupChanges, Guardianship, Membership
from domain.leaderboards import Privacy
from persistence.database import READ_BATCH, Database, Document, find_in
from persistence.indexes import GROUPS, GUARDIANSHIPS, MEMBERSHIPS


def _pair(left: str, right: str) -> str:
    return f"{left}|{right}"


def group_from_document(doc: Document) -> Group:
    return Group(
        id=doc["_id"],
        name=doc["name"],
        educator_ids=frozenset(doc.get("educatorIds", ())),
        created_at=doc.get("createdAt"),
        leaderboard_mode=Privacy(mode) if (mode := doc.get("leaderboardMode")) else None,
    )


class GroupRepository:
    def __init__(self, database: Database) -> None:
        self._groups = database[GROUPS]
        self._members = database[MEMBERSHIPS]

    async def find_by_ids(self, ids: Iterable[str]) -> dict[str, Group]:
        cursor = self._groups.find({"_id": {"$in": list(set(ids))}}, batch_size=READ_BATCH)
        return {doc["_id"]: group_from_document(doc) async for doc in cursor}

    async def taught_by(self, educator_ids: Sequence[str]) -> dict[str, set[str]]:
        """The ids of the groups each educator teaches."""
        taught: dict[str, set[str]] = {educator_id: set() for educator_id in educator_ids}
        cursor = self._groups.find(
            {"educatorIds": {"$in": list(educator_ids)}},
            {"educatorIds": 1},
            batch_size=READ_BATCH,
        )
        async for doc in cursor:
            for educator_id in doc.get("educatorIds", ()):
                if educator_id in taught:
                    taught[educator_id].add(doc["_id"])
        return taught

    async def page(
        self, *, ids: Iterable[str] | None = None, after: str | None, limit: int
    ) -> list[Group]:
        """Groups by id after `after`, all of them or only those in `ids`."""
        query: Document = {}
        if ids is not None:
            query["_id"] = {"$in": sorted(set(ids))}
        if after is not None:
            query.setdefault("_id", {})["$gt"] = after
        cursor = self._groups.find(query).sort("_id", 1).limit(limit)
        return [group_from_document(doc) async for doc in cursor]

    async def update(self, changes: GroupChanges, *, now: datetime) -> Group | None:
        """Sets the fields given; creates the group when `changes` has a name. None: the
        group does not exist and `changes` cannot create it."""
        sets: Document = {}
        if changes.name is not None:
            sets["name"] = changes.name
        if changes.educator_ids is not None:
            sets["educatorIds"] = sorted(changes.educator_ids)
        if changes.leaderboard_mode is not None or changes.clear_leaderboard_mode:
            mode = changes.leaderboard_mode
            sets["leaderboardMode"] = None if mode is None else mode.value
        update: Document = {"$setOnInsert": {"createdAt": now}}
        if "educatorIds" not in sets:
            update["$setOnInsert"]["educatorIds"] = []
        if sets:
            update["$set"] = sets
        doc = await self._groups.find_one_and_update(
            {"_id": changes.id},
            update,
            upsert=changes.name is not None,
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else group_from_document(doc)

    async def delete(self, group_id: str) -> bool:
        """Deletes the group, then its memberships (orphans, should that second step not
        happen, give no one access: access follows the group's educators)."""
        deleted = await self._groups.delete_one({"_id": group_id})
        await self._members.delete_many({"groupId": group_id})
        return bool(deleted.deleted_count == 1)

    async def add_members(
        self, group_id: str, learner_ids: Sequence[str], *, by: str, now: datetime
    ) -> int:
        """Adds members (idempotent); returns how many were new."""
        if not learner_ids:
            return 0
        ops = [
            UpdateOne(
                {"_id": _pair(group_id, learner_id)},
                {
                    "$setOnInsert": {
                        "groupId": group_id,
                        "learnerId": learner_id,
                        "addedBy": by,
                        "addedAt": now,
                    }
                },
                upsert=True,
            )
            for learner_id in learner_ids
        ]
        result = await self._members.bulk_write(ops, ordered=False)
        return int(result.upserted_count)

    async def remove_members(self, group_id: str, learner_ids: Sequence[str]) -> int:
        ids = [_pair(group_id, learner_id) for learner_id in learner_ids]
        result = await self._members.delete_many({"_id": {"$in": ids}})
        return int(result.deleted_count)

    async def member_counts(self, group_ids: Sequence[str]) -> dict[str, int]:
        counts = dict.fromkeys(group_ids, 0)
        pipeline: list[Document] = [
            {"$match": {"groupId": {"$in": list(group_ids)}}},
            {"$group": {"_id": "$groupId", "n": {"$sum": 1}}},
        ]
        async for row in self._members.aggregate(pipeline):
            counts[row["_id"]] = row["n"]
        return counts

    async def members_page(
        self, group_id: str, *, after: str | None, limit: int
    ) -> list[Membership]:
        query: Document = {"groupId": group_id}
        if after is not None:
            query["learnerId"] = {"$gt": after}
        cursor = self._members.find(query).sort("learnerId", 1).limit(limit)
        return [_membership(doc) async for doc in cursor]

    async def groups_of(self, learner_ids: Sequence[str]) -> dict[str, set[str]]:
        """The ids of the groups each learner is a member of."""
        found: dict[str, set[str]] = defaultdict(set)
        projection = {"groupId": 1, "learnerId": 1}
        async for doc in find_in(self._members, "learnerId", learner_ids, projection=projection):
            found[doc["learnerId"]].add(doc["groupId"])
        return {learner_id: found.get(learner_id, set()) for learner_id in learner_ids}


def _membership(doc: Document) -> Membership:
    return Membership(
        group_id=doc["groupId"],
        learner_id=doc["learnerId"],
        added_by=doc.get("addedBy", ""),
        added_at=doc["addedAt"],
    )


class GuardianshipRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[GUARDIANSHIPS]

    async def link(self, guardianship: Guardianship) -> bool:
        """Stores the guardianship (idempotent); True when it is new."""
        result = await self._collection.update_one(
            {"_id": _pair(guardianship.parent_id, guardianship.learner_id)},
            {
                "$setOnInsert": {
                    "parentId": guardianship.parent_id,
                    "learnerId": guardianship.learner_id,
                    "createdBy": guardianship.created_by,
                    "createdAt": guardianship.created_at,
                }
            },
            upsert=True,
        )
        return result.upserted_id is not None

    async def unlink(self, parent_id: str, learner_id: str) -> bool:
        result = await self._collection.delete_one({"_id": _pair(parent_id, learner_id)})
        return bool(result.deleted_count == 1)

    async def page(self, *, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(parent, learner) pairs in order, after the pair id `after` (sweeps walk them all)."""
        query: Document = {} if after is None else {"_id": {"$gt": after}}
        cursor = self._collection.find(query).sort("_id", 1).limit(limit)
        return [(doc["parentId"], doc["learnerId"]) async for doc in cursor]

    @staticmethod
    def pair_key(parent_id: str, learner_id: str) -> str:
        return _pair(parent_id, learner_id)

    async def guardians_of(self, learner_ids: Sequence[str]) -> dict[str, set[str]]:
        return await self._by("learnerId", "parentId", learner_ids)

    async def children_of(self, parent_ids: Sequence[str]) -> dict[str, set[str]]:
        return await self._by("parentId", "learnerId", parent_ids)

    async def _by(self, key: str, value: str, ids: Sequence[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        async for doc in find_in(self._collection, key, ids, projection={key: 1, value: 1}):
            found[doc[key]].add(doc[value])
        return {i: found.get(i, set()) for i in ids}
