"""A socket's outbox: in order, at once when it can, never waiting for a slow socket."""

from __future__ import annotations

import asyncio

import pytest
from strawberry.http.exceptions import WebSocketDisconnected

from schema.outbox import Outbox


class Wire:
    """What a socket's server-side send does: write at once, or wait while `stalled`."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.open = asyncio.Event()
        self.open.set()
        self.broken = False

    async def send_text(self, text: str) -> None:
        await self.open.wait()
        if self.broken:
            raise RuntimeError("the client went away")
        self.written.append(text)


class Subscriber:
    def __init__(self) -> None:
        self.pending = 0


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_an_update_is_written_at_once_when_nothing_waits() -> None:
    wire = Wire()
    outbox = Outbox(wire.send_text)

    outbox.push(Subscriber(), "one")  # no await: written before push returns

    assert wire.written == ["one"]


async def test_behind_a_stalled_send_messages_wait_their_turn() -> None:
    wire = Wire()
    outbox = Outbox(wire.send_text)
    subscriber = Subscriber()
    wire.open.clear()

    outbox.push(subscriber, "one")
    outbox.push(subscriber, "two")
    own = asyncio.create_task(outbox.send("three"))
    await settle()
    assert (wire.written, subscriber.pending, own.done()) == ([], 1, False)
    wire.open.set()
    await own

    assert wire.written == ["one", "two", "three"]
    assert subscriber.pending == 0
    outbox.push(subscriber, "four")
    assert wire.written[-1] == "four"


async def test_a_subscriber_can_drop_its_oldest_waiting_update_or_all_of_them() -> None:
    wire = Wire()
    outbox = Outbox(wire.send_text)
    one, other = Subscriber(), Subscriber()
    wire.open.clear()
    outbox.push(one, "first")  # being written
    for text in ("a1", "b1", "a2", "b2"):
        outbox.push(one if text.startswith("a") else other, text)

    assert outbox.drop_oldest(one)
    outbox.forget(other)
    assert not outbox.drop_oldest(other)
    wire.open.set()
    await settle()

    assert wire.written == ["first", "a2"]
    assert (one.pending, other.pending) == (0, 0)


async def test_a_socket_gone_fails_whoever_waits_and_takes_nothing_more() -> None:
    wire = Wire()
    outbox = Outbox(wire.send_text)
    subscriber = Subscriber()
    wire.open.clear()
    outbox.push(subscriber, "one")
    waiting = asyncio.create_task(outbox.send("two"))
    await settle()

    wire.broken = True
    wire.open.set()
    with pytest.raises(WebSocketDisconnected):
        await waiting
    outbox.push(subscriber, "three")

    assert outbox.closed
    assert wire.written == []
    assert subscriber.pending == 0
    with pytest.raises(WebSocketDisconnected):
        await outbox.send("four")


async def test_closing_stops_a_stalled_send_and_fails_what_waits() -> None:
    wire = Wire()
    outbox = Outbox(wire.send_text)
    wire.open.clear()
    outbox.push(Subscriber(), "one")
    waiting = asyncio.create_task(outbox.send("two"))
    await settle()

    await outbox.close()

    with pytest.raises(WebSocketDisconnected):
        await waiting
    assert wire.written == []
