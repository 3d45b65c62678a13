"""Atomic units of work: a transaction where the server has them, with retries on conflict.

Derived documents carry a version `v`. A writer replaces a document only if its version is the one
it read, and inserts a new one under a unique key; losing either race raises `ConcurrentUpdate`
and the whole unit runs again on fresh reads. Inside a transaction that also rolls back the
stored events, so counts can never disagree with them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from persistence.database import Database, Document

log = logging.getLogger("cairn.atomic")

T = TypeVar("T")
Session = Any  # a motor client session, or None where the server has no transactions
MAX_ATTEMPTS = 30


class ConcurrentUpdate(Exception):
    """Another writer changed what this unit read; the unit must run again."""


def versioned_writes(
    changes: Sequence[tuple[Document, int | None]],
) -> tuple[list[InsertOne[Document] | ReplaceOne[Document]], int]:
    """Bulk operations for (new document with its `_id`, version read or None if absent)."""
    ops: list[InsertOne[Document] | ReplaceOne[Document]] = []
    replaces = 0
    for document, version in changes:
        if version is None:
            ops.append(InsertOne({**document, "v": 1}))
        else:
            key = {"_id": document["_id"], "v": version}
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
    ops, replaces = versioned_writes(changes)
    try:
        # Unordered: the server may group inserts and replaces into one command each.
        result = await collection.bulk_write(ops, ordered=False, session=session)
    except BulkWriteError as error:
        if _is_duplicate(error):
            raise ConcurrentUpdate(collection.name) from error
        raise
    if result.matched_count != replaces:
        raise ConcurrentUpdate(collection.name)


def _is_duplicate(error: BulkWriteError) -> bool:
    return any(e.get("code") == 11000 for e in error.details.get("writeErrors", []))


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, ConcurrentUpdate | DuplicateKeyError):
        return True
    if isinstance(error, BulkWriteError):
        return _is_duplicate(error)
    if isinstance(error, OperationFailure):
        return (
            error.has_error_label("TransientTransactionError")
            or error.has_error_label("UnknownTransactionCommitResult")
            or error.code in (112, 11000)
        )
    return False


async def run_atomically(database: Database, unit: Callable[[Session], Awaitable[T]]) -> T:
    """Runs `unit(session)` as one transaction, again on conflicts, with jittered back-off."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            if not database.supports_transactions:
                return await unit(None)
            async with await database.client.start_session() as session:
                async with session.start_transaction():
                    result = await unit(session)
                return result
        except Exception as error:
            if not is_retryable(error) or attempt == MAX_ATTEMPTS:
                raise
            log.debug("atomic unit conflicted (attempt %d): %s", attempt, error)
            await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
    raise AssertionError("unreachable")
