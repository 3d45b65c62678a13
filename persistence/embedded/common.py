"""What every part of the embedded server shares: its logger, its error, its program's name."""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger("cairn.embedded")

EXECUTABLE_NAME = "secantusd-py"


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started; the message says why and what to do."""


def folder_in_use_message(data_dir: Path, holder: str | None = None) -> str:
    held = f" ({holder})" if holder else ""
    return (
        f"the data folder {data_dir} is in use by another running Cairn or SecantusDB "
        f"process{held}; stop that process or set CAIRN_DATA_DIR to another folder"
    )
