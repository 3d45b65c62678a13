"""WebSocket subscribers for section 4, run as a process of their own by ``scripts.bench.unlocks``.

    python -m scripts.bench.subscribers      (driven over stdin and stdout, one JSON object a line)

The first line read says what to do: ``{"url", "authorization", "query", "learners"}``, one
client per entry of ``learners`` (the ``learnerId`` variable it subscribes with). Each client
opens a WebSocket (TCP, its own connection), speaks graphql-transport-ws (``connection_init``
with the token, then one ``subscribe``) through the `websockets` library's own protocol state
machine (its sans-I/O ``ClientProtocol``: handshake, framing, masking, pings and pongs,
permessage-deflate offered as browsers offer it). Then:

- it writes ``{"ready": n}`` once every client is acknowledged and has sent its subscription;
- ``{"expect": n}`` read: it writes ``{"reached": n}`` once n messages have arrived in all;
- ``{"report": true}`` read: it writes ``{"receipts": [[client, learnerId, key, arrived,
  read]...], "errors": [...]}`` (messages other than ``next``, and ``next`` with errors), exits.

Each message has two times (wall clock, as ``time.time()``): ``arrived``, when its bytes reached
the client's socket, stamped by the kernel (``SO_TIMESTAMPNS``); and ``read``, when this process
got to read them. A thousand clients share this one process, so a message can wait here for the
999 before it, which a client of its own would not: ``arrived`` is the receipt measured, and
``read`` shows what one process for all of them adds.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
import time
from typing import Any

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol
from websockets.uri import WebSocketURI, parse_uri

CONNECT_AT_ONCE = 50  # handshakes in flight together
PROTOCOL = Subprotocol("graphql-transport-ws")
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python names it in 3.12
Receipt = tuple[int, float, float, bytes]  # client, arrived, read, message


class Client:
    """One WebSocket over a socket of its own, read when the process gets to it."""

    def __init__(self, number: int, uri: WebSocketURI, learner: str) -> None:
        self.number = number
        self.learner = learner
        self.websocket = ClientProtocol(
            uri, subprotocols=[PROTOCOL], extensions=enable_client_permessage_deflate(None)
        )
        self.socket = socket.create_connection((uri.host, uri.port), timeout=60)
        self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.handshaken = False
        self._fragments: list[bytes] = []

    def open(self) -> None:
        self.websocket.send_request(self.websocket.connect())
        self.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.websocket.send_text(json.dumps(message).encode())
        self.flush()

    def flush(self) -> None:
        for chunk in self.websocket.data_to_send():
            if chunk:
                self.socket.sendall(chunk)

    def read(self) -> list[Receipt]:
        """What one read brings: complete messages, stamped. BlockingIOError when nothing
        waits (once the socket is non-blocking)."""
        data, ancillary, _, _ = self.socket.recvmsg(65536, 256)
        read = time.time()
        if not data:
            raise ConnectionError(f"client {self.number}: the server closed the connection")
        arrived = read
        for level, kind, stamp in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", stamp[:16])
                arrived = seconds + nanoseconds / 1e9
        self.websocket.receive_data(data)
        messages = []
        for event in self.websocket.events_received():
            if not isinstance(event, Frame):  # the handshake's response
                if self.websocket.handshake_exc is not None:
                    raise self.websocket.handshake_exc
                self.handshaken = True
            elif event.opcode in (Opcode.TEXT, Opcode.CONT):
                self._fragments.append(bytes(event.data))
                if event.fin:
                    message, self._fragments = b"".join(self._fragments), []
                    messages.append((self.number, arrived, read, message))
        self.flush()  # pongs
        return messages

    def first_message(self) -> dict[str, Any]:
        while True:
            messages = self.read()
            if messages:
                found: dict[str, Any] = json.loads(messages[0][3])
                return found


def connect(setup: dict[str, Any]) -> list[Client]:
    """Every client acknowledged and subscribed, `CONNECT_AT_ONCE` at a time."""
    uri = parse_uri(setup["url"])
    learners: list[str] = setup["learners"]
    clients: list[Client] = []
    for start in range(0, len(learners), CONNECT_AT_ONCE):
        batch = [
            Client(number, uri, learners[number])
            for number in range(start, min(start + CONNECT_AT_ONCE, len(learners)))
        ]
        for client in batch:
            client.open()
        for client in batch:
            while not client.handshaken:
                client.read()
            init = {"type": "connection_init", "payload": {"Authorization": setup["authorization"]}}
            client.send(init)
        for client in batch:
            ack = client.first_message()
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"client {client.number} not acknowledged: {ack}")
            variables = {"learnerId": client.learner}
            payload = {"query": setup["query"], "variables": variables}
            client.send({"id": "1", "type": "subscribe", "payload": payload})
        clients.extend(batch)
    return clients


def report(receipts: list[Receipt], clients: list[Client]) -> dict[str, Any]:
    rows: list[list[Any]] = []
    errors: list[Any] = []
    for number, arrived, read, raw in receipts:
        message = json.loads(raw)
        payload = message.get("payload") or {}
        data = payload.get("data") if isinstance(payload, dict) else None
        if message.get("type") != "next" or payload.get("errors") or not data:
            errors.append(message)
            continue
        unlock = next(iter(data.values()))
        rows.append([number, clients[number].learner, unlock["key"], arrived, read])
    return {"receipts": rows, "errors": errors}


def write(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main() -> None:
    # Lowest priority: the service being measured, not its clients, gets the CPU it asks for
    # (see `scripts.bench.unlocks`); arrival times are the kernel's, whenever this reads them.
    os.nice(19)
    setup = json.loads(sys.stdin.readline())
    clients = connect(setup)
    write({"ready": len(clients)})
    by_fd = {}
    poll = select.epoll()
    for client in clients:
        client.socket.setblocking(False)
        by_fd[client.socket.fileno()] = client
        poll.register(client.socket.fileno(), select.EPOLLIN)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    poll.register(stdin, select.EPOLLIN)
    receipts: list[Receipt] = []
    commands = b""
    target: int | None = None
    while True:
        for fd, _ in poll.poll():
            if fd == stdin:
                read = os.read(stdin, 65536)
                if not read:
                    return  # the bench went away
                commands += read
                continue
            client = by_fd[fd]
            try:
                while True:
                    receipts.extend(client.read())
            except BlockingIOError:
                pass
        while b"\n" in commands:
            line, commands = commands.split(b"\n", 1)
            command = json.loads(line)
            if "expect" in command:
                target = int(command["expect"])
            elif command.get("report"):
                write(report(receipts, clients))
                for client in clients:
                    client.socket.close()
                return
        if target is not None and len(receipts) >= target:
            write({"reached": target})
            target = None


if __name__ == "__main__":
    main()
