"""The embedded MongoDB-compatible server: SecantusDB run as a child process.

With no ``MONGODB_URI`` configured, Cairn starts ``secantusd-py`` (package ``SecantusDB``) on a
free loopback port with a data folder of its own and stops it cleanly on shutdown. The server
advertises itself as the single-node replica set ``secantus``, so transactions and change streams
work as they do against MongoDB.

Files kept in the data folder next to the WiredTiger files:

- ``secantusd.log``: the server's stdout and stderr, appended across runs (rotated once at 10 MB);
- ``cairn.lock``: an advisory lock held for the server's lifetime (by Cairn and, inherited, by the
  server itself), naming the process that holds it;
- ``secantusd.toml``: the server's configuration file. It is passed explicitly, so no
  ``secantusd.toml`` in the working directory or home folder changes the embedded server; the
  host, port, storage path and log level chosen here always win over it. It always says
  ``[storage] sync_on_commit = true`` (see below); other settings are the operator's.

Durability: SecantusDB acknowledges a commit before its log reaches the file unless
``sync_on_commit`` is on; a SIGKILL then lost acknowledged writes (14 of 5,000 events, acknowledged
up to 29 ms before the kill; none with the setting on). So a new folder gets a configuration file
with ``sync_on_commit = true``, and an existing file that lacks it or turns it off is corrected
before every start (logged at INFO), keeping the operator's other settings and, where the file's
shape allows a line edit, its comments. The server is also started with ``--sync-on-commit``,
which wins over the file whatever it says by then.

Two entry points share one launch implementation: :func:`embedded_mongodb`, an async context
manager for the service, and :func:`start_embedded_process`, a synchronous helper for scripts and
benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime
import enum
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pymongo
from pymongo.errors import PyMongoError

if sys.platform != "win32":
    import fcntl

__all__ = [
    "CONFIG_FILE_NAME",
    "EXECUTABLE_NAME",
    "LOCK_FILE_NAME",
    "LOG_FILE_NAME",
    "EmbeddedProcess",
    "EmbeddedServerError",
    "embedded_mongodb",
    "find_executable",
    "start_embedded_process",
]

logger = logging.getLogger("cairn.embedded")

EXECUTABLE_NAME = "secantusd-py"
LOG_FILE_NAME = "secantusd.log"
LOCK_FILE_NAME = "cairn.lock"
CONFIG_FILE_NAME = "secantusd.toml"

DEFAULT_STARTUP_TIMEOUT = 30.0
DEFAULT_STOP_TIMEOUT = 10.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_POLL_INTERVAL = 0.05
_RESIGNAL_AFTER = 1.0
_SETTLE_SECONDS = 0.1
_PORT_ATTEMPTS = 3
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_LOG_TAIL_LINES = 25
# What WiredTiger prints when another process has the folder open (checked on SecantusDB 0.7):
#   .../WiredTiger.lock: handle-lock: fcntl: Resource temporarily unavailable
#   WiredTiger database is already being managed by another process: Device or resource busy
_FOLDER_IN_USE_MARKERS = (
    "already being managed by another process",
    "WiredTiger.lock: handle-lock",
)
_PORT_IN_USE_MARKERS = ("Address already in use",)
_CONFIG_TEMPLATE = """\
# SecantusDB settings for Cairn's embedded server (see `secantusd-py --help`).
# Cairn always sets the host, port, storage path and log level itself.

[storage]
# Flush the log to disk before acknowledging a commit. Cairn sets this back to true at every
# start: without it a crash or kill loses writes that were already acknowledged.
sync_on_commit = true
# cache_size = "1G"
"""


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started; the message says why and what to do."""


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


def _folder_in_use_message(data_dir: Path, holder: str | None = None) -> str:
    held = f" ({holder})" if holder else ""
    return (
        f"the data folder {data_dir} is in use by another running Cairn or SecantusDB "
        f"process{held}; stop that process or set CAIRN_DATA_DIR to another folder"
    )


