"""Live updates: change streams, fanned out to the subscribers of this process.

Writers only write. Where the server has change streams, this process watches the collection
of each topic someone in it follows (one change stream per topic, open while the topic has
subscribers) and hands each inserted or replaced document to the subscribers of its key through
bounded queues: a slow subscriber loses its oldest updates (or, on a lossless topic, is let go
to resume from what it saw last), it never holds up the others, and a write in any process
reaches subscribers in every process. Without change streams (mongomock, a standalone server)
writers publish in-process instead.

Positions make a lossless topic exact: each value carries one (an unlock's `seq`), increasing
per key in commit order, and a subscriber skips what it has already (what it read to catch up,
and a value that comes twice). A writer of this process also publishes such values right after
its commit, before the change stream brings them back: a subscriber takes that early copy only
when it directly follows what the subscriber has (position + 1), so it can never overtake an
earlier commit made by another process that the change stream has not brought yet; the stream's
copy is then skipped as a repeat, and a refused early copy is taken from the stream. Every
subscriber so gets every value once, in order, whichever way it came first.

Whoever serves a subscriber may take its live values over once it has caught up (`Handover`;
the WebSocket transport does, to run one execution for many subscribers of the same operation):
so the code iterating a `Subscription` must pass its values on unchanged. What a subscriber
should skip is the topic's business (positions), not the iterating code's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from persistence import metrics
from persistence.database import Database, Document

log = logging.getLogger("cairn.feed")

T = TypeVar("T")
QUEUE_SIZE = 256
YIELD_EVERY = 16  # changes of a batch dispatched between turns of the event loop
OPEN_TIMEOUT_SECONDS = 30.0  # for a change stream to open
StreamKey = tuple[str, str]  # (collection, key)


@dataclass(frozen=True)
class Topic(Generic[T]):
    """A followed collection: which field keys a subscriber, how to decode a document."""

    collection: str
    key_field: str
    decode: Callable[[Document], T]
    # A lossless topic ends a subscriber that falls behind (it resumes from what it saw last)
    # instead of silently dropping its oldest updates.
    lossless: bool = False
    # A value's position: increasing per key in commit order (1, 2, 3... with no gaps lets
    # this process deliver its own writes before the change stream brings them back).
    position: Callable[[T], int] | None = None


class SubscriberLagged(Exception):
    """A subscriber of a lossless topic fell too far behind and was let go."""


class Sink(Protocol):
    """What the feed offers each value of a key to, synchronously, in delivery order."""

    def offer(self, value: Any, *, early: bool) -> None:
        """`early`: published by this process's writer after its commit, ahead of the change
        stream, which will bring the same value again."""

    def prepare(self, value: Any) -> None:
        """The value is about to be committed and then offered (the same object): work that
        needs nothing but the value can be done now, while nobody waits for it. It may never
        be offered (its commit failed): what is kept for it must be bounded."""


class Handover(Protocol):
    """Takes a subscriber's live values over once it has caught up (see the module doc)."""

    def take(self, subscription: Subscription[Any]) -> Awaitable[None] | None:
        """Called when the subscription has nothing queued. None: declined, the subscription
        goes on as usual. Else from now on the feed no longer queues values for it, the taker
        delivers them, and the awaitable ends with the subscriber: it raises SubscriberLagged
        when the subscriber fell behind on a lossless topic."""


_HANDOVER: ContextVar[Handover | None] = ContextVar("cairn_feed_handover", default=None)


@contextlib.contextmanager
def handing_over(handover: Handover | None) -> Iterator[None]:
    """Subscriptions opened inside the block may hand their live values over to `handover`."""
    token = _HANDOVER.set(handover)
    try:
        yield
    finally:
        # ValueError: closed from another context (a generator finalised elsewhere).
        with contextlib.suppress(ValueError):
            _HANDOVER.reset(token)


def accepts(position: int | None, value_position: int | None, *, early: bool) -> bool:
    """Whether a subscriber at `position` takes a value at `value_position` (see module doc)."""
    if value_position is None:
        return True
    if early:
        return position is not None and value_position == position + 1
    return position is None or value_position > position


