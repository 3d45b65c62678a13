"""The in-process fan-out: bounded queues, so a slow subscriber holds up no one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from persistence.feed import QUEUE_SIZE, Feed, SubscriberLagged, Topic
from tests.fakes import mongomock_database

LOSSY: Topic[int] = Topic("lossy", "learnerId", lambda doc: int(doc["n"]))
LOSSLESS: Topic[int] = Topic("lossless", "learnerId", lambda doc: int(doc["n"]), lossless=True)


@pytest.fixture
def feed() -> Feed:
    return Feed(mongomock_database("feed"), [LOSSY, LOSSLESS])


async def drain(subscription: Any, count: int) -> list[int]:
    iterator = aiter(subscription)
    return [await asyncio.wait_for(anext(iterator), timeout=1) for _ in range(count)]


async def test_a_slow_subscriber_loses_its_oldest_updates_and_holds_up_no_one(feed: Feed) -> None:
    await feed.start()
    with feed.subscribe(LOSSY, "ada") as slow, feed.subscribe(LOSSY, "ada") as fast:
        fast_iterator = aiter(fast)
        received = []
        for n in range(QUEUE_SIZE * 2):
            feed.publish(LOSSY, "ada", n)
            received.append(await asyncio.wait_for(anext(fast_iterator), timeout=1))

        assert received == list(range(QUEUE_SIZE * 2))
        assert slow.dropped == QUEUE_SIZE
        assert await drain(slow, 3) == [QUEUE_SIZE, QUEUE_SIZE + 1, QUEUE_SIZE + 2]


async def test_a_lagging_subscriber_of_a_lossless_topic_is_let_go_after_what_it_has(
    feed: Feed,
) -> None:
    await feed.start()
    with feed.subscribe(LOSSLESS, "ada") as slow:
        for n in range(QUEUE_SIZE + 5):
            feed.publish(LOSSLESS, "ada", n)

        assert await drain(slow, QUEUE_SIZE) == list(range(QUEUE_SIZE))
        with pytest.raises(SubscriberLagged):
            await drain(slow, 1)


async def test_updates_reach_only_the_subscribers_of_their_key(feed: Feed) -> None:
    await feed.start()
    with feed.subscribe(LOSSY, "ada") as ada, feed.subscribe(LOSSY, "grace") as grace:
        feed.publish(LOSSY, "grace", 7)

        assert await drain(grace, 1) == [7]
        assert ada.queue.empty()


async def test_without_change_streams_the_feed_says_cross_process_delivery_is_off(
    feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    await feed.start()

    assert not feed.cross_process
    assert "cross-process delivery is off" in caplog.text
