"""WebSocket subscribers for section 4, run as a process of their own by ``scripts.bench.unlocks``.

    python -m scripts.bench.subscribers      (driven over stdin and stdout, one JSON object a line)

The first line read says what to do: ``{"url", "authorization", "query", "learners"}``, one
client per entry of ``learners`` (the ``learnerId`` variable it subscribes with). Each client
opens a WebSocket, speaks graphql-transport-ws (``connection_init`` with the token, then one
``subscribe``) and notes the wall-clock time (``time.time()``) at which each message arrives,
before it reads anything in it. Then:

- it writes ``{"ready": n}`` once every client is acknowledged and has sent its subscription;
- ``{"expect": n}`` read: it writes ``{"reached": n}`` once n messages have arrived in all;
- ``{"report": true}`` read: it writes ``{"receipts": [[client, learnerId, key, time]...],
  "errors": [...]}`` (messages other than ``next``, and ``next`` with errors) and exits.

Messages are parsed only for the report, so a client's cost per message is what its WebSocket
library spends receiving it (permessage-deflate included, as browsers negotiate it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

CONNECT_AT_ONCE = 50  # handshakes in flight together
PROTOCOL = Subprotocol("graphql-transport-ws")


@dataclass
class Receipts:
    """Every message received, stamped, unparsed; and who waits for a count of them."""

    messages: list[tuple[int, float, str | bytes]] = field(default_factory=list)
    target: int | None = None
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, client: int, message: str | bytes) -> None:
        self.messages.append((client, time.time(), message))
        if self.target is not None and len(self.messages) >= self.target:
            self.target = None
            self.reached.set()

    def expect(self, count: int) -> None:
        self.reached.clear()
        self.target = count
        if len(self.messages) >= count:
            self.target = None
            self.reached.set()


async def open_client(url: str, authorization: str, query: str, learner: str) -> ClientConnection:
    websocket = await connect(url, subprotocols=[PROTOCOL], max_queue=None, open_timeout=60)
    init = {"type": "connection_init", "payload": {"Authorization": authorization}}
    await websocket.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(websocket.recv(), timeout=60))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"not acknowledged: {ack}")
    subscribe = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": query, "variables": {"learnerId": learner}},
    }
    await websocket.send(json.dumps(subscribe))
    return websocket


async def listen(client: int, websocket: ClientConnection, receipts: Receipts) -> None:
    async for message in websocket:
        receipts.add(client, message)


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
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    setup = json.loads(await reader.readline())
    learners: list[str] = setup["learners"]
    receipts = Receipts()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def opened(learner: str) -> ClientConnection:
        async with gate:
            return await open_client(setup["url"], setup["authorization"], setup["query"], learner)

    websockets = await asyncio.gather(*(opened(learner) for learner in learners))
    listeners = [
        asyncio.create_task(listen(n, websocket, receipts))
        for n, websocket in enumerate(websockets)
    ]
    write({"ready": len(websockets)})
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
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(websocket.close() for websocket in websockets))
        await asyncio.gather(*listeners, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
