"""The fast test database: mongomock-motor behind the service's own `Database` handle."""

from __future__ import annotations

from typing import Any

from mongomock_motor import AsyncMongoMockClient

from persistence.database import Database
from persistence.indexes import ensure_indexes
from persistence.repositories import Repositories
from resolvers.gamification import install_default_achievements


def mongomock_database(name: str = "cairn_test") -> Database:
    """No sessions and no change streams: writes run without transactions, delivery in-process."""
    client: Any = AsyncMongoMockClient(tz_aware=True)
    return Database(
        client=client, db=client[name], supports_transactions=False, supports_change_streams=False
    )


async def fake_repositories() -> Repositories:
    """Repositories over a fresh mongomock database, indexed, with the built-in achievements."""
    database = mongomock_database()
    await ensure_indexes(database)
    repositories = Repositories.over(database)
    await install_default_achievements(repositories)
    return repositories
