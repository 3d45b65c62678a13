"""The embedded MongoDB-compatible server: SecantusDB run as a child process.

With no ``MONGODB_URI`` configured, Cairn starts ``secantusd-py`` (package ``SecantusDB``) on a
free loopback port with a data folder of its own and stops it cleanly on shutdown. The server
advertises itself as the single-node replica set ``secantus``, so transactions and change streams
work as they do against MongoDB. :func:`embedded_mongodb` runs it for as long as a context lasts
and hands out an :class:`EmbeddedServer`: its URI, and what a supervisor needs (wait until it
exits, restart it on the same folder).

Files kept in the data folder next to the WiredTiger files:

- ``secantusd.log``: the server's stdout and stderr, appended across runs (rotated once at 10 MB);
- ``cairn.lock``: an advisory lock held for the server's lifetime (by Cairn and, inherited, by the
  server itself), naming the Cairn process and the server that hold it;
- ``secantusd.toml``: the server's configuration file, which always says
  ``[storage] sync_on_commit = true`` (acknowledged commits survive a kill); other settings are
  the operator's.

The server never outlives Cairn: on Linux it dies with the Cairn process (a parent-death signal),
and a server left running anyway (another platform, a server started without it) is found
through ``cairn.lock`` and stopped by the next start on its folder.

The parts: ``config.py`` (the configuration file), ``lock.py`` (the folder lock and stale
servers), ``launch.py`` (starting the child until it answers ping), ``stop.py`` (SecantusDB's stop
protocol), ``server.py`` (the context manager and its handle) and ``supervisor.py`` (restarting
a server that died while the service runs).
"""

from persistence.embedded.common import EXECUTABLE_NAME, EmbeddedServerError
from persistence.embedded.config import CONFIG_FILE_NAME
from persistence.embedded.launch import (
    DEFAULT_STARTUP_TIMEOUT,
    LOG_LEVELS,
    find_executable,
)
from persistence.embedded.lock import LOCK_FILE_NAME
from persistence.embedded.logfile import LOG_FILE_NAME
from persistence.embedded.server import EmbeddedServer, embedded_mongodb
from persistence.embedded.stop import DEFAULT_STOP_TIMEOUT
from persistence.embedded.supervisor import supervise

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_STARTUP_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "EXECUTABLE_NAME",
    "LOCK_FILE_NAME",
    "LOG_FILE_NAME",
    "LOG_LEVELS",
    "EmbeddedServer",
    "EmbeddedServerError",
    "embedded_mongodb",
    "find_executable",
    "supervise",
]
