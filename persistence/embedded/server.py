"""The embedded server for the service: :func:`embedded_mongodb` and its :class:`EmbeddedServer`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from persistence.embedded.common import EmbeddedServerError, folder_in_use_message, logger
from persistence.embedded.config import prepare_folder
from persistence.embedded.launch import (
    DEFAULT_STARTUP_TIMEOUT,
    LOG_LEVELS,
    Child,
    start_child,
    uri_for,
)
from persistence.embedded.lock import FolderLock, find_stale_server
from persistence.embedded.logfile import LOG_FILE_NAME
from persistence.embedded.stop import DEFAULT_STOP_TIMEOUT, stop_child, stop_orphan

__all__ = ["EmbeddedServer", "embedded_mongodb"]

_POLL_INTERVAL = 0.05
_EXITING_WAIT = 2.0  # for processes killed a moment ago to let go of the folder lock


@asynccontextmanager
async def embedded_mongodb(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    log_level: str = "WARNING",
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
) -> AsyncIterator[EmbeddedServer]:
    """Run SecantusDB on a free port of ``host`` with its data in ``data_dir``.

    Yields the running :class:`EmbeddedServer` once it answers ``ping`` (``server.uri`` is what
    clients connect to). The folder stays locked until the context exits. On exit the server gets
    SIGTERM (unless it is already stopping), then SIGKILL after ``stop_timeout`` seconds; it has
    always exited (and been reaped) when this returns, so the folder can be opened again at once.
    Cancellation at any point stops the server too.

    A server left running on the folder by a Cairn process that is gone is stopped first (logged
    as a WARNING). Raises :class:`EmbeddedServerError` when the server cannot start, for instance
    when another running process uses the folder.
    """
    if log_level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    data_dir = prepare_folder(data_dir)
    lock = await _claim_folder(data_dir, stop_timeout)
    try:
        server = EmbeddedServer(
            data_dir,
            lock,
            host=host,
            log_level=log_level,
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
        )
        await server.restart()
        try:
            yield server
        finally:
            await server._close()
    finally:
        lock.release()


class EmbeddedServer:
    """The embedded server of one data folder, as handed out by :func:`embedded_mongodb`.

    For supervision: a watcher task awaits :meth:`wait_exited` and, if the server died, calls
    :meth:`restart` (the folder stays locked meanwhile). Cancel such a watcher before the context
    exits: the normal stop at exit makes :meth:`wait_exited` return too, and :meth:`restart`
    then raises.
    """

    def __init__(
        self,
        data_dir: Path,
        lock: FolderLock,
        *,
        host: str,
        log_level: str,
        startup_timeout: float,
        stop_timeout: float,
    ) -> None:
        self.data_dir = data_dir
        self._lock = lock
        self._host = host
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._port = 0
        self._child: Child | None = None
        self._closed = False
        self._guard = asyncio.Lock()

    @property
    def uri(self) -> str:
        """Where clients connect: the same after a restart unless its port was taken meanwhile."""
        return uri_for(self._host, self._port)

    @property
    def pid(self) -> int:
        """The pid of the current (or last) server process."""
        return self._current().process.pid

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    def is_running(self) -> bool:
        """Whether the server process is running (as far as the event loop has seen: a process
        that died a moment ago may still count as running until it has been reaped)."""
        return self._child is not None and self._child.process.returncode is None

    async def wait_exited(self) -> int:
        """Wait until the current server process exits, for whatever reason; its exit code
        (negative: the signal that ended it)."""
        return await self._current().process.wait()

    async def restart(self) -> None:
        """Start a new server on the same folder, stopping the current one first if it still
        runs; returns once it answers ping. Raises :class:`EmbeddedServerError` if it cannot."""
        async with self._guard:
            if self._closed:
                raise EmbeddedServerError(
                    f"the embedded SecantusDB server of {self.data_dir} was closed; "
                    "it cannot be restarted"
                )
            await self._stop_current()
            child = await start_child(
                self.data_dir,
                self._lock,
                host=self._host,
                port=self._port,
                log_level=self._log_level,
                startup_timeout=self._startup_timeout,
            )
            if self._port and child.port != self._port:
                logger.warning(
                    "embedded SecantusDB restarted on another port: %s (was %s)",
                    child.uri,
                    self.uri,
                )
            self._child = child
            self._port = child.port

    async def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after the stop timeout); the folder stays locked
        until the context exits, and :meth:`restart` starts it again. Idempotent."""
        async with self._guard:
            await self._stop_current()

    async def _close(self) -> None:
        async with self._guard:
            self._closed = True
            await self._stop_current()

    async def _stop_current(self) -> None:
        if self._child is not None:
            child = self._child
            await stop_child(child.process, child.host, child.port, self._stop_timeout)

    def _current(self) -> Child:
        if self._child is None:
            raise EmbeddedServerError(
                f"the embedded SecantusDB server of {self.data_dir} never started"
            )
        return self._child


async def _claim_folder(data_dir: Path, stop_timeout: float) -> FolderLock:
    """Lock the folder, first stopping a server left on it by a Cairn process that is gone."""
    lock = FolderLock(data_dir)
    holder = lock.try_acquire()
    deadline = time.monotonic() + _EXITING_WAIT
    while holder is not None and holder.is_exiting() and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_INTERVAL)
        holder = lock.try_acquire()
    if holder is None:
        return lock
    stale = find_stale_server(data_dir, holder)
    if stale is None:
        raise EmbeddedServerError(folder_in_use_message(data_dir, holder.text or None))
    logger.warning(
        "a SecantusDB server (pid %d) is still running on the data folder %s, left by a Cairn "
        "process (pid %d) that is gone; stopping it",
        stale.pid,
        data_dir,
        stale.owner_pid,
    )
    try:
        stopped = await stop_orphan(
            stale.pid, stale.host, stale.port, stop_timeout, gone=stale.gone
        )
    except PermissionError as exc:
        raise EmbeddedServerError(
            f"{folder_in_use_message(data_dir, holder.text)}: a server left by a Cairn process "
            f"that is gone, which this user may not stop ({exc})"
        ) from exc
    holder = lock.try_acquire() if stopped else holder
    if holder is not None:
        raise EmbeddedServerError(folder_in_use_message(data_dir, holder.text or None))
    return lock
