"""Starting ``secantusd-py`` as a child process and waiting until it answers ``ping``.

The child gets a port of its own on ``host`` (the one asked for when it is free, which keeps a
restarted server's URI; else any free one), appends its stdout and stderr to ``secantusd.log``
(``logfile.py``), inherits the folder lock (``lock.py``), and dies with Cairn
(``parent_death.py``: spawn it from the event loop's thread only, never from a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo
from pymongo.errors import PyMongoError

from persistence.embedded import logfile
from persistence.embedded.common import (
    EXECUTABLE_NAME,
    EmbeddedServerError,
    folder_in_use_message,
    logger,
)
from persistence.embedded.config import CONFIG_FILE_NAME, ensure_sync_on_commit
from persistence.embedded.lock import FolderLock
from persistence.embedded.logfile import LOG_FILE_NAME
from persistence.embedded.parent_death import parent_death_hook
from persistence.embedded.stop import DEFAULT_STOP_TIMEOUT, stop_child

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "LOG_LEVELS",
    "Child",
    "find_executable",
    "start_child",
    "uri_for",
]

DEFAULT_STARTUP_TIMEOUT = 30.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3
# What WiredTiger prints when another process has the folder open (checked on SecantusDB 0.7):
#   .../WiredTiger.lock: handle-lock: fcntl: Resource temporarily unavailable
#   WiredTiger database is already being managed by another process: Device or resource busy
_FOLDER_IN_USE_MARKERS = (
    "already being managed by another process",
    "WiredTiger.lock: handle-lock",
)
_PORT_IN_USE_MARKERS = ("Address already in use",)


def find_executable() -> Path:
    """The ``secantusd-py`` next to the running interpreter (the venv's bin), else on ``PATH``."""
    beside = Path(sys.executable).parent / EXECUTABLE_NAME
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(EXECUTABLE_NAME)
    if found is not None:
        return Path(found)
    raise EmbeddedServerError(
        f"the embedded database server `{EXECUTABLE_NAME}` was found neither next to "
        f"{sys.executable} nor on PATH; install the SecantusDB package "
        "(`pip install -r requirements.txt`) or set MONGODB_URI to use a MongoDB server"
    )


def uri_for(host: str, port: int) -> str:
    netloc = f"[{host}]" if ":" in host else host
    return f"mongodb://{netloc}:{port}/?directConnection=true"


@dataclass(frozen=True)
class Child:
    """A started server: its process and where it listens."""

    process: asyncio.subprocess.Process
    host: str
    port: int

    @property
    def uri(self) -> str:
        return uri_for(self.host, self.port)


async def start_child(
    data_dir: Path,
    lock: FolderLock,
    *,
    host: str,
    port: int,
    log_level: str,
    startup_timeout: float,
) -> Child:
    """Start the server on ``data_dir`` (locked by ``lock``); return once it answers ping.

    ``port`` is the one to try first (0: any free one). Raises :class:`EmbeddedServerError` when
    the server cannot start; a server that was started is stopped again on any error or
    cancellation, so the folder is free again when this raises.
    """
    executable = find_executable()
    ensure_sync_on_commit(data_dir / CONFIG_FILE_NAME)
    logfile.rotate(data_dir)
    deadline = time.monotonic() + startup_timeout
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        chosen = _choose_port(host, port)
        port = 0  # a retry takes any free port
        started_at = time.monotonic()
        process, log_offset = await _spawn(executable, data_dir, lock, host, chosen, log_level)
        lock.record(process.pid, host, chosen)
        try:
            while process.returncode is None:
                if await asyncio.to_thread(_probe, host, chosen, process.pid):
                    logger.info(
                        "embedded SecantusDB (pid %d) ready at %s after %.2f s",
                        process.pid,
                        uri_for(host, chosen),
                        time.monotonic() - started_at,
                    )
                    return Child(process, host, chosen)
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"the embedded SecantusDB server (pid {process.pid}, data folder "
                        f"{data_dir}) did not answer ping on {host}:{chosen} within "
                        f"{startup_timeout:g} s; see {data_dir / LOG_FILE_NAME}, or raise the "
                        f"startup timeout on a slow machine\n{logfile.tail(data_dir, log_offset)}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), _POLL_INTERVAL)
        except BaseException:
            await stop_child(process, host, chosen, DEFAULT_STOP_TIMEOUT, serving=False)
            raise
        _raise_unless_port_taken(
            data_dir, log_offset, process.returncode, last=attempt == _PORT_ATTEMPTS
        )
        logger.warning("port %d was taken before SecantusDB bound it; retrying", chosen)
    raise EmbeddedServerError(
        f"the embedded SecantusDB server (data folder {data_dir}) found no free port on "
        f"{_PORT_ATTEMPTS} attempts; check what is using the loopback ports"
    )


async def _spawn(
    executable: Path, data_dir: Path, lock: FolderLock, host: str, port: int, log_level: str
) -> tuple[asyncio.subprocess.Process, int]:
    """Start the child, its output appended to the log; returns it and where its output starts."""
    argv = [
        str(executable),
        "--config",
        str(data_dir / CONFIG_FILE_NAME),
        "--host",
        host,
        "--port",
        str(port),
        "--storage-path",
        str(data_dir),
        "--log-level",
        log_level,
        "--sync-on-commit",  # the file says so too (see config.py)
    ]
    with logfile.open_for_child(data_dir, host, port) as (log, offset):
        logger.info("starting embedded SecantusDB on %s:%d with data in %s", host, port, data_dir)
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            pass_fds=lock.inheritable_fds(),
            preexec_fn=parent_death_hook(),
        )
    return process, offset


