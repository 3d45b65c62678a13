"""The WebSocket side of the endpoint: strawberry's graphql-transport-ws handler, bounded."""

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

log = logging.getLogger("cairn.http")

ContextGetter = Callable[[Request | WebSocket], Awaitable[object]]


class SubscriptionsApp(GraphQL[object, None]):
    """Strawberry's ASGI app, used for its graphql-transport-ws handler only.

    At most `max_connections` WebSockets are open at once in this process (more are refused
    before the handshake completes), and a client must send `connection_init` within
    `init_timeout`, or be closed.
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        context_getter: ContextGetter,
        *,
        max_connections: int,
        init_timeout: timedelta,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=init_timeout,
        )
        self._context_getter = context_getter
        self._max_connections = max_connections
        self._open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        if self._open >= self._max_connections:
            log.warning("WebSocket refused: %d connections open already", self._open)
            await send({"type": "websocket.close", "code": 1013})  # before accept: HTTP 403
            return
        self._open += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._open -= 1

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> object:
        return await self._context_getter(request)
