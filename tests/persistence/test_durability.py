"""Every commit the embedded server acknowledged survives a SIGKILL of that server.

SecantusDB acknowledges a commit before its log reaches the file unless ``sync_on_commit`` is on;
the launcher turns it on (see ``persistence/embedded/config.py``). Without it, a kill while
acknowledgements were arriving lost 12 to 35 of the last 400 acknowledged events in every round
here; with it, none.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymongo
import pytest
from pymongo.errors import PyMongoError
from secantus.config import load_config  # type: ignore[import-untyped]

from persistence.embedded import CONFIG_FILE_NAME, embedded_mongodb
from persistence.embedded.config import ensure_sync_on_commit, prepare_folder

ROUNDS = 3  # losses without sync_on_commit came in every round; three make a miss unlikely
ACKNOWLEDGED_BEFORE_KILL = 400  # per round: the kill follows the 400th acknowledgement at once
WRITERS = 4  # so that other inserts are in flight when the kill comes


@dataclass
class _Round:
    """The events acknowledged in one round of writes, and when the server was killed."""

    acknowledged: dict[str, float] = field(default_factory=dict)  # _id -> time.monotonic()
    killed_at: float | None = None
    interrupted_writers: int = 0


def _write_until_killed(uri: str, server_pid: int, round_no: int) -> _Round:
    """Insert small events one by one from a few threads; SIGKILL the server mid-stream."""
    result = _Round()
    lock = threading.Lock()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri,
        retryWrites=False,  # an acknowledgement is for exactly one attempt
        serverSelectionTimeoutMS=2000,
        connectTimeoutMS=2000,
        socketTimeoutMS=10_000,
    )
    events = client.cairn.events

    def writer(number: int) -> None:
        for sequence in itertools.count():
            event_id = f"round{round_no}-writer{number}-{sequence}"
            try:
                events.insert_one({"_id": event_id, "learner": f"l{number}", "n": sequence})
            except PyMongoError:
                with lock:
                    result.interrupted_writers += 1
                return
            with lock:
                result.acknowledged[event_id] = time.monotonic()
                if len(result.acknowledged) == ACKNOWLEDGED_BEFORE_KILL:
                    os.kill(server_pid, signal.SIGKILL)  # no clean stop, no flush
                    result.killed_at = time.monotonic()
            if sequence > 20 * ACKNOWLEDGED_BEFORE_KILL:  # the kill never came: give up
                return

    with client:
        threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads), "writers still busy after 30 s"
    return result


def _stored_ids(uri: str, round_no: int) -> set[str]:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        found: pymongo.cursor.Cursor[dict[str, Any]] = client.cairn.events.find(
            {"_id": {"$regex": f"^round{round_no}-"}}, {"_id": 1}
        )
        return {doc["_id"] for doc in found}


@pytest.mark.real_db
async def test_acknowledged_events_survive_a_kill_of_the_server(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with embedded_mongodb(folder) as server:
        config = tomllib.loads((folder / CONFIG_FILE_NAME).read_text(encoding="utf-8"))
        assert config["storage"]["sync_on_commit"] is True  # a new folder's file says so
        for round_no in range(ROUNDS):
            written = await asyncio.to_thread(_write_until_killed, server.uri, server.pid, round_no)
            assert written.killed_at is not None, "the writers failed before the kill"
            assert written.interrupted_writers >= 1  # inserts were in flight: a kill mid-stream
            assert await asyncio.wait_for(server.wait_exited(), 10) == -signal.SIGKILL

            await server.restart()  # the same folder, recovered from its log
            stored = await asyncio.to_thread(_stored_ids, server.uri, round_no)
            lost = {i: at for i, at in written.acknowledged.items() if i not in stored}
            assert not lost, (
                f"round {round_no}: {len(lost)} of {len(written.acknowledged)} acknowledged "
                "events were lost, acknowledged up to "
                f"{(written.killed_at - min(lost.values())) * 1000:.0f} ms before the kill: "
                f"{sorted(lost)[:5]}"
            )


def test_config_file_says_sync_on_commit_for_new_and_existing_folders(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cairn.embedded")

    new = prepare_folder(tmp_path / "new")
    new_config = new / CONFIG_FILE_NAME
    template = new_config.read_text(encoding="utf-8")
    assert load_config(new_config)[0].sync_on_commit is True  # as SecantusDB itself reads it
    ensure_sync_on_commit(new_config)  # what every start does: here, nothing to correct
    assert new_config.read_text(encoding="utf-8") == template
    assert "set [storage] sync_on_commit" not in caplog.text

    existing = tmp_path / "existing"
    existing.mkdir()
    operator_file = (
        "# tuned for the small VM\n"
        "[server]\n"
        "auth = true\n"
        "\n"
        "[storage]\n"
        'cache_size = "256M"  # half the RAM\n'
        "sync_on_commit = false\n"
        "session_max = 200\n"
        "\n"
        "[oplog]\n"
        "retention_seconds = 7200.0\n"
    )
    (existing / CONFIG_FILE_NAME).write_text(operator_file, encoding="utf-8")
    ensure_sync_on_commit(existing / CONFIG_FILE_NAME)
    text = (existing / CONFIG_FILE_NAME).read_text(encoding="utf-8")
    assert tomllib.loads(text) == {
        "server": {"auth": True},
        "storage": {"cache_size": "256M", "sync_on_commit": True, "session_max": 200},
        "oplog": {"retention_seconds": 7200.0},
    }
    assert "# tuned for the small VM" in text and "# half the RAM" in text  # comments kept
    assert load_config(existing / CONFIG_FILE_NAME)[0].sync_on_commit is True
    assert f"set [storage] sync_on_commit = true in {existing / CONFIG_FILE_NAME}" in caplog.text
    assert "(it was false)" in caplog.text

    # A file with no [storage] table gets one; a correct file is left alone, byte for byte.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / CONFIG_FILE_NAME).write_text("[oplog]\nmax_entries = 50\n", encoding="utf-8")
    ensure_sync_on_commit(bare / CONFIG_FILE_NAME)
    fixed = (bare / CONFIG_FILE_NAME).read_text(encoding="utf-8")
    assert tomllib.loads(fixed) == {
        "oplog": {"max_entries": 50},
        "storage": {"sync_on_commit": True},
    }
    ensure_sync_on_commit(bare / CONFIG_FILE_NAME)
    assert (bare / CONFIG_FILE_NAME).read_text(encoding="utf-8") == fixed

    # Shapes a line edit cannot handle (dotted keys here) are rewritten from the parsed settings.
    dotted = tmp_path / "dotted"
    dotted.mkdir()
    (dotted / CONFIG_FILE_NAME).write_text(
        'storage.sync_on_commit = false\nstorage.cache_size = "2G"\n', encoding="utf-8"
    )
    ensure_sync_on_commit(dotted / CONFIG_FILE_NAME)
    assert tomllib.loads((dotted / CONFIG_FILE_NAME).read_text(encoding="utf-8")) == {
        "storage": {"sync_on_commit": True, "cache_size": "2G"}
    }