class _FolderLock:
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

    def acquire(self) -> None:
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
                holder = file.read().strip() or None
                file.close()
                raise EmbeddedServerError(_folder_in_use_message(self.data_dir, holder)) from None
            except OSError as exc:
                logger.warning("cannot lock %s (%s); relying on WiredTiger's lock", self.path, exc)
            else:
                self._locked = True
        self._file = file

    def record(self, text: str) -> None:
        """Write who holds the lock, for the error message of the next one who tries."""
        if self._file is None or not self._locked:
            return
        with contextlib.suppress(OSError):
            self._file.seek(0)
            self._file.truncate()
            self._file.write(text + "\n")
            self._file.flush()

    def inheritable_fds(self) -> tuple[int, ...]:
        return (self._file.fileno(),) if self._file is not None and self._locked else ()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._locked = False


def _prepare_folder(data_dir: Path) -> Path:
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        config = data_dir / CONFIG_FILE_NAME
        if not config.exists():
            config.write_text(_CONFIG_TEMPLATE, encoding="utf-8")
    except OSError as exc:
        raise EmbeddedServerError(
            f"cannot create the data folder {data_dir}: {exc}; "
            "set CAIRN_DATA_DIR to a writable folder"
        ) from exc
    return data_dir


# --- the configuration file: sync_on_commit = true --------------------------------------------

_TABLE_HEADER = re.compile(r"^\s*\[")
_STORAGE_HEADER = re.compile(r"^\s*\[\s*storage\s*\]\s*(#.*)?$")
_SYNC_LINE = re.compile(r"^(\s*)sync_on_commit\s*=.*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SYNC_NOTE = "# set by Cairn: acknowledged commits must be on disk"


def _ensure_sync_on_commit(config: Path) -> None:
    """Make ``config`` say ``[storage] sync_on_commit = true``, keeping everything else.

    Called before every start, while holding the folder lock.

    The file is edited line by line where it has the usual shape (a ``[storage]`` table, or
    none), which keeps the operator's comments; the edit is checked by parsing the result, and
    when that does not give exactly the old settings plus ``sync_on_commit = true`` (dotted keys,
    inline tables and such), the file is written afresh from the parsed settings instead.
    """
    try:
        text = config.read_text(encoding="utf-8")
    except OSError as exc:
        raise EmbeddedServerError(
            f"cannot read {config}: {exc}; make the data folder readable "
            "or set CAIRN_DATA_DIR to another folder"
        ) from exc
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EmbeddedServerError(
            f"{config} is not valid TOML ({exc}); fix it, or delete it to get a new one"
        ) from exc
    storage = settings.get("storage")
    if storage is not None and not isinstance(storage, dict):
        raise EmbeddedServerError(
            f"{config}: `storage` must be a table ([storage]), not {type(storage).__name__}"
        )
    if storage is not None and storage.get("sync_on_commit") is True:
        return
    if storage is None or "sync_on_commit" not in storage:
        before = "missing"
    else:
        before = f"{storage['sync_on_commit']!r}".lower()
    wanted = {**settings, "storage": {**(storage or {}), "sync_on_commit": True}}

    edited = _edit_sync_on_commit(text)
    try:
        edited_ok = tomllib.loads(edited) == wanted
    except tomllib.TOMLDecodeError:
        edited_ok = False
    if not edited_ok:
        try:
            edited = _CONFIG_REWRITE_HEADER + _dump_toml(wanted)
        except ValueError as exc:
            raise EmbeddedServerError(
                f"{config} should say `sync_on_commit = true` under [storage] but Cairn cannot "
                f"rewrite it ({exc}); add that line by hand"
            ) from exc
    _replace_file(config, edited)
    logger.info(
        "set [storage] sync_on_commit = true in %s (it was %s) so that every acknowledged "
        "commit is on disk before it is acknowledged",
        config,
        before,
    )


_CONFIG_REWRITE_HEADER = (
    "# Rewritten by Cairn to set [storage] sync_on_commit = true; comments were not kept.\n"
)


def _edit_sync_on_commit(text: str) -> str:
    """Set ``sync_on_commit = true`` in the ``[storage]`` table by editing lines (or add one)."""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if _STORAGE_HEADER.match(line)), None)
    if header is None:
        tail = "" if not lines or lines[-1].strip() == "" else "\n"
        body = text if text.endswith("\n") or not text else text + "\n"
        return f"{body}{tail}[storage]\nsync_on_commit = true  {_SYNC_NOTE}\n"
    end = next(
        (i for i in range(header + 1, len(lines)) if _TABLE_HEADER.match(lines[i])), len(lines)
    )
    for i in range(header + 1, end):
        found = _SYNC_LINE.match(lines[i])
        if found:
            lines[i] = f"{found.group(1)}sync_on_commit = true  {_SYNC_NOTE}"
            break
    else:
        lines.insert(header + 1, f"sync_on_commit = true  {_SYNC_NOTE}")
    return "\n".join(lines) + "\n"


