"""Cairn refuses a server without transactions, and says how to get one that has them."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

from main import main
from persistence.database import DatabaseUnsupported, create_client, open_database
from persistence.embedded import find_executable

STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_ping(uri: str) -> bool:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500) as client:
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        return True


@pytest.fixture(scope="module")
def standalone_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``secantusd-py --standalone`` (no replica set advertised) on a free loopback port."""
    folder = tmp_path_factory.mktemp("standalone")
    config = folder / "secantusd.toml"
    config.write_text("", encoding="utf-8")  # no settings from the working or home folder
    port = _free_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    with (folder / "secantusd.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(find_executable()),
                "--standalone",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                str(folder / "data"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers_ping(uri):
            assert process.poll() is None, (folder / "secantusd.log").read_text()
            assert time.monotonic() < deadline, "secantusd-py --standalone did not start"
            time.sleep(0.05)
        yield uri
    finally:
        process.kill()  # a throwaway server: no clean stop needed
        process.wait(timeout=10)


def _assert_explains_replica_set(message: str, port: int) -> None:
    assert f"server at 127.0.0.1:{port} is a standalone server" in message
    assert "replica set" in message
    assert "mongod --replSet rs0 --bind_ip localhost" in message
    assert "mongosh --eval 'rs.initiate()'" in message
    assert "?replicaSet=rs0" in message and "directConnection=true" in message
    assert "CAIRN_MONGODB_URI" in message


@pytest.mark.real_db
async def test_standalone_server_is_refused(standalone_uri: str) -> None:
    client = create_client(standalone_uri)
    try:
        with pytest.raises(DatabaseUnsupported) as raised:
            await open_database(client, "cairn")
    finally:
        client.close()
    port = int(standalone_uri.rsplit(":", 1)[1].split("/", 1)[0])
    _assert_explains_replica_set(str(raised.value), port)


@pytest.mark.real_db
def test_main_prints_the_reason_and_exits_1(
    standalone_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CAIRN_MONGODB_URI", standalone_uri)
    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
    assert main(["seed-demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cairn: the MongoDB server at 127.0.0.1:")
    assert "rs.initiate()" in err
    assert "Traceback" not in err


async def test_unreachable_server_is_not_taken_for_a_standalone() -> None:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        f"mongodb://127.0.0.1:{_free_port()}/?directConnection=true",
        serverSelectionTimeoutMS=300,
        connectTimeoutMS=300,
    )
    try:
        with pytest.raises(ServerSelectionTimeoutError):
            await open_database(client, "cairn")
    finally:
        client.close()


@pytest.mark.real_db
async def test_replica_set_opens_with_transactions(real_mongodb_uri: str) -> None:
    client = create_client(real_mongodb_uri)
    try:
        database = await open_database(client, "cairn_test_open")
        assert database.supports_transactions
        assert database.supports_change_streams
        assert database.client is client
    finally:
        client.close()
