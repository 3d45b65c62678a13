"""Whether the database can serve requests now, as the service's watchers see it.

A request made while the database is down fails at once with `DatabaseUnavailable` (answered as
`SERVICE_UNAVAILABLE`, HTTP 503) instead of waiting out the driver's server-selection timeout.
The watchers (the embedded server's supervisor, the periodic ping) are the only writers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("cairn.availability")

PING_INTERVAL_SECONDS = 2.0
PING_TIMEOUT_SECONDS = 1.5
# A busy server may miss one ping; three in a row is an outage.
FAILED_PINGS_FOR_OUTAGE = 3


class DatabaseUnavailable(Exception):
    """The database cannot serve requests now; the client should retry shortly."""


@dataclass
class Availability:
    up: bool = True
    reason: str = ""
    gone: bool = False  # the database will not come back: the process is stopping
    held: bool = False  # down until the one who said so says otherwise (a restart under way)

    def check(self) -> None:
        if not self.up:
            raise DatabaseUnavailable(self.reason or "the database is unavailable")

    def down(self, reason: str, *, hold: bool = False) -> None:
        if self.up:
            log.error("database unavailable: %s", reason)
        self.up, self.reason = False, reason
        self.held = self.held or hold

    def restored(self, *, release: bool = False) -> None:
        if release:
            self.held = False
        if not self.up and not self.gone and not self.held:
            log.warning("database available again (after: %s)", self.reason)
            self.up, self.reason = True, ""

    def lost(self, reason: str) -> None:
        self.down(reason)
        self.gone = True


async def watch_pings(
    availability: Availability,
    ping: Callable[[], Awaitable[object]],
    *,
    interval: float = PING_INTERVAL_SECONDS,
    ping_timeout: float = PING_TIMEOUT_SECONDS,
    failures_for_outage: int = FAILED_PINGS_FOR_OUTAGE,
) -> None:
    """Pings the database forever; marks it down after repeated failures, up after a success."""
    failures = 0
    while True:
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the ping completes, and the watcher would outlive its service.
            async with asyncio.timeout(ping_timeout):
                await ping()
        except Exception as error:  # any failure to answer counts
            failures += 1
            if failures >= failures_for_outage:
                availability.down(f"no answer to ping ({type(error).__name__})")
        else:
            failures = 0
            availability.restored()
        await asyncio.sleep(interval)
