"""The in-process fan-out: bounded queues, so a slow subscriber holds up no one."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import bson
import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

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
    async with feed.subscribe(LOSSY, "ada") as slow, feed.subscribe(LOSSY, "ada") as fast:
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
    async with feed.subscribe(LOSSLESS, "ada") as slow:
        for n in range(QUEUE_SIZE + 5):
            feed.publish(LOSSLESS, "ada", n)

        assert await drain(slow, QUEUE_SIZE) == list(range(QUEUE_SIZE))
        with pytest.raises(SubscriberLagged):
            await drain(slow, 1)


async def test_updates_reach_only_the_subscribers_of_their_key(feed: Feed) -> None:
    await feed.start()
    async with feed.subscribe(LOSSY, "ada") as ada, feed.subscribe(LOSSY, "grace") as grace:
        feed.publish(LOSSY, "grace", 7)

        assert await drain(grace, 1) == [7]
        assert ada.queue.empty()


async def test_without_change_streams_the_feed_says_cross_process_delivery_is_off(
    feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    await feed.start()

    assert not feed.cross_process
    assert "cross-process delivery is off" in caplog.text


# Positions: a lossless topic's values in order, once, whichever copy comes first

POSITIONED: Topic[int] = Topic(
    "positioned", "learnerId", lambda doc: int(doc["n"]), lossless=True, position=lambda n: n
)


@pytest.fixture
def positioned() -> Feed:
    return Feed(mongomock_database("positioned"), [POSITIONED])


async def test_a_subscriber_skips_what_it_has_already(positioned: Feed) -> None:
    async with positioned.subscribe(POSITIONED, "ada") as live:
        live.skip_through(2)  # say, read while catching up
        for n in (1, 2, 3, 3, 4):
            live.offer(n)

        assert await drain(live, 2) == [3, 4]
        assert live.queue.empty()


async def test_an_early_copy_is_taken_only_when_it_directly_follows(positioned: Feed) -> None:
    async with positioned.subscribe(POSITIONED, "ada") as live:
        live.skip_through(0)
        # This process committed 2 and published it early; 1 was committed elsewhere, before,
        # and the change stream has not brought it yet: 2 must not overtake it.
        live.offer(2, early=True)
        live.offer(1)  # the stream: 1, then 2
        live.offer(2)
        live.offer(3, early=True)  # follows 2: taken at once
        live.offer(3)  # its stream copy: a repeat
        live.offer(4)

        assert await drain(live, 4) == [1, 2, 3, 4]
        assert live.queue.empty()


async def test_without_a_known_position_only_the_stream_is_trusted(positioned: Feed) -> None:
    async with positioned.subscribe(POSITIONED, "ada") as live:
        live.offer(5, early=True)
        live.offer(5)

        assert await drain(live, 1) == [5]
        assert live.queue.empty()


async def test_publishing_delivers_a_positioned_value_early_only_with_change_streams() -> None:
    streams = mongomock_database("streams")
    cross_process = Feed(replace(streams, supports_change_streams=True), [POSITIONED, LOSSY])
    async with (
        cross_process.subscribe(POSITIONED, "ada") as positioned_live,
        cross_process.subscribe(LOSSY, "ada") as lossy_live,
    ):
        positioned_live.skip_through(0)
        cross_process.publish(POSITIONED, "ada", 1)
        cross_process.publish(LOSSY, "ada", 7)  # the change stream will bring it

        assert await drain(positioned_live, 1) == [1]
        assert lossy_live.queue.empty()


async def test_a_streamed_change_is_decoded_only_for_a_key_someone_here_follows(
    feed: Feed,
) -> None:
    decoded: list[dict[str, Any]] = []

    def decode(doc: dict[str, Any]) -> int:
        decoded.append(doc)
        return int(doc["n"])

    topic: Topic[int] = Topic("lossy", "learnerId", decode)
    codec = CodecOptions(document_class=RawBSONDocument)

    def change(learner_id: str, n: int) -> RawBSONDocument:
        raw = bson.encode(
            {"_id": {"_data": f"{n}"}, "fullDocument": {"learnerId": learner_id, "n": n}}
        )
        return RawBSONDocument(raw, codec_options=codec)

    async with feed.subscribe(LOSSY, "ada") as ada:
        feed._dispatch(topic, change("grace", 1), CodecOptions())
        feed._dispatch(topic, change("ada", 2), CodecOptions())

        assert await drain(ada, 1) == [2]
    assert decoded == [{"learnerId": "ada", "n": 2}]
    assert type(decoded[0]) is dict  # decoded whole, not a lazy raw document
