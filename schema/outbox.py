"""One WebSocket's outgoing messages, in order, never holding up the sender.

Every message the connection sends goes through its outbox: the protocol's own (acknowledgement,
pong, a subscriber's catch-up, errors, `complete`), which their sender awaits as it awaited the
socket before, and the live updates a shared execution pushes (`schema.live`), which nobody
awaits. Each subscription has at most `QUEUE_SIZE` updates waiting; beyond that its `Share`
decides (drop its oldest, or let it go), so a slow socket holds up no one but itself.

A message is written at once when nothing waits before it: the server's send completes without
suspending unless the socket's buffer is full, so a shared update reaches a thousand sockets in
one pass, without a task switch per socket. When a send does suspend, a task of the outbox's
own finishes it and writes what queued behind it, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from strawberry.http.exceptions import WebSocketDisconnected

from resolvers.live import QUEUE_SIZE

__all__ = ["QUEUE_SIZE", "Outbox", "Share"]

Send = Callable[[str], Coroutine[Any, Any, None]]


class Share(Protocol):
    """A subscription whose updates are pushed into an outbox: how many wait there."""

    pending: int


_Entry = tuple[Share | None, str, "asyncio.Future[None] | None"]


class Outbox:
    def __init__(self, send_text: Send) -> None:
        self._send_text = send_text
        self._queue: deque[_Entry] = deque()
        self._writer: asyncio.Task[None] | None = None  # while a send is suspended
        self.closed = False

    def push(self, share: Share, text: str) -> None:
        """Sends a live update, or queues it behind what waits; never waits."""
        if self.closed:
            return
        if self._writer is None:
            self._send_now(text, None)
            return
        share.pending += 1
        self._queue.append((share, text, None))

    async def send(self, text: str) -> None:
        """Sends one of the protocol's messages, in turn, and waits until it is written."""
        if self.closed:
            raise WebSocketDisconnected()
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._writer is None:
            self._send_now(text, written)
        else:
            self._queue.append((None, text, written))
        await written

    def drop_oldest(self, share: Share) -> bool:
        """Drops the oldest update waiting for `share`; False when none waits."""
        for index, (owner, _, _) in enumerate(self._queue):
            if owner is share:
                del self._queue[index]
                share.pending -= 1
                return True
        return False

    def forget(self, share: Share) -> None:
        """Drops every update waiting for `share` (its subscription is over)."""
        if share.pending:
            self._queue = deque(entry for entry in self._queue if entry[0] is not share)
            share.pending = 0

    async def close(self) -> None:
        self.closed = True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        self._fail_waiting()

    def _send_now(self, text: str, written: asyncio.Future[None] | None) -> None:
        """Runs the send right here; if it suspends, the writer task takes it from there."""
        sending = self._send_text(text)
        try:
            step = sending.send(None)
        except StopIteration:
            _settle(written)
            return
        except Exception:  # the client went away
            self._lost(written)
            return
        self._writer = asyncio.create_task(
            self._write(_resume(sending, step), written), name="cairn-outbox"
        )

    async def _write(
        self, suspended: Coroutine[Any, Any, None], written: asyncio.Future[None] | None
    ) -> None:
        try:
            try:
                await suspended
            except Exception:
                self._lost(written)
                return
            _settle(written)
            while self._queue:
                share, text, written = self._queue.popleft()
                if share is not None:
                    share.pending -= 1
                try:
                    await self._send_text(text)
                except Exception:
                    self._lost(written)
                    return
                _settle(written)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    def _lost(self, written: asyncio.Future[None] | None) -> None:
        self.closed = True
        if written is not None and not written.done():
            written.set_exception(WebSocketDisconnected())
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        for share, _, written in self._queue:
            if written is not None and not written.done():
                written.set_exception(WebSocketDisconnected())
            if share is not None:
                share.pending -= 1
        self._queue.clear()


def _settle(written: asyncio.Future[None] | None) -> None:
    if written is not None and not written.done():
        written.set_result(None)


async def _resume(coroutine: Coroutine[Any, Any, None], step: Any) -> None:
    """Finishes a coroutine that was started outside any task and suspended, having yielded
    `step` (what asyncio's coroutines yield: a future to wait for, or None to let others run),
    as the task running it would have."""
    while True:
        try:
            if step is None:
                await asyncio.sleep(0)
            else:
                # As a task does with what its coroutine yields: the future is now this
                # coroutine's to await.
                step._asyncio_future_blocking = False
                await step
        except BaseException as error:  # cancelled, or the future failed: the coroutine's
            try:
                step = coroutine.throw(error)
            except StopIteration:
                return
            continue
        try:
            step = coroutine.send(None)
        except StopIteration:
            return
