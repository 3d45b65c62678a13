from __future__ import annotations

import pytest

from persistence.feed import Feed
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from resolvers.recording import Recorder
from tests.fakes import fake_repositories


@pytest.fixture
async def repositories() -> Repositories:
    return await fake_repositories()


@pytest.fixture
def feed(repositories: Repositories) -> Feed:
    return Feed(repositories.database, TOPICS)


@pytest.fixture
def recorder(repositories: Repositories, feed: Feed) -> Recorder:
    return Recorder(repositories, feed)
