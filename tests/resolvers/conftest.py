from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockClient

from persistence.database import Database
from persistence.feed import Feed
from persistence.indexes import ensure_indexes
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from resolvers.gamification import install_default_achievements
from resolvers.recording import Recorder


@pytest.fixture
async def repositories() -> AsyncIterator[Repositories]:
    client: Any = AsyncMongoMockClient(tz_aware=True)
    database = Database(
        client=client,
        db=client["cairn_test"],
        supports_transactions=False,
        supports_change_streams=False,
    )
    await ensure_indexes(database)
    repositories = Repositories.over(database)
    await install_default_achievements(repositories)
    yield repositories


@pytest.fixture
def feed(repositories: Repositories) -> Feed:
    return Feed(repositories.database, TOPICS)


@pytest.fixture
def recorder(repositories: Repositories, feed: Feed) -> Recorder:
    return Recorder(repositories, feed)