def _dump_toml(settings: dict[str, Any]) -> str:
    """TOML for the shapes SecantusDB reads: top-level tables of scalars (and scalar arrays)."""
    out: list[str] = []
    scalars = {key: value for key, value in settings.items() if not isinstance(value, dict)}
    out.extend(f"{_toml_key(key)} = {_toml_value(value)}" for key, value in scalars.items())
    for name, table in settings.items():
        if not isinstance(table, dict):
            continue
        if out:
            out.append("")
        out.append(f"[{_toml_key(name)}]")
        for key, value in table.items():
            if isinstance(value, dict):
                raise ValueError(f"the nested table [{name}.{key}]")
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a valid TOML basic string (\uXXXX escapes included)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise ValueError(f"a value of type {type(value).__name__}")


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file renamed over it)."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            with contextlib.suppress(OSError):
                shutil.copymode(path, temporary)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise EmbeddedServerError(
            f"cannot update {path}: {exc}; make it writable "
            "or set [storage] sync_on_commit = true in it by hand"
        ) from exc


def _rotate_log(log_path: Path) -> None:
    """Keep one previous log; called only while holding the folder lock."""
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > _LOG_ROTATE_BYTES:
            log_path.replace(log_path.with_name(log_path.name + ".1"))


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _uri(host: str, port: int) -> str:
    netloc = f"[{host}]" if ":" in host else host
    return f"mongodb://{netloc}:{port}/?directConnection=true"


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
        _uri(host, port),
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


class _Verdict(enum.Enum):
    WAIT = enum.auto()
    RETRY_OTHER_PORT = enum.auto()


