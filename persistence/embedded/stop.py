"""Stopping SecantusDB cleanly: the protocol this server needs, then SIGKILL after a grace.

A plain SIGTERM is not enough for ``secantusd-py``: the signal must reach its main thread, and its
accept loop must be woken by a connection (see :func:`_send_sigterm`, :func:`_wake_accept_loop`
and :class:`_Stopper`). :func:`stop_child` stops the server Cairn started; :func:`stop_orphan`
one left running by a Cairn process that is gone, which cannot be waited for, only watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from persistence.embedded.common import logger

__all__ = ["DEFAULT_STOP_TIMEOUT", "stop_child", "stop_orphan"]

DEFAULT_STOP_TIMEOUT = 10.0

_POLL_INTERVAL = 0.05
_RESIGNAL_AFTER = 1.0
_SETTLE_SECONDS = 0.1
_KILLED_WITHIN = 5.0  # after SIGKILL, for an orphan's exit to show in /proc


async def stop_child(
    process: asyncio.subprocess.Process,
    host: str,
    port: int,
    grace_seconds: float,
    *,
    serving: bool = True,
) -> int:
    """Stop our server (SIGKILL after ``grace_seconds``); returns once it has exited and been
    reaped, with its exit code. Does nothing but wait for one that has exited already."""
    if process.returncode is None:
        stopper = _Stopper(process.pid, host, port, grace_seconds, serving=serving)
        while process.returncode is None and await asyncio.to_thread(stopper.tick):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), _POLL_INTERVAL)
        if process.returncode is None:
            stopper.log_kill()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        code = await process.wait()
        logger.info("embedded SecantusDB (pid %d) exited with code %s", process.pid, code)
        return code
    return await process.wait()


async def stop_orphan(
    pid: int, host: str, port: int, grace_seconds: float, *, gone: Callable[[], bool]
) -> bool:
    """Stop a server that is not our child; True once ``gone()`` says it has exited.

    The same protocol, SIGKILL after ``grace_seconds`` too; but its exit is seen by polling
    ``gone``, asked again before every signal: once the process has exited its pid may name
    another one. Raises PermissionError for another user's process.
    """
    # Not "serving": it gets SIGTERM whatever state it is in (no one else is stopping it), and
    # its accept loop is woken from the next step on if it listens.
    stopper = _Stopper(pid, host, port, grace_seconds, serving=False)
    while not gone():
        if not await asyncio.to_thread(stopper.tick):
            if not gone():
                stopper.log_kill()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            break
        await asyncio.sleep(_POLL_INTERVAL)
    deadline = time.monotonic() + _KILLED_WITHIN
    while not gone():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL_INTERVAL)
    return True


def _load_tgkill() -> Callable[[int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        tgkill = ctypes.CDLL(None, use_errno=True).tgkill
    except (OSError, AttributeError):
        return None
    tgkill.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
    tgkill.restype = ctypes.c_int
    return tgkill


_tgkill = _load_tgkill()


def _send_sigterm(pid: int) -> None:
    """SIGTERM aimed at the server's main thread.

    SecantusDB stops in a Python signal handler; Python runs those in the main thread only, and
    that thread sits in a lock wait which only a signal delivered to it interrupts. The kernel
    may hand a process-wide SIGTERM to any of the server's threads: then the handler never runs
    (here, 1 stop in 3 hung until SIGKILL). ``tgkill`` (Linux) targets the main thread, whose
    thread id is the pid (60 clean stops out of 60); elsewhere, plain ``kill`` and re-sending.
    """
    if _tgkill is not None and _tgkill(pid, pid, signal.SIGTERM) == 0:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def _wake_accept_loop(host: str, port: int) -> bool:
    """Connect once so the server's accept loop sees that it is stopping; True if accepted.

    SecantusDB's SIGTERM handler closes the listening socket and joins the accept thread for up
    to 2 s, but on Linux closing a socket does not interrupt a blocked ``accept()``: without a
    connection coming in, every stop takes 2 s longer (measured: 2.1 s against 0.1 s).
    """
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class _Stopper:
    """SIGTERM, wake the accept loop, re-send SIGTERM if it was lost; give up after the grace.

    Once its handler runs, the server accepts at most one more connection (the one that wakes
    its accept loop) and then refuses them. So a server that accepts two connections in a row is
    not stopping yet: it gets SIGTERM. One that refuses the second is already stopping (a SIGINT
    from the terminal, a supervisor's SIGTERM to the whole group): it gets no signal, since a
    second one would run the handler again inside the first. Connections still accepted a second
    after our SIGTERM mean that it was lost, and it is sent again.
    """

    def __init__(
        self, pid: int, host: str, port: int, grace_seconds: float, *, serving: bool
    ) -> None:
        self.pid = pid
        self.host = host
        self.port = port
        self.grace_seconds = grace_seconds
        self.serving = serving
        self.deadline = time.monotonic() + grace_seconds
        self.signalled_at: float | None = None

    def tick(self) -> bool:
        """One step (blocking, up to ~0.1 s); False once the grace is over: kill it then."""
        now = time.monotonic()
        if now >= self.deadline:
            return False
        if self.signalled_at is None:
            self.signalled_at = now
            if not self.serving:  # still starting: nothing to wake, no handler to nest
                _send_sigterm(self.pid)
            elif self._accepts_twice():
                _send_sigterm(self.pid)
                _wake_accept_loop(self.host, self.port)
            else:
                logger.info("embedded SecantusDB (pid %d) is already stopping", self.pid)
            return True
        if _wake_accept_loop(self.host, self.port) and now - self.signalled_at >= _RESIGNAL_AFTER:
            logger.info("embedded SecantusDB (pid %d) ignored SIGTERM; sending it again", self.pid)
            _send_sigterm(self.pid)
            self.signalled_at = now
        return True

    def _accepts_twice(self) -> bool:
        if not _wake_accept_loop(self.host, self.port):
            return False
        time.sleep(_SETTLE_SECONDS)  # for a woken accept loop to exit and close the listener
        return _wake_accept_loop(self.host, self.port)

    def log_kill(self) -> None:
        logger.warning(
            "embedded SecantusDB (pid %d) still running %g s after SIGTERM; killing it",
            self.pid,
            self.grace_seconds,
        )
