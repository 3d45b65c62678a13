"""The embedded server never outlives Cairn, and a server left behind anyway is stopped.

A "service" here is a small Python process running :func:`embedded_mongodb`, killed outright with
SIGKILL the way an operator or the OOM killer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pymongo
import pytest

from persistence.embedded import (
    EXECUTABLE_NAME,
    LOCK_FILE_NAME,
    EmbeddedServerError,
    embedded_mongodb,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parent-death signal and /proc: Linux only"
)

ROOT = Path(__file__).resolve().parents[2]

# Prints the server's pid once it answers, then waits to be killed. "without-pdeathsig" starts
# the server as on a platform without a parent-death signal: it survives the service.
SERVICE = """
import asyncio, sys
from pathlib import Path
from persistence.embedded import embedded_mongodb, parent_death

async def main() -> None:
    if sys.argv[2] == "without-pdeathsig":
        parent_death.PARENT_DEATH_SIGNAL = None
    async with embedded_mongodb(Path(sys.argv[1])) as server:
        print(server.pid, flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""

# Stands in for a server in the lock file: named like the server, it holds cairn.lock and
# writes it the way Cairn does, naming itself as the server and argv[3] as its Cairn process.
FAKE_SERVER = """
import fcntl, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
lock = open(sys.argv[4], "a+")
fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
lock.truncate(0)
lock.write(f"held by pid {sys.argv[3]}, SecantusDB pid {os.getpid()} on 127.0.0.1:1\\n")
lock.flush()
print("holding", flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """Exited, its files (locks included) closed: a zombie counts once its threads are gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].startswith("Z") and threads in ([], [str(pid)])


async def _wait_gone(pid: int, within: float) -> float:
    started = time.monotonic()
    while not _gone(pid):
        assert time.monotonic() - started < within, f"pid {pid} still running after {within} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def _kill_if_ours(pid: int) -> None:
    """Clean-up after a failed test: kill a leftover server, but only one of ours."""
    with contextlib.suppress(OSError):
        if f"/{EXECUTABLE_NAME}\0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)


def _served_by(uri: str) -> Any:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        return client.admin.command("serverStatus")["pid"]


async def _killed_service(folder: Path, mode: str) -> int:
    """Run a service on ``folder`` until its server answers, SIGKILL it; the server's pid."""
    service = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVICE,
        str(folder),
        mode,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert service.stdout is not None
        line = await asyncio.wait_for(service.stdout.readline(), timeout=30)
        assert line.strip().isdigit(), f"the service printed {line!r}"
    finally:
        service.kill()
        await service.wait()
    return int(line)


async def _dead_pid() -> int:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await process.wait()
    return process.pid


async def _fake_server(tmp_path: Path, serves: Path, owner: int) -> asyncio.subprocess.Process:
    program = tmp_path / "bin" / EXECUTABLE_NAME
    program.parent.mkdir(exist_ok=True)
    program.write_text(FAKE_SERVER, encoding="utf-8")
    lock_file = tmp_path / "data" / LOCK_FILE_NAME
    lock_file.parent.mkdir(exist_ok=True)
    fake = await asyncio.create_subprocess_exec(
        *(sys.executable, str(program), "--storage-path", str(serves), str(owner), str(lock_file)),
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert fake.stdout is not None
    assert await asyncio.wait_for(fake.stdout.readline(), timeout=10) == b"holding\n"
    return fake


@pytest.mark.real_db
async def test_a_killed_service_takes_its_server_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    server_pid = await _killed_service(folder, "with-pdeathsig")
    try:
        assert await _wait_gone(server_pid, within=3.0) < 3.0  # at once: SIGKILL from the kernel
        caplog.set_level(logging.INFO, logger="cairn.embedded")
        async with embedded_mongodb(folder) as server:  # the folder is free: no "in use"
            assert await asyncio.to_thread(_served_by, server.uri) == server.pid
        assert "still running on the data folder" not in caplog.text
    finally:
        _kill_if_ours(server_pid)


@pytest.mark.real_db
async def test_a_server_left_by_a_killed_service_is_stopped_by_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    server_pid = await _killed_service(folder, "without-pdeathsig")
    try:
        await asyncio.sleep(0.3)
        assert not _gone(server_pid)  # orphaned, holding cairn.lock and WiredTiger's lock

        caplog.set_level(logging.INFO, logger="cairn.embedded")
        async with embedded_mongodb(folder) as server:
            assert _gone(server_pid)
            assert await asyncio.to_thread(_served_by, server.uri) == server.pid
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            f"SecantusDB server (pid {server_pid}) is still running on the data folder "
            f"{folder.resolve()}" in message
            for message in warnings
        ), warnings
        # Stopped cleanly, in well under the stop timeout: no SIGKILL needed.
        assert "killing it" not in caplog.text
    finally:
        _kill_if_ours(server_pid)


async def test_an_unrelated_process_named_in_the_lock_file_is_never_killed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    bystander = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)"
    )
    try:
        owner = await _dead_pid()
        # The lock is held (by this test, through a file description of its own) and names
        # a process whose Cairn is gone: but that process is no SecantusDB.
        with (folder / LOCK_FILE_NAME).open("a+", encoding="utf-8") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock.write(f"held by pid {owner}, SecantusDB pid {bystander.pid} on 127.0.0.1:1\n")
            lock.flush()
            with pytest.raises(EmbeddedServerError, match="is in use") as raised:
                async with embedded_mongodb(folder, stop_timeout=0.5):
                    pytest.fail("started on a locked folder")
            assert f"SecantusDB pid {bystander.pid}" in str(raised.value)
        await asyncio.sleep(0.6)
        assert bystander.returncode is None and not _gone(bystander.pid)
    finally:
        bystander.kill()
        await bystander.wait()


async def test_a_server_of_another_folder_named_in_the_lock_file_is_never_killed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    fake = await _fake_server(tmp_path, serves=tmp_path / "other", owner=await _dead_pid())
    try:
        with pytest.raises(EmbeddedServerError, match="is in use"):
            async with embedded_mongodb(folder, stop_timeout=0.5):
                pytest.fail("started on a locked folder")
        await asyncio.sleep(0.6)
        assert fake.returncode is None and not _gone(fake.pid)
    finally:
        fake.kill()
        await fake.wait()


@pytest.mark.real_db
async def test_a_stale_server_that_will_not_stop_is_killed_after_the_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The stand-in ignores SIGTERM (and does not listen): SIGKILL after the stop timeout."""
    folder = tmp_path / "data"
    fake = await _fake_server(tmp_path, serves=folder, owner=await _dead_pid())
    try:
        caplog.set_level(logging.INFO, logger="cairn.embedded")
        started = time.monotonic()
        async with embedded_mongodb(folder, stop_timeout=0.5) as server:
            assert await fake.wait() == -signal.SIGKILL
            assert time.monotonic() - started >= 0.5
            assert server.is_running()
        assert f"SecantusDB server (pid {fake.pid}) is still running" in caplog.text
        assert f"embedded SecantusDB (pid {fake.pid}) still running 0.5 s after" in caplog.text
    finally:
        if fake.returncode is None:
            fake.kill()
            await fake.wait()
