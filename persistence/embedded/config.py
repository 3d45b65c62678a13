"""The embedded server's configuration file, ``secantusd.toml``: always ``sync_on_commit = true``.

SecantusDB acknowledges a commit before its log reaches the file unless ``sync_on_commit`` is on;
a SIGKILL then lost acknowledged writes (14 of 5,000 events, acknowledged up to 29 ms before the
kill; none with the setting on). So a new folder gets a configuration file with
``sync_on_commit = true``, and an existing file that lacks it or turns it off is corrected before
every start (logged at INFO), keeping the operator's other settings and, where the file's shape
allows a line edit, its comments. The server is also started with ``--sync-on-commit`` (see
``launch.py``), which wins over the file whatever it says by then.

The file is passed to the server explicitly, so no ``secantusd.toml`` in the working directory or
home folder changes the embedded server; the host, port, storage path and log level chosen by
Cairn always win over it. Other settings are the operator's.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from persistence.embedded.common import EmbeddedServerError, logger

__all__ = ["CONFIG_FILE_NAME", "ensure_sync_on_commit", "prepare_folder"]

CONFIG_FILE_NAME = "secantusd.toml"

_CONFIG_TEMPLATE = """\
# SecantusDB settings for Cairn's embedded server (see `secantusd-py --help`).
# Cairn always sets the host, port, storage path and log level itself.

[storage]
# Flush the log to disk before acknowledging a commit. Cairn sets this back to true at every
# start: without it a crash or kill loses writes that were already acknowledged.
sync_on_commit = true
# cache_size = "1G"
"""


def prepare_folder(data_dir: Path) -> Path:
    """The data folder, absolute and created; a new one gets the configuration file above."""
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


_TABLE_HEADER = re.compile(r"^\s*\[")
_STORAGE_HEADER = re.compile(r"^\s*\[\s*storage\s*\]\s*(#.*)?$")
_SYNC_LINE = re.compile(r"^(\s*)sync_on_commit\s*=.*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SYNC_NOTE = "# set by Cairn: acknowledged commits must be on disk"


def ensure_sync_on_commit(config: Path) -> None:
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
