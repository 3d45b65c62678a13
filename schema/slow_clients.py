"""A deadline for a request's headers, which uvicorn does not have.

uvicorn bounds the wait between requests on a kept-alive connection, not the time a client takes
to send a request's headers: a client trickling a byte every few seconds holds its connection
(and a slot of the process) for as long as it likes. `HeaderDeadline` is uvicorn's h11 protocol
with a deadline: from the moment a connection opens, and again from the end of each response,
the next request's headers must all have arrived within `header_timeout`, or the connection is
closed. Bodies have their own limit (`schema.http_input`); WebSockets, once upgraded, are the
WebSocket protocol's.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("cairn.http")

HEADER_TIMEOUT_SECONDS = 10.0


class HeaderDeadline(H11Protocol):
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    _waiting_since: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._wait_for_headers()

    def _wait_for_headers(self) -> None:
        self._waiting_since = self.loop.time()
        self.loop.call_later(self.header_timeout, self._check)

    def _check(self) -> None:
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return  # closed, or upgraded to a WebSocket
        waiting = self.cycle is None or self.cycle.response_complete
        if not waiting:
            return  # a request is being served; its end re-arms the deadline
        elapsed = self.loop.time() - self._waiting_since
        if elapsed < self.header_timeout:
            self.loop.call_later(self.header_timeout - elapsed, self._check)
            return
        log.info("closed a connection that sent no complete request in %.0f s", elapsed)
        transport.close()


def with_header_timeout(seconds: float) -> type[HeaderDeadline]:
    """The protocol class for uvicorn's `http` setting, with this deadline."""
    return type("HeaderDeadline", (HeaderDeadline,), {"header_timeout": seconds})
