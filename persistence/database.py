"""The motor client and what Cairn needs to know about the server behind it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import monitoring

from persistence.availability import Availability

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
    availability: Availability = field(default_factory=Availability)

    def __getitem__(self, name: str) -> Any:
        return self.db[name]


class DatabaseUnsupported(RuntimeError):
    """The server cannot run Cairn (a standalone server: no transactions, no change streams)."""


async def open_database(client: Any, name: str) -> Database:
    """Wraps a connected client, refusing a server that is not a replica set or sharded cluster.

    Cairn's writes need multi-document transactions, and its live updates change streams; a
    standalone server has neither, and writing there double-counted and lost updates. So a
    standalone server raises :class:`DatabaseUnsupported`, and the client, of no use to Cairn
    then, is closed (callers such as ``main.connect`` keep no handle on it). A failing ``hello``
    (the server is unreachable, say) propagates as it is: a connection problem is not a
    standalone server.
    """
    db = client[name]
    hello = await client.admin.command("hello")
    replicated = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
    if not replicated:
        address = _server_address(client)
        client.close()
        raise DatabaseUnsupported(
            f"the MongoDB server at {address} is a standalone server, but Cairn needs a replica "
            "set (for transactions and change streams); a single-node replica set will do: "
            "start mongod with `mongod --replSet rs0 --bind_ip localhost`, run "
            "`mongosh --eval 'rs.initiate()'` once, and add `?replicaSet=rs0` (or "
            "`directConnection=true`) to CAIRN_MONGODB_URI"
        )
    return Database(
        client=client,
        db=db,
        supports_transactions=True,
        supports_change_streams=True,
    )


def _server_address(client: Any) -> str:
    """host:port of the server(s) the client reached, for messages (never blocks)."""
    nodes = getattr(client, "nodes", None)
    if nodes:
        return ", ".join(sorted(f"{host}:{port}" for host, port in nodes))
    return "the configured address"


def pair_id(learner_id: str, key: str) -> str:
    """The `_id` of a learner's document for `key` (an item, skill, day, event or achievement).

    Ids never contain '|', so the pair is unambiguous. A single-field `_id` lookup is what every
    server serves from its primary index; a filter over two fields with `$in` or `$or` may not be.
    """
    return f"{learner_id}|{key}"


def pair_ids(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return sorted({pair_id(learner_id, key) for learner_id, key in pairs})


# How many values one `$in` lookup carries. SecantusDB checks every document it finds against
# the whole `$in` list, so a lookup of n values that finds n documents costs n² comparisons: a
# thousand ids in one command took 0.7 s; in chunks of this size, a tenth of that.
ID_CHUNK = 64
# Lookups by learner: a chunk holds a whole page of learners (`resolvers.reading.MAX_LEARNERS`),
# so reading a page costs one command per collection, and a batch of a thousand learners five
# (a third of the time one command took).
LEARNER_CHUNK = 200


def in_chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    """The distinct values, in order, `size` at a time (see `ID_CHUNK`)."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


async def find_in(
    collection: Any,
    field: str,
    values: Iterable[str],
    query: Document | None = None,
    projection: Document | None = None,
    *,
    session: Any = None,
    sort: list[tuple[str, int]] | None = None,
    chunk: int = LEARNER_CHUNK,
) -> AsyncIterator[Document]:
    """The documents whose `field` is one of `values` and that match `query`, looked up a chunk
    of values at a time, in order of the values; `sort` orders each chunk's documents (so a sort
    that starts with `field` orders them all)."""
    for some in in_chunks(values, chunk):
        where = {**(query or {}), field: {"$in": some}}
        cursor = collection.find(where, projection, session=session, batch_size=READ_BATCH)
        if sort is not None:
            cursor = cursor.sort(sort)
        async for doc in cursor:
            yield doc


async def find_by_ids(
    collection: Any,
    ids: Iterable[str],
    *,
    session: Any = None,
    projection: Document | None = None,
) -> AsyncIterator[Document]:
    """The documents with these `_id`s, looked up a chunk of ids at a time."""
    async for doc in find_in(
        collection, "_id", ids, projection=projection, session=session, chunk=ID_CHUNK
    ):
        yield doc
