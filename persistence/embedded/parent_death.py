"""The child dies with Cairn: a parent-death signal (``prctl(PR_SET_PDEATHSIG)``, Linux only).

Without it, a Cairn killed outright (SIGKILL, the OOM killer) leaves its server running, holding
the data folder; every restart then fails with "in use" (``lock.py`` finds and stops such a server
on platforms without this signal).

The signal follows the *thread* that spawned the child, not the process: when that thread ends,
the child gets it. Cairn spawns from the event loop's thread (asyncio runs ``Popen`` there), which
lives at least as long as the server since the server is stopped from that same loop; never
spawn it from a worker thread (``asyncio.to_thread``) that may end first.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["PARENT_DEATH_SIGNAL", "parent_death_hook"]

# What the child gets when its parent dies; None starts it without one, as on platforms that
# have no such thing (the tests simulate those so).
PARENT_DEATH_SIGNAL: int | None = signal.SIGKILL

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[[int, int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    return prctl


_prctl = _load_prctl()  # looked up here: the child, between fork and exec, only calls it


def parent_death_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` giving the child :data:`PARENT_DEATH_SIGNAL` when its parent dies.

    None where there is no such thing (not Linux) or when it is turned off. The function runs in
    the child between fork and exec: it only calls ``prctl``, looked up beforehand.
    """
    prctl = _prctl
    signum = PARENT_DEATH_SIGNAL
    if signum is None or prctl is None:
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        if prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # Cairn died before the prctl: follow it at once
            os.kill(os.getpid(), signum)

    return die_with_parent
