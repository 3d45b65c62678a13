"""The server's log, ``secantusd.log`` in the data folder: its stdout and stderr.

Appended across runs, each run after a line saying who started it when; rotated once at 10 MB.
What a run printed is read back from where it started, to say why a server did not start.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from persistence.embedded.common import EXECUTABLE_NAME

__all__ = ["LOG_FILE_NAME", "open_for_child", "rotate", "tail", "text_since"]

LOG_FILE_NAME = "secantusd.log"

_ROTATE_BYTES = 10 * 1024 * 1024
_TAIL_LINES = 25


def rotate(data_dir: Path) -> None:
    """Keep one previous log; called only while holding the folder lock."""
    log_path = data_dir / LOG_FILE_NAME
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > _ROTATE_BYTES:
            log_path.replace(log_path.with_name(log_path.name + ".1"))


@contextlib.contextmanager
def open_for_child(data_dir: Path, host: str, port: int) -> Iterator[tuple[IO[bytes], int]]:
    """The log opened for a new run, and where that run's output starts in it."""
    with (data_dir / LOG_FILE_NAME).open("ab") as log:
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        log.write(
            f"--- {stamp} cairn (pid {os.getpid()}) starts {EXECUTABLE_NAME} "
            f"on {host}:{port} ---\n".encode()
        )
        log.flush()
        yield log, log.tell()


def text_since(data_dir: Path, offset: int) -> str:
    try:
        with (data_dir / LOG_FILE_NAME).open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def tail(data_dir: Path, offset: int) -> str:
    """The last lines written since ``offset``, for an error message."""
    lines = text_since(data_dir, offset).strip().splitlines()[-_TAIL_LINES:]
    if not lines:
        return f"(nothing in {data_dir / LOG_FILE_NAME})"
    return f"last lines of {data_dir / LOG_FILE_NAME}:\n" + "\n".join(lines)