def _choose_port(host: str, wanted: int) -> int:
    """``wanted`` if nothing listens on it (0: none wanted), else a free port picked by the OS."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if wanted:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # As the server binds (SO_REUSEADDR): connections of a previous server lingering
            # in TIME_WAIT do not make the port taken, a listener does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, wanted))
            except OSError as exc:
                logger.info("port %d is not free (%s); picking another", wanted, exc)
            else:
                return wanted
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _probe(host: str, port: int, expected_pid: int) -> bool:
    """Whether our server answers ``ping`` on host:port (blocking; at most ~1 s).

    A cheap TCP connect comes first, so no driver client is built while the server is still
    opening its storage. The pid in ``serverStatus`` guards against another server that took the
    port between our picking it and our server binding it (ours then exits and is retried).
    """
    try:
        with socket.create_connection((host, port), timeout=0.25):
            pass
    except OSError:
        return False
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri_for(host, port),
        serverSelectionTimeoutMS=1000,
        connectTimeoutMS=1000,
        socketTimeoutMS=2000,
        appname="cairn-embedded-probe",
    )
    try:
        client.admin.command("ping")
        status = client.admin.command("serverStatus")
    except PyMongoError as exc:
        logger.debug("%s:%d not ready yet: %s", host, port, exc)
        return False
    finally:
        client.close()
    pid = status.get("pid")
    if isinstance(pid, int) and pid != expected_pid:
        logger.debug("%s:%d is answered by pid %d, not ours (%d)", host, port, pid, expected_pid)
        return False
    return True


def _raise_unless_port_taken(
    data_dir: Path, offset: int, returncode: int | None, *, last: bool
) -> None:
    """The child exited before answering: return if another port may help, else raise why."""
    text = logfile.text_since(data_dir, offset)
    if any(marker in text for marker in _FOLDER_IN_USE_MARKERS):
        raise EmbeddedServerError(
            f"{folder_in_use_message(data_dir)}\n{logfile.tail(data_dir, offset)}"
        )
    if not last and any(marker in text for marker in _PORT_IN_USE_MARKERS):
        return
    raise EmbeddedServerError(
        f"the embedded SecantusDB server (data folder {data_dir}) exited with code "
        f"{returncode} before answering ping; see {data_dir / LOG_FILE_NAME}\n"
        f"{logfile.tail(data_dir, offset)}"
    )
