"""Keeping the embedded server up while the service runs.

When the child exits on its own, the service is marked unavailable at once (requests fail fast
with SERVICE_UNAVAILABLE), and the server is restarted on the same folder and port. A server that
keeps dying (more than `max_restarts` within `window_seconds`) or that cannot be started again is
given up on: the service is marked gone (`/health/live` fails) and told to exit non-zero, so the
process manager that runs it can step in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from persistence.availability import Availability
from persistence.embedded.common import EmbeddedServerError
from persistence.embedded.server import EmbeddedServer

log = logging.getLogger("cairn.embedded")

MAX_RESTARTS = 3
WINDOW_SECONDS = 300.0


async def supervise(
    server: EmbeddedServer,
    availability: Availability,
    *,
    ping: Callable[[], Awaitable[object]],
    give_up: Callable[[], None],
    max_restarts: int = MAX_RESTARTS,
    window_seconds: float = WINDOW_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Runs until cancelled (the service stops) or until it gives up on the server."""
    restarts: list[float] = []
    while True:
        code = await server.wait_exited()
        availability.down(f"the embedded database exited with code {code}", hold=True)
        now = clock()
        restarts = [at for at in restarts if now - at < window_seconds]
        if len(restarts) >= max_restarts:
            _give_up(
                availability,
                give_up,
                f"the embedded database exited {len(restarts) + 1} times in "
                f"{window_seconds:.0f} s; see {server.log_path}",
            )
            return
        restarts.append(now)
        log.error("the embedded database exited with code %s; restarting it", code)
        try:
            await server.restart()
            async with asyncio.timeout(10):
                await ping()
        except (EmbeddedServerError, TimeoutError, OSError) as error:
            _give_up(availability, give_up, f"the embedded database could not restart: {error}")
            return
        except Exception as error:  # the driver's own errors: the server is not answering
            _give_up(availability, give_up, f"the embedded database does not answer: {error}")
            return
        log.warning("the embedded database restarted (pid %d)", server.pid)
        availability.restored(release=True)


def _give_up(availability: Availability, give_up: Callable[[], None], reason: str) -> None:
    log.critical("%s; the service stops", reason)
    availability.lost(reason)
    give_up()
