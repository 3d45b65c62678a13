"""The WebSocket side of the endpoint: strawberry's graphql-transport-ws handler, bounded."""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.unset import UnsetType

from schema.authentication import Credentials, authenticate, authorization_of
from schema.live import LiveOperation, Multiplexer, serving
from schema.outbox import Outbox
from schema.tokens import TokenVerifier

log = logging.getLogger("cairn.http")

ContextGetter = Callable[[Request | WebSocket], Awaitable[Credentials]]
# Operations (subscriptions included) running at once on one WebSocket.
MAX_OPERATIONS_PER_CONNECTION = 100
# The close code when a connection's token expires (graphql-ws's "Unauthorized").
EXPIRED_CODE = 4401


@dataclass
class _Connection:
    """What this module tracks of one open WebSocket: whose it is, once `connection_init` said,
    and the timer that closes it when the viewer's token expires."""

    websocket: WebSocket | None = None
    viewer_id: str | None = None
    expiry: asyncio.Task[None] | None = None
    send: Send | None = None  # the server's ASGI send, once the connection is accepted


_CONNECTION: ContextVar[_Connection | None] = ContextVar("cairn_websocket", default=None)


class LiveTransport(BaseGraphQLTransportWSHandler[Credentials, None]):
    """Strawberry's graphql-transport-ws handler, with two changes: every message the connection
    sends goes through its outbox (`schema.outbox`), in order, and each operation runs bound
    for `schema.live`, so that its live values can be shared with other subscribers."""

    _outbox: Outbox | None = None

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            connection = _CONNECTION.get()
            assert connection is not None and connection.send is not None  # SubscriptionsApp's
            send = connection.send

            def send_text(text: str) -> Coroutine[Any, Any, None]:
                # Straight to the server (strawberry accepted the connection before it sends
                # anything): a thousand live updates skip starlette's per-message checks.
                sent = send({"type": "websocket.send", "text": text})
                return sent if asyncio.iscoroutine(sent) else _awaited(sent)

            self._outbox = Outbox(send_text)
        return self._outbox

    async def send_message(self, message: Message) -> None:
        await self.outbox.send(self.view.encode_json_string(message))

    async def run_operation(self, operation: Operation[Credentials, None]) -> None:
        view = self.view
        assert isinstance(view, SubscriptionsApp)
        served = LiveOperation(
            multiplexer=view.multiplexer,
            outbox=self.outbox,
            id=operation.id,
            query=operation.query,
            variables=operation.variables,
            operation_name=operation.operation_name,
        )
        with serving(served):
            await super().run_operation(operation)

    async def shutdown(self) -> None:
        await super().shutdown()
        if self._outbox is not None:
            await self._outbox.close()


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


class SubscriptionsApp(GraphQL[Credentials, None]):
    """Strawberry's ASGI app, used for its graphql-transport-ws handler only.

    At most `max_connections` WebSockets are open at once in this process (more are refused
    before the handshake completes), and a client must send `connection_init` within
    `init_timeout`, or be closed. The `Authorization` entry of the `connection_init` payload
    says who the viewer is: an invalid token closes the connection (4403), as does a viewer's
    connection beyond `max_per_viewer`; without a token, only introspection runs.

    Subscribers of the same operation share its execution (`schema.live`, `LiveTransport`).
    """

    graphql_transport_ws_handler_class = LiveTransport

    def __init__(
        self,
        schema: strawberry.Schema,
        context_getter: ContextGetter,
        tokens: TokenVerifier,
        *,
        max_connections: int,
        max_per_viewer: int,
        init_timeout: timedelta,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=init_timeout,
            max_subscriptions_per_connection=MAX_OPERATIONS_PER_CONNECTION,
        )
        self._context_getter = context_getter
        self._tokens = tokens
        self._max_connections = max_connections
        self._max_per_viewer = max_per_viewer
        self._open = 0
        self._per_viewer: Counter[str] = Counter()
        self.multiplexer = Multiplexer(self.encode_json_string)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        if self._open >= self._max_connections:
            log.warning("WebSocket refused: %d connections open already", self._open)
            await send({"type": "websocket.close", "code": 1013})  # before accept: HTTP 403
            return
        self._open += 1
        connection = _Connection(send=send)
        token = _CONNECTION.set(connection)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _CONNECTION.reset(token)
            if connection.expiry is not None:
                connection.expiry.cancel()
            self._open -= 1
            if connection.viewer_id is not None:
                self._per_viewer[connection.viewer_id] -= 1
                if self._per_viewer[connection.viewer_id] <= 0:
                    del self._per_viewer[connection.viewer_id]

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Credentials:
        connection = _CONNECTION.get()
        if connection is not None and isinstance(request, WebSocket):
            connection.websocket = request
        return await self._context_getter(request)

    async def on_ws_connect(self, context: Credentials) -> UnsetType | dict[str, object] | None:
        """Authenticates the connection from its `connection_init` payload."""
        await authenticate(context, self._tokens, authorization_of(context.connection_params))
        if context.credential_error is not None:
            raise ConnectionRejectionError()
        connection = _CONNECTION.get()
        viewer_id = context.viewer.id
        if connection is not None and viewer_id is not None:
            if self._per_viewer[viewer_id] >= self._max_per_viewer:
                log.warning(
                    "WebSocket refused: %s has %d open already", viewer_id, self._max_per_viewer
                )
                raise ConnectionRejectionError()
            self._per_viewer[viewer_id] += 1
            connection.viewer_id = viewer_id
            self._close_at_expiry(connection, context.viewer.expires_at)
        return await super().on_ws_connect(context)

    def _close_at_expiry(self, connection: _Connection, expires_at: datetime | None) -> None:
        """A connection lives no longer than the token that opened it (plus the leeway its
        checks allow): then it is closed with 4401, for the client to reconnect with a new one."""
        websocket = connection.websocket
        if expires_at is None or websocket is None:
            return
        leeway = self._tokens.settings.leeway_seconds
        delay = (expires_at - datetime.now(UTC)).total_seconds() + leeway

        async def expire() -> None:
            await asyncio.sleep(max(0.0, delay))
            log.info("closing the WebSocket of %s: its token has expired", connection.viewer_id)
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                await websocket.close(code=EXPIRED_CODE, reason="token expired")

        connection.expiry = asyncio.create_task(expire())
