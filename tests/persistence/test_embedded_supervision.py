"""What a supervisor gets from the embedded server: wait until it dies, restart it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from persistence.embedded import EmbeddedServerError, embedded_mongodb


@pytest.mark.real_db
async def test_wait_exited_returns_when_the_server_dies_and_restart_brings_it_back(
    tmp_path: Path,
) -> None:
    async with embedded_mongodb(tmp_path / "data") as server:
        uri, first_pid = server.uri, server.pid
        client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
            uri, serverSelectionTimeoutMS=10_000
        )
        try:
            await client.cairn.items.insert_one({"_id": "kept", "n": 1})
            watcher = asyncio.create_task(server.wait_exited())
            await asyncio.sleep(0.2)
            assert not watcher.done()

            os.kill(first_pid, signal.SIGKILL)
            assert await asyncio.wait_for(watcher, timeout=10) == -signal.SIGKILL
            assert not server.is_running()

            await server.restart()
            assert server.is_running()
            assert server.pid != first_pid
            assert server.uri == uri  # the same port: clients reconnect by themselves
            assert await client.cairn.items.find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}

            # A deliberate stop and a restart, while running, of the restarted server.
            await server.stop()
            assert not server.is_running()
            assert await server.wait_exited() == 0
            await server.stop()  # idempotent
            await server.restart()
            running_pid = server.pid
            await server.restart()  # stops the running one first
            assert server.pid != running_pid
            assert await client.cairn.items.count_documents({}) == 1
        finally:
            client.close()
    assert await server.wait_exited() == 0
    with pytest.raises(EmbeddedServerError, match="closed"):
        await server.restart()


@pytest.mark.real_db
async def test_restart_moves_to_another_port_when_its_port_was_taken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cairn.embedded")
    async with embedded_mongodb(tmp_path / "data") as server:
        old_uri, port = server.uri, int(server.uri.rsplit(":", 1)[1].split("/")[0])
        await server.stop()
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT left
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            await server.restart()
        assert server.is_running()
        assert server.uri != old_uri
        assert f"embedded SecantusDB restarted on another port: {server.uri}" in caplog.text
