"""Slow clients: a connection whose request headers never finish is closed, on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from schema.slow_clients import with_header_timeout

DEADLINE = 0.5


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = Starlette(routes=[Route("/", hello), WebSocketRoute("/ws", echo)])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        http=with_header_timeout(DEADLINE),
        timeout_keep_alive=30,  # longer than the deadline: the deadline is what closes
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn says it has started by a flag only
        if server.started:
            break
        await asyncio.sleep(0.01)
    [listener] = server.servers
    bound: int = listener.sockets[0].getsockname()[1]
    try:
        yield bound
    finally:
        server.should_exit = True
        await task


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (reading what it sends)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(1024):
                pass
    except TimeoutError:
        return False
    return True


async def test_headers_trickling_past_the_deadline_get_the_connection_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()

    async def trickle() -> None:
        for _ in range(10):
            await asyncio.sleep(DEADLINE / 4)
            writer.write(b"X")
            await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        assert await closed_within(reader, DEADLINE * 4)
    finally:
        trickling.cancel()
        writer.close()


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    assert await closed_within(reader, DEADLINE * 4)
    writer.close()


async def test_the_deadline_starts_again_after_each_response(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(3):  # each request well within the deadline, three deadlines in all
        await asyncio.sleep(DEADLINE / 2)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        response = await reader.readuntil(b"hello")
        assert response.startswith(b"HTTP/1.1 200")
    writer.write(b"GET / HTTP/1.1\r\n")  # then a request that never finishes

    assert await closed_within(reader, DEADLINE * 4)
    writer.close()


async def test_an_upgraded_websocket_outlives_the_deadline(port: int) -> None:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as websocket:
        await asyncio.sleep(DEADLINE * 3)
        await websocket.send("still here")

        assert await websocket.recv() == "still here"
