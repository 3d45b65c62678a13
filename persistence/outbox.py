"""The outbox: outbound messages, written in the transaction that caused them, until delivered.

A message is pending until it is delivered or given up on (dead). A pending message is due once
its `nextAt` has passed. Claiming one leases it: `nextAt` moves to the end of the lease and
`owner` names the claimer, in one atomic update per message, so two claimers never hold the same
message. The claimer then marks it delivered, reschedules it or marks it dead, each only while the
lease is still its own; a claimer that dies leaves the lease to run out, after which the message is
due again and another claimer sends it again, under the same id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument, UpdateOne

from domain.webhooks import Delivery, OutboxMessage
from persistence.database import Database, Document
from persistence.indexes import OUTBOX
from persistence.versioned import Session

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int  # not yet delivered (leased ones included)
    delivered: int  # delivered and not yet purged
    dead: int  # given up on, kept with their last error


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    message: OutboxMessage
    status: str  # PENDING, DELIVERED or DEAD
    attempts: int  # failed ones, plus the one that delivered it
    next_at: datetime  # when it is due (or its lease ends), while pending
    last_error: str | None


def message_to_document(message: OutboxMessage) -> Document:
    return {
        "_id": message.id,
        "kind": message.kind,
        "userId": message.user_id,
        "payload": message.payload,
        "createdAt": message.created_at,
        "status": PENDING,
        "attempts": 0,
        "nextAt": message.created_at,
        "owner": None,
        "lastError": None,
    }


def message_from_document(doc: Document) -> OutboxMessage:
    return OutboxMessage(
        id=doc["_id"],
        kind=doc["kind"],
        user_id=doc["userId"],
        payload=doc["payload"],
        created_at=doc["createdAt"],
    )


class OutboxRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[OUTBOX]

    async def add(self, messages: Sequence[OutboxMessage], session: Session) -> None:
        """Writes new messages in the caller's transaction, due from their `created_at`. A message
        whose id is already there is left as it is (delivered, leased or dead): a unit of work
        that runs again writes its messages again, and none is sent twice for it."""
        if not messages:
            return
        ops = [
            UpdateOne(
                {"_id": message.id}, {"$setOnInsert": message_to_document(message)}, upsert=True
            )
            for message in messages
        ]
        await self._collection.bulk_write(ops, ordered=True, session=session)

    async def claim_due(
        self, now: datetime, *, lease: timedelta, limit: int, owner: str
    ) -> list[Delivery]:
        """Leases up to `limit` due messages to `owner` until `now + lease`, oldest due first."""
        claimed: list[Delivery] = []
        for _ in range(limit):
            # One atomic update per message: a concurrent claimer either sees it due and takes
            # it, or sees it leased and moves on; never both.
            doc = await self._collection.find_one_and_update(
                {"status": PENDING, "nextAt": {"$lte": now}},
                {"$set": {"nextAt": now + lease, "owner": owner}, "$inc": {"claims": 1}},
                sort=[("nextAt", 1)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(Delivery(message_from_document(doc), attempts=doc["attempts"]))
        return claimed

    async def mark_delivered(self, message_id: str, owner: str, at: datetime) -> bool:
        """Records the delivery; False if the lease was no longer `owner`'s."""
        return await self._settle(
            message_id,
            owner,
            {"status": DELIVERED, "deliveredAt": at, "owner": None},
            attempts=1,
        )

    async def reschedule(
        self, message_id: str, owner: str, *, attempts: int, next_at: datetime, error: str
    ) -> bool:
        """Makes it due again at `next_at` after `attempts` failed attempts."""
        return await self._settle(
            message_id,
            owner,
            {
                "attempts": attempts,
                "nextAt": next_at,
                "lastError": error[:MAX_ERROR_LENGTH],
                "owner": None,
            },
        )

    async def mark_dead(
        self, message_id: str, owner: str, *, attempts: int, at: datetime, error: str
    ) -> bool:
        """Gives up on it, keeping it with its last error."""
        return await self._settle(
            message_id,
            owner,
            {
                "status": DEAD,
                "attempts": attempts,
                "deadAt": at,
                "lastError": error[:MAX_ERROR_LENGTH],
                "owner": None,
            },
        )

    async def _settle(
        self, message_id: str, owner: str, changes: Document, *, attempts: int = 0
    ) -> bool:
        update: dict[str, Any] = {"$set": changes}
        if attempts:
            update["$inc"] = {"attempts": attempts}
        result = await self._collection.update_one(
            {"_id": message_id, "status": PENDING, "owner": owner}, update
        )
        return bool(result.modified_count)

    async def counts(self) -> OutboxCounts:
        pending, delivered, dead = [
            int(await self._collection.count_documents({"status": status}))
            for status in (PENDING, DELIVERED, DEAD)
        ]
        return OutboxCounts(pending=pending, delivered=delivered, dead=dead)

    async def purge_delivered(self, before: datetime) -> int:
        """Deletes messages delivered before `before`; dead ones stay."""
        result = await self._collection.delete_many(
            {"status": DELIVERED, "deliveredAt": {"$lt": before}}
        )
        return int(result.deleted_count)

    async def get(self, message_id: str) -> OutboxEntry | None:
        """A message with where it stands (for operators and tests)."""
        doc = await self._collection.find_one({"_id": message_id})
        if doc is None:
            return None
        return OutboxEntry(
            message=message_from_document(doc),
            status=doc["status"],
            attempts=doc["attempts"],
            next_at=doc["nextAt"],
            last_error=doc["lastError"],
        )
