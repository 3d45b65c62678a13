"""Live updates: one change stream per process, fanned out to subscribers in that process.

Writers only write. Where the server has change streams, a single watcher per process reads the
inserts and replacements of the followed collections and hands each to the subscribers of its key
through bounded queues: a slow subscriber loses its oldest updates, it never holds up the others,
and a write in any process reaches subscribers in every process. Without change streams
(mongomock, a standalone server) writers publish in-process instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from persistence import metrics
from persistence.database import Database, Document

log = logging.getLogger("cairn.feed")

T = TypeVar("T")
QUEUE_SIZE = 256


@dataclass(frozen=True)
class Topic(Generic[T]):
    """A followed collection: which field keys a subscriber, how to decode a document."""

    collection: str
    key_field: str
    decode: Callable[[Document], T]
    # A lossless topic ends a subscriber that falls behind (it resumes from what it saw last)
    # instead of silently dropping its oldest updates.
    lossless: bool = False


class SubscriberLagged(Exception):
    """A subscriber of a lossless topic fell too far behind and was let go."""


class Subscription(Generic[T]):
    def __init__(self, hub: Feed, topic: Topic[T], key: str) -> None:
        self._hub = hub
        self._topic = topic
        self.key = key
        self.queue: asyncio.Queue[T] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0
        self.lagged = False

    def offer(self, value: T) -> None:
        if self.lagged:
            return
        if self.queue.full():
            if self._topic.lossless:
                self.lagged = True
                return
            self.queue.get_nowait()  # the subscriber is slow: drop its oldest update
            self.dropped += 1
        self.queue.put_nowait(value)

    def close(self) -> None:
        self._hub._unsubscribe(self._topic, self)

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            if self.lagged and self.queue.empty():
                raise SubscriberLagged(self._topic.collection)
            yield await self.queue.get()


class Feed:
    def __init__(self, database: Database, topics: list[Topic[Any]]) -> None:
        self._database = database
        self._topics = {topic.collection: topic for topic in topics}
        self._subscribers: dict[tuple[str, str], set[Subscription[Any]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        metrics.track_subscribers(self)

    @property
    def cross_process(self) -> bool:
        return self._database.supports_change_streams

    async def start(self) -> None:
        if not self.cross_process:
            log.warning(
                "the database has no change streams: cross-process delivery is off, "
                "live updates reach only the subscribers of this process"
            )
            self._ready.set()
            return
        self._task = asyncio.create_task(self._watch(), name="cairn-feed")
        await asyncio.wait_for(self._ready.wait(), timeout=30)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def subscribe(self, topic: Topic[T], key: str) -> Any:
        subscription: Subscription[T] = Subscription(self, topic, key)
        self._subscribers[(topic.collection, key)].add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()

    def subscriber_count(self, topic: Topic[Any], key: str) -> int:
        return len(self._subscribers.get((topic.collection, key), ()))

    @property
    def live_subscribers(self) -> int:
        """Subscriptions open on this feed, every topic and key (`cairn_live_subscribers`)."""
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def publish(self, topic: Topic[T], key: str, value: T) -> None:
        """Called by writers after commit; a no-op when the change stream delivers instead."""
        if not self.cross_process:
            self._deliver(topic.collection, key, value)

    def _deliver(self, collection: str, key: str, value: object) -> None:
        for subscription in list(self._subscribers.get((collection, key), ())):
            subscription.offer(value)

    def _unsubscribe(self, topic: Topic[Any], subscription: Subscription[Any]) -> None:
        key = (topic.collection, subscription.key)
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[key]

    async def _watch(self) -> None:
        pipeline = [
            {
                "$match": {
                    "operationType": {"$in": ["insert", "replace"]},
                    "ns.coll": {"$in": list(self._topics)},
                }
            }
        ]
        resume_after: Any = None
        while True:
            try:
                async with self._database.db.watch(pipeline, resume_after=resume_after) as stream:
                    self._ready.set()
                    async for change in stream:
                        metrics.observe_change_lag(change)
                        resume_after = change["_id"]
                        self._dispatch(change)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("change stream failed; resuming in 1 s")
                await asyncio.sleep(1)

    def _dispatch(self, change: Document) -> None:
        topic = self._topics.get(change["ns"]["coll"])
        document = change.get("fullDocument")
        if topic is None or document is None:
            return
        key = document.get(topic.key_field)
        if (topic.collection, key) in self._subscribers:
            self._deliver(topic.collection, key, topic.decode(document))