@dataclass
class _Launch:
    """One attempt at starting the server: its port, command line and log position."""

    executable: Path
    data_dir: Path
    host: str
    log_level: str
    deadline: float  # time.monotonic()
    startup_timeout: float
    port: int = 0
    log_offset: int = 0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    @property
    def uri(self) -> str:
        return _uri(self.host, self.port)

    @property
    def argv(self) -> list[str]:
        return [
            str(self.executable),
            "--config",
            str(self.data_dir / CONFIG_FILE_NAME),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.data_dir),
            "--log-level",
            self.log_level,
            "--sync-on-commit",  # the file says so too (see _ensure_sync_on_commit)
        ]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1"}

    def open_log(self) -> IO[bytes]:
        """Pick the port and open the log for the child (the caller closes its copy)."""
        self.port = _free_port(self.host)
        self.started_at = time.monotonic()
        log = self.log_path.open("ab")
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        log.write(
            f"--- {stamp} cairn (pid {os.getpid()}) starts {EXECUTABLE_NAME} "
            f"on {self.host}:{self.port} ---\n".encode()
        )
        log.flush()
        self.log_offset = log.tell()
        logger.info(
            "starting embedded SecantusDB on %s:%d with data in %s",
            self.host,
            self.port,
            self.data_dir,
        )
        return log

    def lock_record(self, pid: int) -> str:
        return f"held by pid {os.getpid()}, SecantusDB pid {pid} on {self.host}:{self.port}"

    def log_text(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _log_tail(self) -> str:
        lines = self.log_text().strip().splitlines()[-_LOG_TAIL_LINES:]
        if not lines:
            return f"(nothing in {self.log_path})"
        return f"last lines of {self.log_path}:\n" + "\n".join(lines)

    def verdict(self, returncode: int | None, pid: int, *, last_attempt: bool) -> _Verdict:
        """Decide while waiting for readiness; raises when there is nothing left to wait for."""
        if returncode is not None:
            text = self.log_text()
            if any(marker in text for marker in _FOLDER_IN_USE_MARKERS):
                raise EmbeddedServerError(
                    f"{_folder_in_use_message(self.data_dir)}\n{self._log_tail()}"
                )
            if not last_attempt and any(marker in text for marker in _PORT_IN_USE_MARKERS):
                logger.warning("port %d was taken before SecantusDB bound it; retrying", self.port)
                return _Verdict.RETRY_OTHER_PORT
            raise EmbeddedServerError(
                f"the embedded SecantusDB server (data folder {self.data_dir}) exited with code "
                f"{returncode} before answering ping; see {self.log_path}\n{self._log_tail()}"
            )
        if time.monotonic() > self.deadline:
            raise EmbeddedServerError(
                f"the embedded SecantusDB server (pid {pid}, data folder {self.data_dir}) did not "
                f"answer ping on {self.host}:{self.port} within {self.startup_timeout:g} s; "
                f"see {self.log_path}, or raise the startup timeout on a slow machine\n"
                f"{self._log_tail()}"
            )
        return _Verdict.WAIT

    def ready(self, pid: int) -> None:
        logger.info(
            "embedded SecantusDB (pid %d) ready at %s after %.2f s",
            pid,
            self.uri,
            time.monotonic() - self.started_at,
        )


def _launches(data_dir: Path, host: str, log_level: str, startup_timeout: float) -> list[_Launch]:
    if log_level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    executable = find_executable()
    _ensure_sync_on_commit(data_dir / CONFIG_FILE_NAME)
    _rotate_log(data_dir / LOG_FILE_NAME)
    deadline = time.monotonic() + startup_timeout
    return [
        _Launch(executable, data_dir, host, log_level, deadline, startup_timeout)
        for _ in range(_PORT_ATTEMPTS)
    ]


def _port_attempts_error(data_dir: Path) -> EmbeddedServerError:
    return EmbeddedServerError(
        f"the embedded SecantusDB server (data folder {data_dir}) found no free port on "
        f"{_PORT_ATTEMPTS} attempts; check what is using the loopback ports"
    )


# --- async: for the service -------------------------------------------------------------------


@asynccontextmanager
async def embedded_mongodb(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    log_level: str = "WARNING",
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
) -> AsyncIterator[str]:
    """Run SecantusDB on a free port of ``host`` with its data in ``data_dir``; yield its URI.

    Yields once the server answers ``ping``. On exit the server gets SIGTERM (unless it is
    already stopping), then SIGKILL after ``stop_timeout`` seconds; it has always exited (and been
    reaped) when this returns, so the folder can be opened again at once. Cancellation at any
    point stops the server too. Raises :class:`EmbeddedServerError` when the server
    cannot start, for instance when another process uses the folder.
    """
    data_dir = _prepare_folder(data_dir)
    lock = _FolderLock(data_dir)
    lock.acquire()
    try:
        process, port = await _start_async(data_dir, lock, host, log_level, startup_timeout)
        try:
            yield _uri(host, port)
        finally:
            await _stop_async(process, host, port, stop_timeout)
    finally:
        lock.release()


async def _start_async(
    data_dir: Path, lock: _FolderLock, host: str, log_level: str, startup_timeout: float
) -> tuple[asyncio.subprocess.Process, int]:
    launches = _launches(data_dir, host, log_level, startup_timeout)
    for attempt, launch in enumerate(launches, start=1):
        with launch.open_log() as log:
            process = await asyncio.create_subprocess_exec(
                *launch.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                env=launch.env,
                pass_fds=lock.inheritable_fds(),
            )
        lock.record(launch.lock_record(process.pid))
        try:
            while True:
                verdict = launch.verdict(
                    process.returncode, process.pid, last_attempt=attempt == len(launches)
                )
                if verdict is _Verdict.RETRY_OTHER_PORT:
                    break
                if await asyncio.to_thread(_probe, launch.host, launch.port, process.pid):
                    launch.ready(process.pid)
                    return process, launch.port
                await asyncio.sleep(_POLL_INTERVAL)
        except BaseException:
            await _stop_async(
                process, launch.host, launch.port, DEFAULT_STOP_TIMEOUT, serving=False
            )
            raise
        await process.wait()
    raise _port_attempts_error(data_dir)


async def _stop_async(
    process: asyncio.subprocess.Process,
    host: str,
    port: int,
    grace_seconds: float,
    *,
    serving: bool = True,
) -> None:
    if process.returncode is None:
        stopper = _Stopper(process.pid, host, port, grace_seconds, serving=serving)
        while process.returncode is None and await asyncio.to_thread(stopper.tick):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), _POLL_INTERVAL)
        if process.returncode is None:
            stopper.log_kill()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    await process.wait()
    logger.info("embedded SecantusDB (pid %d) exited with code %s", process.pid, process.returncode)


