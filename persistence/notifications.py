"""The notification inbox and each user's notification preferences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from domain.notifications import Channel, Notification, NotificationKind, Preferences
from persistence.database import Database, Document, find_by_ids, find_in
from persistence.indexes import NOTIFICATION_PREFERENCES, NOTIFICATIONS, SWEEPS
from persistence.versioned import Session


def notification_to_document(notification: Notification) -> Document:
    return {
        "_id": notification.id,
        "userId": notification.user_id,
        "kind": notification.kind.value,
        "title": notification.title,
        "body": notification.body,
        "at": notification.at,
        "recordedAt": notification.recorded_at,
        "data": dict(notification.data),
        "readAt": notification.read_at,
        "unread": notification.read_at is None,
    }


def notification_from_document(doc: Document) -> Notification:
    return Notification(
        id=doc["_id"],
        user_id=doc["userId"],
        kind=NotificationKind(doc["kind"]),
        title=doc["title"],
        body=doc["body"],
        at=doc["at"],
        recorded_at=doc["recordedAt"],
        data=doc.get("data") or {},
        read_at=doc.get("readAt"),
    )


def preferences_from_document(doc: Document) -> Preferences:
    channels = {}
    for kind, wanted in (doc.get("channels") or {}).items():
        if kind in NotificationKind.__members__.values():
            channels[NotificationKind(kind)] = frozenset(Channel(c) for c in wanted)
    return Preferences(user_id=doc["_id"], channels=channels)


# Newest first; the id breaks ties between notifications recorded in the same instant.
NEWEST_FIRST = [("recordedAt", -1), ("_id", -1)]


class NotificationRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[NOTIFICATIONS]
        self._preferences = database[NOTIFICATION_PREFERENCES]
        self._sweeps = database[SWEEPS]

    async def add(self, notifications: Sequence[Notification], session: Session = None) -> None:
        """Stores each notification once: one already there (the same cause, seen again by a
        retried sweep) is left as it is, read or not."""
        if not notifications:
            return
        ops = [
            UpdateOne({"_id": n.id}, {"$setOnInsert": notification_to_document(n)}, upsert=True)
            for n in notifications
        ]
        await self._collection.bulk_write(ops, ordered=False, session=session)

    async def page(
        self,
        user_id: str,
        *,
        first: int,
        after: tuple[datetime, str] | None = None,
        unread_only: bool = False,
    ) -> list[Notification]:
        """`first` notifications newest first, after the cursor (recorded at, id) if given."""
        query: dict[str, Any] = {"userId": user_id}
        if unread_only:
            query["unread"] = True
        if after is not None:
            at, key = after
            query["$or"] = [{"recordedAt": {"$lt": at}}, {"recordedAt": at, "_id": {"$lt": key}}]
        cursor = self._collection.find(query).sort(NEWEST_FIRST).limit(first)
        return [notification_from_document(doc) async for doc in cursor]

    async def newer_than(
        self, user_id: str, cursor: tuple[datetime, str], limit: int
    ) -> list[Notification]:
        """Those recorded after the cursor, oldest first: what a resuming subscriber missed."""
        at, key = cursor
        query = {
            "userId": user_id,
            "$or": [{"recordedAt": {"$gt": at}}, {"recordedAt": at, "_id": {"$gt": key}}],
        }
        found = self._collection.find(query).sort([("recordedAt", 1), ("_id", 1)]).limit(limit)
        return [notification_from_document(doc) async for doc in found]

    async def existing(self, ids: Sequence[str]) -> set[str]:
        """Those of `ids` already made (in any inbox)."""
        return {
            doc["_id"] async for doc in find_by_ids(self._collection, ids, projection={"_id": 1})
        }

    async def find(self, user_id: str, notification_id: str) -> Notification | None:
        doc = await self._collection.find_one({"_id": notification_id, "userId": user_id})
        return None if doc is None else notification_from_document(doc)

    async def unread_count(self, user_id: str) -> int:
        count: int = await self._collection.count_documents({"userId": user_id, "unread": True})
        return count

    async def mark_read(self, user_id: str, ids: Iterable[str] | None, at: datetime) -> int:
        """Marks the user's unread notifications (those of `ids`, or all) read; returns how
        many changed. Others' notifications and unknown ids are left alone."""
        query: dict[str, Any] = {"userId": user_id, "unread": True}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        result = await self._collection.update_many(
            query, {"$set": {"readAt": at, "unread": False}}
        )
        changed: int = result.modified_count
        return changed

    async def counts_by_kind(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per kind, notifications recorded since `since` and how many of them were read."""
        pipeline = [
            {"$match": {"recordedAt": {"$gte": since}}},
            {
                "$group": {
                    "_id": "$kind",
                    "sent": {"$sum": 1},
                    "read": {"$sum": {"$cond": ["$unread", 0, 1]}},
                }
            },
        ]
        return {
            doc["_id"]: (doc["sent"], doc["read"])
            async for doc in self._collection.aggregate(pipeline)
        }

    # Sweeps: which periodic notification runs are done ---------------------------------------

    async def sweep_done(self, key: str) -> bool:
        return await self._sweeps.find_one({"_id": key}) is not None

    async def mark_sweep_done(self, key: str, at: datetime) -> None:
        await self._sweeps.update_one({"_id": key}, {"$set": {"at": at}}, upsert=True)

    # Preferences ---------------------------------------------------------------------------

    async def preferences(
        self, user_ids: Iterable[str], session: Session = None
    ) -> dict[str, Preferences]:
        """Each user's preferences (defaults for those who never set any)."""
        ids = sorted(set(user_ids))
        found = {user_id: Preferences(user_id=user_id) for user_id in ids}
        async for doc in find_in(self._preferences, "_id", ids, session=session):
            found[doc["_id"]] = preferences_from_document(doc)
        return found

    async def set_channels(
        self, user_id: str, changes: Sequence[tuple[NotificationKind, frozenset[Channel]]]
    ) -> Preferences:
        """Sets the channels of the kinds given (atomically per kind); the others are kept."""
        if changes:
            await self._preferences.update_one(
                {"_id": user_id},
                {
                    "$set": {
                        f"channels.{kind.value}": sorted(c.value for c in wanted)
                        for kind, wanted in changes
                    }
                },
                upsert=True,
            )
        return (await self.preferences([user_id]))[user_id]
