"""A notification service for tests: a real HTTP server on 127.0.0.1 that checks each delivery's
signature, records it, and answers as the test says (a status, or a request held open)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.webhooks import DELIVERY_ID_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify_signature


@dataclass(frozen=True)
class Received:
    delivery_id: str
    event: str
    body: bytes
    signed: bool  # the signature verified with the receiver's secret


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner keeps its own signal handlers


@dataclass
class Receiver:
    """`answers` are the statuses of the next requests, in order (then 200). While `holding`,
    each request is recorded and then held open until `release()`."""

    secret: str
    answers: list[int] = field(default_factory=list)
    holding: bool = False
    received: list[Received] = field(default_factory=list)
    held: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _server: _Server | None = None
    _task: asyncio.Task[None] | None = None
    _socket: socket.socket | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def ids(self) -> list[str]:
        return [delivery.delivery_id for delivery in self.received]

    def deduplicated(self) -> list[str]:
        """The delivery ids as a receiver that de-duplicates by id takes them."""
        return list(dict.fromkeys(self.ids))

    def release(self) -> None:
        self.holding = False
        self._release.set()

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        signed = verify_signature(
            self.secret, request.headers.get(SIGNATURE_HEADER, ""), body, now=datetime.now(UTC)
        )
        self.received.append(
            Received(
                request.headers.get(DELIVERY_ID_HEADER, ""),
                request.headers.get(EVENT_HEADER, ""),
                body,
                signed,
            )
        )
        status = self.answers.pop(0) if self.answers else 200
        if self.holding:
            self.held += 1
            try:
                await self._release.wait()
            finally:
                self.held -= 1
        return Response(status_code=status)

    async def __aenter__(self) -> Receiver:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/hooks", self._receive, methods=["POST"])])
        config = uvicorn.Config(
            app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=1
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            assert not self._task.done(), "the receiver did not start"
            await asyncio.sleep(0.005)
        self._socket = sock
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task
        if self._socket is not None:
            self._socket.close()
