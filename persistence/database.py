"""The motor client and what Cairn needs to know about the server behind it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import monitoring

log = logging.getLogger("cairn.database")

Document = dict[str, Any]

# Batched reads ask for everything in the first reply: a page of 200 learners then costs one
# command per collection, not one plus a getMore per 101 documents.
READ_BATCH = 10_000


class CommandCounter(monitoring.CommandListener):
    """Counts the commands sent to the server; benchmarks and tests read it."""

    def __init__(self) -> None:
        self.count = 0
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.count = 0
        self.names.clear()


def create_client(
    uri: str, *, listeners: list[monitoring.CommandListener] | None = None
) -> AsyncIOMotorClient[Document]:
    return AsyncIOMotorClient(
        uri,
        tz_aware=True,
        tzinfo=UTC,
        event_listeners=listeners or [],
        serverSelectionTimeoutMS=10_000,
    )


@dataclass(frozen=True)
class Database:
    """A database handle plus the server's capabilities, probed once at start-up."""

    client: Any
    db: AsyncIOMotorDatabase[Document]
    supports_transactions: bool
    supports_change_streams: bool

    def __getitem__(self, name: str) -> Any:
        return self.db[name]


async def open_database(client: Any, name: str) -> Database:
    """Wraps a connected client; transactions and change streams need a replica set."""
    db = client[name]
    try:
        hello = await client.admin.command("hello")
    except Exception:  # mongomock and very old servers: assume a bare standalone.
        hello = {}
    replicated = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
    if not replicated:
        log.warning(
            "the database is not a replica set: events are written without transactions "
            "and live updates stay inside this process"
        )
    return Database(
        client=client,
        db=db,
        supports_transactions=replicated,
        supports_change_streams=replicated,
    )


def pair_id(learner_id: str, key: str) -> str:
    """The `_id` of a learner's document for `key` (an item, skill, day, event or achievement).

    Ids never contain '|', so the pair is unambiguous. A single-field `_id` lookup is what every
    server serves from its primary index; a filter over two fields with `$in` or `$or` may not be.
    """
    return f"{learner_id}|{key}"


def pair_ids(pairs: Iterable[tuple[str, str]]) -> Document:
    return {"_id": {"$in": sorted({pair_id(learner_id, key) for learner_id, key in pairs})}}
