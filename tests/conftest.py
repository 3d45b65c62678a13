"""Fixtures for tests that need a real MongoDB-wire server (mark them ``@pytest.mark.real_db``).

``CAIRN_TEST_MONGODB_URI`` points them at an existing server (say, a MongoDB replica set in CI);
without it the embedded SecantusDB server is started once per session, on first use only, in a
temporary folder. Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorDatabase

TEST_MONGODB_URI_ENV = "CAIRN_TEST_MONGODB_URI"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def real_mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """URI of a real MongoDB-wire server shared by the session (replica set: has transactions)."""
    external = os.environ.get(TEST_MONGODB_URI_ENV, "").strip()
    if external:
        yield external
        return
    # Imported here so that collecting tests which never ask for a real server costs nothing.
    from persistence.embedded import embedded_mongodb

    async with embedded_mongodb(tmp_path_factory.mktemp("secantus")) as server:
        yield server.uri


@pytest_asyncio.fixture(loop_scope="session")
async def real_db(real_mongodb_uri: str) -> AsyncIterator[AsyncIOMotorDatabase[dict[str, Any]]]:
    """A motor ``AsyncIOMotorDatabase`` on a fresh, uniquely named database, dropped afterwards."""
    from motor.motor_asyncio import AsyncIOMotorClient

    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(real_mongodb_uri)
    name = f"cairn_test_{uuid.uuid4().hex[:12]}"
    try:
        yield client[name]
    finally:
        try:
            await client.drop_database(name)
        finally:
            client.close()
