"""Who may call: the `Host` header (against DNS rebinding), CORS and WebSocket origins.

A browser page on another origin may call the API only if its origin is listed (CORS); the same
list decides which pages may open a WebSocket, since browsers send no CORS preflight for those.
A request whose `Host` is not one of the service's names is refused: otherwise a site that
rebinds its own DNS name to 127.0.0.1 could read a service that listens on loopback.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
_LOOPBACK_BINDS = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def allowed_hosts(configured: Sequence[str], *, bind_host: str) -> list[str]:
    """The configured host names; by default the loopback names when bound to loopback, and any
    host otherwise (a service on a public interface is named by its operator)."""
    if configured:
        return list(configured)
    return list(LOOPBACK_NAMES) if bind_host in _LOOPBACK_BINDS else ["*"]


class WebSocketOrigins:
    """ASGI middleware: a WebSocket handshake from a browser page is accepted only from the
    service's own origin or a listed one (clients that send no `Origin` are not browsers)."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        self.app = app
        self.origins = frozenset(origin.rstrip("/") for origin in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._allowed(Headers(scope=scope)):
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await self.app(scope, receive, send)

    def _allowed(self, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None:
            return True
        if origin.rstrip("/") in self.origins or "*" in self.origins:
            return True
        return urlsplit(origin).netloc == headers.get("host")
