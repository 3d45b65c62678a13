"""Optimistic versions on derived documents.

Derived documents carry a version `v`. A writer replaces a document it read, and inserts a new one
under a unique key; losing either race raises `ConcurrentUpdate` (or the server's `WriteConflict`),
which the transaction runner treats as transient: the whole unit runs again on fresh reads, and
the transaction rolls back everything else it wrote, stored events included.

Inside a transaction the server itself refuses to overwrite a document that another writer changed
after the transaction's snapshot (every read of the unit is in that snapshot), so the replace
names the document by `_id` alone: a point lookup, where a filter on `_id` and `v` is a search
(several times dearer on the embedded server). Without a transaction the replace also names the
version it read, and a mismatch is the lost race.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from persistence.database import Document

Session = Any  # a motor client session, or None where the server has no transactions


class ConcurrentUpdate(Exception):
    """Another writer changed what this unit read; the unit must run again."""


def versioned_writes(
    changes: Sequence[tuple[Document, int | None]], *, in_transaction: bool = False
) -> tuple[list[InsertOne[Document] | ReplaceOne[Document]], int]:
    """Bulk operations for (new document with its `_id`, version read or None if absent)."""
    ops: list[InsertOne[Document] | ReplaceOne[Document]] = []
    replaces = 0
    for document, version in changes:
        if version is None:
            ops.append(InsertOne({**document, "v": 1}))
        else:
            key = {"_id": document["_id"]}
            if not in_transaction:
                key["v"] = version
            ops.append(ReplaceOne(key, {**document, "v": version + 1}))
            replaces += 1
    return ops, replaces


async def write_versioned(
    collection: Any,
    changes: Sequence[tuple[Document, int | None]],
    session: Session,
) -> None:
    if not changes:
        return
    in_transaction = session is not None and bool(session.in_transaction)
    ops, replaces = versioned_writes(changes, in_transaction=in_transaction)
    try:
        # Unordered: the server may group inserts and replaces into one command each.
        result = await collection.bulk_write(ops, ordered=False, session=session)
    except BulkWriteError as error:
        if is_duplicate(error):
            raise ConcurrentUpdate(collection.name) from error
        raise
    if result.matched_count != replaces:
        raise ConcurrentUpdate(collection.name)


def is_duplicate(error: BulkWriteError) -> bool:
    return any(e.get("code") == 11000 for e in error.details.get("writeErrors", []))