# --- stopping, shared -------------------------------------------------------------------------


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


# --- sync: for scripts, benchmarks and fixtures that are not async ---------------------------


@dataclass
class EmbeddedProcess:
    """A running embedded server started by :func:`start_embedded_process`.

    Call :meth:`stop` (or use it as a context manager) to stop it and release its folder.
    """

    process: subprocess.Popen[bytes]
    uri: str
    data_dir: Path
    host: str
    port: int
    _lock: _FolderLock = field(repr=False)

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` s; returns the exit code. Idempotent."""
        try:
            return _stop_sync(self.process, self.host, self.port, timeout)
        finally:
            self._lock.release()

    def __enter__(self) -> EmbeddedProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_embedded_process(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    log_level: str = "WARNING",
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> EmbeddedProcess:
    """Blocking twin of :func:`embedded_mongodb`: start the server and return once it answers."""
    data_dir = _prepare_folder(data_dir)
    lock = _FolderLock(data_dir)
    lock.acquire()
    try:
        launches = _launches(data_dir, host, log_level, startup_timeout)
        for attempt, launch in enumerate(launches, start=1):
            process = _spawn_sync(launch, lock.inheritable_fds())
            lock.record(launch.lock_record(process.pid))
            try:
                while True:
                    verdict = launch.verdict(
                        process.poll(), process.pid, last_attempt=attempt == len(launches)
                    )
                    if verdict is _Verdict.RETRY_OTHER_PORT:
                        break
                    if _probe(launch.host, launch.port, process.pid):
                        launch.ready(process.pid)
                        return EmbeddedProcess(
                            process, launch.uri, data_dir, launch.host, launch.port, lock
                        )
                    time.sleep(_POLL_INTERVAL)
            except BaseException:
                _stop_sync(process, launch.host, launch.port, DEFAULT_STOP_TIMEOUT, serving=False)
                raise
            process.wait()
        raise _port_attempts_error(data_dir)
    except BaseException:
        lock.release()
        raise


def _spawn_sync(launch: _Launch, pass_fds: Sequence[int]) -> subprocess.Popen[bytes]:
    with launch.open_log() as log:
        return subprocess.Popen(
            launch.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=launch.data_dir,
            env=launch.env,
            pass_fds=pass_fds,
        )


def _stop_sync(
    process: subprocess.Popen[bytes],
    host: str,
    port: int,
    grace_seconds: float,
    *,
    serving: bool = True,
) -> int:
    if process.poll() is None:
        stopper = _Stopper(process.pid, host, port, grace_seconds, serving=serving)
        while process.poll() is None and stopper.tick():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_POLL_INTERVAL)
        if process.poll() is None:
            stopper.log_kill()
            process.kill()
        process.wait()
        logger.info(
            "embedded SecantusDB (pid %d) exited with code %s", process.pid, process.returncode
        )
    return process.returncode
