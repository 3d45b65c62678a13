"""The embedded SecantusDB launcher, and the server features Cairn relies on."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pymongo
import pytest
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from persistence.embedded import (
    LOG_FILE_NAME,
    EmbeddedServerError,
    embedded_mongodb,
    find_executable,
)


def _ping_sync(uri: str) -> dict[str, Any]:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=30_000) as client:  # slow when loaded
        status: dict[str, Any] = client.admin.command("serverStatus")
        client.admin.command("ping")
        return status


def _assert_folder_in_use(error: EmbeddedServerError, folder: Path) -> None:
    message = str(error)
    assert f"data folder {folder.resolve()} is in use" in message
    assert "stop that process or set CAIRN_DATA_DIR to another folder" in message


def _server_status_and_kept_doc(uri: str) -> tuple[dict[str, Any], Any]:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000) as client:
        status: dict[str, Any] = client.admin.command("serverStatus")
        return status, client.cairn.items.find_one({"_id": "kept"})


@pytest.mark.real_db
async def test_starts_keeps_its_folder_exclusive_and_restarts_with_the_data(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "nested" / "data"  # created with its parents
    started = time.monotonic()
    async with embedded_mongodb(folder) as server:
        assert time.monotonic() - started < 10.0
        uri = server.uri
        assert uri.startswith("mongodb://127.0.0.1:")
        assert uri.endswith("/?directConnection=true")
        assert server.is_running()
        client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
            uri, serverSelectionTimeoutMS=2000
        )
        try:
            assert (await client.admin.command("ping"))["ok"] == 1
            hello = await client.admin.command("hello")
            assert hello["setName"] == "secantus"  # a replica set: transactions, change streams
            await client.cairn.items.insert_one({"_id": "kept", "n": 1})
        finally:
            client.close()
        assert (folder / LOG_FILE_NAME).is_file()

        # A second launcher on the same folder fails at once, naming the folder and the fix; the
        # server in use is not taken for one left behind: it keeps running.
        tried = time.monotonic()
        for _ in range(2):
            with pytest.raises(EmbeddedServerError) as raised:
                async with embedded_mongodb(folder):
                    pytest.fail("a second server started on a folder in use")
            _assert_folder_in_use(raised.value, folder)
            assert f"held by pid {os.getpid()}, SecantusDB pid {server.pid}" in str(raised.value)
        assert time.monotonic() - tried < 1.0
        assert server.is_running()
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5.0
    assert await server.wait_exited() == 0  # a clean shutdown, not a kill
    assert not server.is_running()

    # Straight back up on the same folder, with the data.
    async with embedded_mongodb(folder) as again:
        status, kept = await asyncio.to_thread(_server_status_and_kept_doc, again.uri)
        assert status["pid"] == again.pid != server.pid
        assert kept == {"_id": "kept", "n": 1}
    assert await again.wait_exited() == 0


@pytest.mark.real_db
async def test_timeout_and_cancellation_during_startup_leave_the_folder_free(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    with pytest.raises(EmbeddedServerError, match=r"did not answer ping .* within 0\.01 s"):
        async with embedded_mongodb(folder, startup_timeout=0.01):
            pytest.fail("the server cannot be up this fast")

    async def hold_server() -> None:
        async with embedded_mongodb(folder):
            await asyncio.sleep(60)

    task = asyncio.create_task(hold_server())
    await asyncio.sleep(0.2)  # still starting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Nothing left behind: neither Cairn's lock nor WiredTiger's.
    async with embedded_mongodb(folder) as server:
        assert server.is_running()
    assert await server.wait_exited() == 0


@pytest.mark.real_db
async def test_folder_opened_by_another_secantusd_is_reported(tmp_path: Path) -> None:
    """A SecantusDB started by hand holds WiredTiger's lock but not Cairn's: read from its log."""
    folder = tmp_path / "data"
    folder.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    foreign = await asyncio.create_subprocess_exec(
        *(str(find_executable()), "--port", str(port), "--storage-path", str(folder)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        status = await asyncio.to_thread(
            _ping_sync, f"mongodb://127.0.0.1:{port}/?directConnection=true"
        )
        assert status["pid"] == foreign.pid
        with pytest.raises(EmbeddedServerError) as raised:
            async with embedded_mongodb(folder, startup_timeout=20):
                pytest.fail("a second server started on a folder in use")
        _assert_folder_in_use(raised.value, folder)
        assert "already being managed by another process" in str(raised.value)  # the log's tail
    finally:
        foreign.kill()
        await foreign.wait()


async def test_missing_executable_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmbeddedServerError, match=r"secantusd-py.*install the SecantusDB package"):
        find_executable()
    for _ in range(2):  # the same error again: the folder lock was released
        with pytest.raises(EmbeddedServerError, match="MONGODB_URI"):
            async with embedded_mongodb(tmp_path / "data"):
                pytest.fail("started without an executable")


@pytest.mark.real_db
async def test_server_has_transactions_and_change_streams(
    real_db: AsyncIOMotorDatabase[dict[str, Any]],
) -> None:
    client = real_db.client
    items = real_db.items
    await real_db.create_collection("items")

    async with await client.start_session() as session:
        async with session.start_transaction():
            await items.insert_one({"_id": "committed"}, session=session)
        async with session.start_transaction():
            await items.insert_one({"_id": "aborted"}, session=session)
            await session.abort_transaction()
    assert [doc["_id"] async for doc in items.find()] == ["committed"]

    async with items.watch(max_await_time_ms=200) as stream:
        await items.insert_one({"_id": "watched", "n": 7})
        change = await asyncio.wait_for(stream.next(), timeout=10)
    assert change["operationType"] == "insert"
    assert change["fullDocument"] == {"_id": "watched", "n": 7}
