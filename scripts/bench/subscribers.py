"""WebSocket subscribers for section 4, run as a process of their own by ``scripts.bench.unlocks``.

    python -m scripts.bench.subscribers      (driven over stdin and stdout, one JSON object a line)

The first line read says what to do: ``{"url", "authorization", "query", "learners"}``, one
client per entry of ``learners`` (the ``learnerId`` variable it subscribes with). Each client
opens a WebSocket, speaks graphql-transport-ws (``connection_init`` with the token, then one
``subscribe``) and notes the wall-clock time (``time.time()``) at which each message's bytes
arrive, before it reads anything in them. Then:

- it writes ``{"ready": n}`` once every client is acknowledged and has sent its subscription;
- ``{"expect": n}`` read: it writes ``{"reached": n}`` once n messages have arrived in all;
- ``{"report": true}`` read: it writes ``{"receipts": [[client, learnerId, key, time]...],
  "errors": [...]}`` (messages other than ``next``, and ``next`` with errors) and exits.

The clients are as lean as a real one can be, so that the figure is the service's: each is an
asyncio protocol driving the `websockets` library's own protocol state machine (its sans-I/O
``ClientProtocol``: handshake, framing, masking, ping and pong, and permessage-deflate, which
browsers negotiate), with no task of its own; a message is parsed only for the report.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

CONNECT_AT_ONCE = 50  # handshakes in flight together
PROTOCOL = Subprotocol("graphql-transport-ws")


@dataclass
class Receipts:
    """Every message received, stamped, unparsed; and who waits for a count of them."""

    messages: list[tuple[int, float, bytes]] = field(default_factory=list)
    target: int | None = None
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, client: int, at: float, message: bytes) -> None:
        self.messages.append((client, at, message))
        if self.target is not None and len(self.messages) >= self.target:
            self.target = None
            self.reached.set()

    def expect(self, count: int) -> None:
        self.reached.clear()
        self.target = count
        if len(self.messages) >= count:
            self.target = None
            self.reached.set()


class Client(asyncio.Protocol):
    """One WebSocket, subscribed once it is acknowledged."""

    def __init__(self, number: int, setup: dict[str, Any], learner: str, receipts: Receipts):
        self.number = number
        self.setup = setup
        self.learner = learner
        self.receipts = receipts
        self.websocket = ClientProtocol(
            parse_uri(setup["url"]),
            subprotocols=[PROTOCOL],
            extensions=enable_client_permessage_deflate(None),
        )
        self.transport: asyncio.Transport | None = None
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.websocket.send_request(self.websocket.connect())
        self.flush()

    def data_received(self, data: bytes) -> None:
        at = time.time()
        self.websocket.receive_data(data)
        for event in self.websocket.events_received():
            if not isinstance(event, Frame):  # the handshake's response
                if self.websocket.handshake_exc is not None:
                    self.fail(self.websocket.handshake_exc)
                    return
                init = {
                    "type": "connection_init",
                    "payload": {"Authorization": self.setup["authorization"]},
                }
                self.send(init)
            elif event.opcode in (Opcode.TEXT, Opcode.CONT):
                self.fragments.append(bytes(event.data))
                if event.fin:
                    message, self.fragments = b"".join(self.fragments), []
                    self.received(at, message)
        self.flush()

    def received(self, at: float, message: bytes) -> None:
        if self.subscribed.done():
            self.receipts.add(self.number, at, message)
            return
        if json.loads(message).get("type") != "connection_ack":
            self.fail(RuntimeError(f"not acknowledged: {message!r}"))
            return
        variables = {"learnerId": self.learner}
        payload = {"query": self.setup["query"], "variables": variables}
        self.send({"id": "1", "type": "subscribe", "payload": payload})
        self.subscribed.set_result(None)

    def send(self, message: dict[str, Any]) -> None:
        self.websocket.send_text(json.dumps(message).encode())

    def flush(self) -> None:
        assert self.transport is not None
        for chunk in self.websocket.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:
                self.transport.close()

    def fail(self, error: BaseException) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionError("closed before subscribing"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def report(receipts: Receipts, learners: list[str]) -> dict[str, Any]:
    rows: list[list[Any]] = []
    errors: list[Any] = []
    for client, at, raw in receipts.messages:
        message = json.loads(raw)
        payload = message.get("payload") or {}
        data = payload.get("data") if isinstance(payload, dict) else None
        if message.get("type") != "next" or payload.get("errors") or not data:
            errors.append(message)
            continue
        unlock = next(iter(data.values()))
        rows.append([client, learners[client], unlock["key"], at])
    return {"receipts": rows, "errors": errors}


async def reached(receipts: Receipts, count: int) -> None:
    await receipts.reached.wait()
    write({"reached": count})


def write(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    setup = json.loads(await reader.readline())
    learners: list[str] = setup["learners"]
    uri = parse_uri(setup["url"])
    receipts = Receipts()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    clients: list[Client] = []

    async def opened(number: int, learner: str) -> None:
        async with gate:
            client = Client(number, setup, learner, receipts)
            clients.append(client)
            await loop.create_connection(lambda: client, uri.host, uri.port)
            await asyncio.wait_for(client.subscribed, timeout=60)

    await asyncio.gather(*(opened(number, learner) for number, learner in enumerate(learners)))
    write({"ready": len(clients)})
    waiting: asyncio.Task[None] | None = None
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if "expect" in command:
                receipts.expect(int(command["expect"]))
                waiting = asyncio.create_task(reached(receipts, int(command["expect"])))
            elif command.get("report"):
                write(report(receipts, learners))
                break
    finally:
        if waiting is not None:
            waiting.cancel()
        for client in clients:
            client.close()


if __name__ == "__main__":
    asyncio.run(main())
