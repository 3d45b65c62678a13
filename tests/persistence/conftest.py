from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from persistence.database import CommandCounter, Database, create_client, open_database
from persistence.feed import Feed
from persistence.indexes import ensure_indexes
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from resolvers.gamification import install_default_achievements
from resolvers.recording import Recorder


@dataclass
class RealServer:
    """A fresh database on the real server, with the service's pieces built over it."""

    database: Database
    repositories: Repositories
    feed: Feed
    recorder: Recorder
    commands: CommandCounter


@pytest_asyncio.fixture(loop_scope="session")
async def real(real_mongodb_uri: str) -> AsyncIterator[RealServer]:
    commands = CommandCounter()
    client = create_client(real_mongodb_uri, listeners=[commands])
    name = f"cairn_test_{uuid.uuid4().hex[:12]}"
    database = await open_database(client, name)
    await ensure_indexes(database)
    repositories = Repositories.over(database)
    await install_default_achievements(repositories)
    feed = Feed(database, TOPICS)
    try:
        yield RealServer(database, repositories, feed, Recorder(repositories, feed), commands)
    finally:
        await feed.stop()
        await projectors_done()
        await client.drop_database(name)
        client.close()


async def projectors_done() -> None:
    """Waits for the projectors' drains under way (any recorder's, a test may make several):
    a database dropped in the middle of a transaction can hang the embedded server."""
    running = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "Projector._run"
    ]
    if running:
        await asyncio.wait(running, timeout=30)
