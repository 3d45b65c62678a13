"""The data folder's lock, ``cairn.lock``, and what it says about who holds it.

One Cairn at a time uses a data folder: it holds an advisory ``flock`` on ``cairn.lock`` for as
long as its embedded server may run, and writes into the file who holds it (its own pid, and the
server's pid, host and port). The server inherits the lock, so an orphaned server still guards
its folder; :func:`find_stale_server` tells such a leftover from a server in use, so that the next
start can stop it instead of failing with "in use" until someone kills it by hand.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from persistence.embedded.common import EXECUTABLE_NAME, EmbeddedServerError, logger

if sys.platform != "win32":
    import fcntl

__all__ = [
    "LOCK_FILE_NAME",
    "FolderLock",
    "Holder",
    "StaleServer",
    "exited",
    "find_stale_server",
]

LOCK_FILE_NAME = "cairn.lock"

_OWNER = re.compile(r"held by pid (\d+)")
_SERVER = re.compile(r"SecantusDB pid (\d+) on (.+):(\d+)")
_STORAGE_FLAG = "--storage-path"
_HAS_PROC = Path("/proc/self/stat").exists()


@dataclass(frozen=True)
class Holder:
    """What ``cairn.lock`` says: the Cairn process holding it and, once started, its server."""

    text: str
    owner_pid: int | None = None
    server_pid: int | None = None
    host: str = ""
    port: int = 0

    def is_exiting(self) -> bool:
        """Whether the processes named have exited or are exiting (their hold on the lock ends in
        a moment: a process killed a moment ago may still be closing its files)."""
        pids = [pid for pid in (self.owner_pid, self.server_pid) if pid is not None]
        if not pids or not _HAS_PROC:
            return False
        for pid in pids:
            status = _proc_status(pid)
            if status is not None and status.state != "Z":
                return False
        return True

    @classmethod
    def parse(cls, text: str) -> Holder:
        owner = _OWNER.search(text)
        if owner is None:
            return cls(text)
        server = _SERVER.search(text)
        if server is None:  # still starting it
            return cls(text, int(owner.group(1)))
        pid, host, port = server.groups()
        return cls(text, int(owner.group(1)), int(pid), host, int(port))


class FolderLock:
    """An advisory ``flock`` on ``cairn.lock`` in the data folder.

    The lock belongs to the open file description, which the server inherits: it stays held until
    both this process and the server have let go of it, so an orphaned server still guards its
    folder. For the same reason it is released by closing the file, never by ``LOCK_UN`` (that
    would release the server's hold too). Where ``flock`` is unavailable (Windows, some network
    file systems) the lock is skipped and WiredTiger's own lock, reported from the server's log,
    is the guard.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE_NAME
        self._file: IO[str] | None = None
        self._locked = False

    def try_acquire(self) -> Holder | None:
        """Take the lock; None once taken, else what the file says about its holder."""
        try:
            file = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise EmbeddedServerError(
                f"cannot open {self.path}: {exc}; make the data folder writable "
                "or set CAIRN_DATA_DIR to another folder"
            ) from exc
        if sys.platform != "win32":
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.seek(0)
                holder = Holder.parse(file.read().strip())
                file.close()
                return holder
            except OSError as exc:
                logger.warning("cannot lock %s (%s); relying on WiredTiger's lock", self.path, exc)
            else:
                self._locked = True
        self._file = file
        self._write(f"held by pid {os.getpid()}, starting {EXECUTABLE_NAME}")
        return None

    def record(self, server_pid: int, host: str, port: int) -> None:
        """Write who holds the lock: for the next one who tries, and to find a stale server."""
        self._write(f"held by pid {os.getpid()}, SecantusDB pid {server_pid} on {host}:{port}")

    def inheritable_fds(self) -> tuple[int, ...]:
        return (self._file.fileno(),) if self._file is not None and self._locked else ()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._locked = False

    def _write(self, text: str) -> None:
        if self._file is None or not self._locked:
            return
        with contextlib.suppress(OSError):
            self._file.seek(0)
            self._file.truncate()
            self._file.write(text + "\n")
            self._file.flush()


@dataclass(frozen=True)
class StaleServer:
    """A SecantusDB serving our folder whose Cairn is gone (its parent is another process)."""

    pid: int
    host: str
    port: int
    owner_pid: int
    start_time: str  # from /proc/<pid>/stat: tells the process from a later one with its pid

    def gone(self) -> bool:
        """Whether the process has exited (a zombie counts) or its pid now names another one."""
        status = _proc_status(self.pid)
        return status is None or status.start_time != self.start_time or exited(self.pid)


def exited(pid: int) -> bool:
    """Whether ``pid`` has exited and let go of its files (and locks).

    A killed process shows as a zombie once its main thread has exited, but its other threads
    may still be exiting, holding its files, for a moment: it has let go once they are gone too.
    """
    status = _proc_status(pid)
    if status is None:
        return True
    if status.state != "Z":
        return False
    try:
        return os.listdir(f"/proc/{pid}/task") in ([], [str(pid)])
    except OSError:
        return True


def find_stale_server(data_dir: Path, holder: Holder) -> StaleServer | None:
    """The server named by ``holder`` if it is a leftover that may be stopped, else None.

    It must be alive, be ``secantusd-py`` with ``--storage-path`` this folder (read from
    ``/proc/<pid>/cmdline``), and no longer be the child of the Cairn process that started it: a
    server whose Cairn still runs is in use, not stale. Without ``/proc`` (not Linux) nothing is
    ever taken for stale: the folder is reported in use, as before.
    """
    if holder.server_pid is None or holder.owner_pid is None:
        return None
    status = _proc_status(holder.server_pid)
    if status is None or status.state == "Z" or status.ppid == holder.owner_pid:
        return None
    if not _serves_folder(holder.server_pid, data_dir):
        return None
    return StaleServer(
        holder.server_pid, holder.host, holder.port, holder.owner_pid, status.start_time
    )


@dataclass(frozen=True)
class _ProcStatus:
    state: str
    ppid: int
    start_time: str


def _proc_status(pid: int) -> _ProcStatus | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; field 22 is starttime.
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return _ProcStatus(state=fields[0], ppid=int(fields[1]), start_time=fields[19])
    except (IndexError, ValueError):
        return None


def _serves_folder(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` runs ``secantusd-py`` (as a script or a binary) on ``data_dir``."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    argv = [arg.decode("utf-8", errors="surrogateescape") for arg in raw.split(b"\0")]
    if EXECUTABLE_NAME not in (Path(arg).name for arg in argv[:2]):
        return False
    storage: str | None = None
    for index, arg in enumerate(argv):
        if arg == _STORAGE_FLAG and index + 1 < len(argv):
            storage = argv[index + 1]
        elif arg.startswith(_STORAGE_FLAG + "="):
            storage = arg.partition("=")[2]
    if not storage:
        return False
    path = Path(storage)
    if not path.is_absolute():
        try:
            path = Path(os.readlink(f"/proc/{pid}/cwd")) / path
        except OSError:
            return False
    try:
        return path.resolve() == data_dir.resolve()
    except OSError:
        return False