class Subscription(Generic[T]):
    def __init__(
        self, hub: Feed, topic: Topic[T], key: str, handover: Handover | None = None
    ) -> None:
        self._hub = hub
        self.topic = topic
        self.key = key
        self.queue: asyncio.Queue[tuple[T, bool]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0
        self.lagged = False
        # The position of the last value the subscriber has (None: unknown).
        self.position: int | None = None
        self._handover = handover

    @property
    def feed(self) -> Feed:
        return self._hub

    def skip_through(self, position: int) -> None:
        """The subscriber has every value up to `position` already: skip them."""
        if self.position is None or position > self.position:
            self.position = position

    def offer(self, value: T, *, early: bool = False) -> None:
        if self.lagged or self._has(value):
            return
        if self.queue.full():
            if self.topic.lossless:
                self.lagged = True
                return
            self.queue.get_nowait()  # the subscriber is slow: drop its oldest update
            self.dropped += 1
        self.queue.put_nowait((value, early))

    def prepare(self, value: T) -> None:
        pass  # a subscriber's own iteration renders its values

    def close(self) -> None:
        self._hub._unsubscribe(self)

    def _has(self, value: T) -> bool:
        """Whether the subscriber has the value already (its other copy came first)."""
        position = self.topic.position
        return (
            position is not None and self.position is not None and position(value) <= self.position
        )

    def _takes(self, value: T, early: bool) -> bool:
        position = self.topic.position
        at = None if position is None else position(value)
        if not accepts(self.position, at, early=early):
            return False
        if at is not None:
            self.position = at
        return True

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            if self.lagged and self.queue.empty():
                raise SubscriberLagged(self.topic.collection)
            if self._handover is not None and self.queue.empty() and not self.lagged:
                handover, self._handover = self._handover, None
                taken = handover.take(self)
                if taken is not None:
                    self._hub._delegate(self)
                    await taken
                    return
            value, early = await self.queue.get()
            if self._takes(value, early):
                yield value


class Feed:
    """The process's live updates. A topic's change stream runs while someone follows the topic
    (the first subscriber waits until it is open, so nothing committed after it subscribed can
    be missed), and stops `idle_seconds` after the last one has gone."""

    def __init__(
        self, database: Database, topics: list[Topic[Any]], *, idle_seconds: float = 30.0
    ) -> None:
        self._database = database
        self._topics = {topic.collection: topic for topic in topics}
        self._idle_seconds = idle_seconds
        self._sinks: dict[StreamKey, set[Sink]] = defaultdict(set)
        self._counts: Counter[StreamKey] = Counter()  # open subscriptions, handed over or not
        self._followers: Counter[str] = Counter()  # open subscriptions per topic
        self._streams: dict[str, _Stream] = {}  # running change streams, by collection
        self._threads: ThreadPoolExecutor | None = None
        metrics.track_subscribers(self)

    @property
    def cross_process(self) -> bool:
        return self._database.supports_change_streams

    @property
    def watching(self) -> frozenset[str]:
        """The collections whose change streams run."""
        return frozenset(self._streams)

    async def start(self) -> None:
        if not self.cross_process:
            log.warning(
                "the database has no change streams: cross-process delivery is off, "
                "live updates reach only the subscribers of this process"
            )
            return
        # Reading a change stream through the driver blocks a thread; a stopped stream may
        # hold its thread until its last wait ends (a second at most).
        self._threads = ThreadPoolExecutor(2 * len(self._topics), thread_name_prefix="cairn-feed")

    async def stop(self) -> None:
        streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            await stream.stop()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: Topic[T], key: str) -> AsyncIterator[Subscription[T]]:
        """A subscription to the key's values, from the moment this returns it on."""
        subscription: Subscription[T] = Subscription(self, topic, key, _HANDOVER.get())
        stream = (topic.collection, key)
        self._sinks[stream].add(subscription)
        self._counts[stream] += 1
        self._followers[topic.collection] += 1
        try:
            await self._watch(topic)
            yield subscription
        finally:
            subscription.close()

    @contextlib.contextmanager
    def listen(self, topic: Topic[Any], key: str, sink: Sink) -> Iterator[None]:
        """Offers `sink` every value of the key while the block runs (not a subscription: it
        is not counted as one)."""
        stream = (topic.collection, key)
        self._sinks[stream].add(sink)
        try:
            yield
        finally:
            self._remove(stream, sink)

    def subscriber_count(self, topic: Topic[Any], key: str) -> int:
        return self._counts.get((topic.collection, key), 0)

    @property
    def live_subscribers(self) -> int:
        """Subscriptions open on this feed, every topic and key (`cairn_live_subscribers`)."""
        return self._counts.total()

    def publish(self, topic: Topic[T], key: str, value: T) -> None:
        """Called by writers after commit. With change streams, only values with a position
        are delivered here, early (see the module doc); the stream delivers everything."""
        if not self.cross_process:
            self._deliver((topic.collection, key), value, early=False)
        elif topic.position is not None:
            self._deliver((topic.collection, key), value, early=True)

    def prepare(self, topic: Topic[T], key: str, value: T) -> None:
        """Called by writers before commit with a value they will `publish` after it: the
        sinks of the key may render it now, so that delivering it after the commit costs them
        only the sending. Only values that `publish` will deliver are prepared."""
        if self.cross_process and topic.position is None:
            return  # the change stream brings its own copy: nothing would use this one
        for sink in list(self._sinks.get((topic.collection, key), ())):
            try:
                sink.prepare(value)
            except Exception:
                log.exception("a live update could not be prepared")

    async def yield_to_subscribers(self) -> None:
        """Lets what `publish` set going (sending to this process's subscribers) run before
        the writer goes on: a live update then does not wait for the writer's answer to be
        built (a batch's can take longer than delivering it)."""
        await asyncio.sleep(0)

    def _deliver(self, stream: StreamKey, value: object, *, early: bool) -> None:
        for sink in list(self._sinks.get(stream, ())):
            try:
                sink.offer(value, early=early)
            except Exception:
                log.exception("a live update could not be delivered")

    def _delegate(self, subscription: Subscription[Any]) -> None:
        """The subscription's values are delivered by whoever took it over from now on."""
        self._remove((subscription.topic.collection, subscription.key), subscription)

    def _unsubscribe(self, subscription: Subscription[Any]) -> None:
        collection = subscription.topic.collection
        stream = (collection, subscription.key)
        self._remove(stream, subscription)
        self._counts[stream] -= 1
        if self._counts[stream] <= 0:
            del self._counts[stream]
        self._followers[collection] -= 1
        if self._followers[collection] <= 0:
            del self._followers[collection]
            running = self._streams.get(collection)
            if running is not None:
                running.idle(self._idle_seconds, lambda: self._stop_idle(collection))

    def _remove(self, stream: StreamKey, sink: Sink) -> None:
        sinks = self._sinks.get(stream)
        if sinks is not None:
            sinks.discard(sink)
            if not sinks:
                del self._sinks[stream]

    async def _watch(self, topic: Topic[Any]) -> None:
        """Starts the topic's change stream if it is not running; returns once it is open."""
        if not self.cross_process or self._threads is None:
            return
        running = self._streams.get(topic.collection)
        if running is None:
            running = _Stream(functools.partial(self._read, topic))
            self._streams[topic.collection] = running
        running.busy()
        await running.opened()

    def _stop_idle(self, collection: str) -> None:
        running = self._streams.get(collection)
        if running is not None and not self._followers.get(collection):
            del self._streams[collection]
            running.cancel()

    async def _read(self, topic: Topic[Any], opened: asyncio.Event) -> None:
        """The topic's change stream, resumed after a failure.

        A stream per collection, not one on the database: the embedded server matches a
        database-wide stream's filter against every write of a transaction (events, totals,
        days...), which took it 0.9 s to bring 1,000 unlocks of one batch; watching the
        collection alone, 0.07 s.
        """
        pipeline = [{"$match": {"operationType": {"$in": ["insert", "replace"]}}}]
        collection = self._database.db[topic.collection]
        # The driver's thread hands the changes over undecoded (a change's top level is read
        # for its resume token, its document stays bytes): decoding a thousand documents
        # there would hold the interpreter while this process's writer sends its own early
        # copies of them; here each is decoded on the event loop as it is dispatched (16
        # between the writer's turns), and only if someone here follows its key.
        codec = collection.codec_options
        collection = collection.with_options(
            codec_options=codec.with_options(document_class=RawBSONDocument)
        )
        loop = asyncio.get_running_loop()
        resume_after: Any = None
        while True:
            try:
                async with collection.watch(pipeline, resume_after=resume_after) as stream:
                    opened.set()
                    while stream.alive:
                        # Each change read through motor is a trip to its thread pool; one trip
                        # takes everything the last getMore brought.
                        changes = await loop.run_in_executor(
                            self._threads, _buffered, stream.delegate
                        )
                        for done, change in enumerate(changes, start=1):
                            metrics.observe_change_lag(change)
                            resume_after = change["_id"]
                            self._dispatch(topic, change, codec)
                            if done % YIELD_EVERY == 0 and done < len(changes):
                                # A batch of a thousand changes lets the loop run now and
                                # then: this process's writer, whose commit came back at the
                                # same moment, sends its early copies meanwhile.
                                await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("change stream failed; resuming in 1 s")
                await asyncio.sleep(1)

    def _dispatch(
        self, topic: Topic[Any], change: Mapping[str, Any], codec: CodecOptions[Any]
    ) -> None:
        document = change.get("fullDocument")
        if document is None:
            return
        stream = (topic.collection, document.get(topic.key_field))
        if stream in self._sinks:
            if isinstance(document, RawBSONDocument):
                document = bson.decode(document.raw, codec_options=codec)
            self._deliver(stream, topic.decode(document), early=False)


class _Stream:
    """A running change stream's task, and its idle timer."""

    def __init__(self, reading: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        self._opened = asyncio.Event()
        self._task = asyncio.create_task(reading(self._opened), name="cairn-feed")
        self._idle: asyncio.TimerHandle | None = None

    async def opened(self) -> None:
        async with asyncio.timeout(OPEN_TIMEOUT_SECONDS):
            await self._opened.wait()

    def busy(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def idle(self, seconds: float, stop: Callable[[], None]) -> None:
        self.busy()
        self._idle = asyncio.get_running_loop().call_later(seconds, stop)

    def cancel(self) -> None:
        self.busy()
        self._task.cancel()

    async def stop(self) -> None:
        self.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _buffered(stream: Any) -> list[Document]:
    """The next change (waiting for one getMore at most), and every change already buffered
    behind it; runs on motor's thread pool, on pymongo's change stream."""
    first = stream.try_next()
    if first is None:
        return []
    changes = [first]
    # pymongo has no public count of the changes buffered; `_has_next` is that count > 0.
    while stream._cursor._has_next():
        change = stream.try_next()
        if change is None:
            break
        changes.append(change)
    return changes
