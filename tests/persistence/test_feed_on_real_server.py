"""The feed against a real server: streams open while followed, unlocks once and in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from domain.achievements import Unlock
from domain.events import EventType
from persistence.feed import YIELD_EVERY, Feed
from persistence.indexes import UNLOCKS
from persistence.topics import TOPICS, UNLOCKS_FEED
from resolvers.gamification import follow_unlocks
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill, unlock
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(autouse=True)
async def catalog(real: RealServer) -> None:
    await real.repositories.skills.upsert_many([skill()])
    await real.repositories.content.upsert_many([content_item(id=f"item-{n}") for n in range(12)])


@pytest.fixture
async def elsewhere(real: RealServer) -> AsyncIterator[Recorder]:
    """A writer with a feed of its own, as another process on the same database would be."""
    feed = Feed(real.database, TOPICS)
    await feed.start()
    try:
        yield Recorder(real.repositories, feed)
    finally:
        await feed.stop()


async def test_a_topics_stream_runs_while_it_is_followed(real: RealServer) -> None:
    feed = Feed(real.database, TOPICS, idle_seconds=0.05)
    await feed.start()
    try:
        assert feed.watching == frozenset()
        async with feed.subscribe(UNLOCKS_FEED, "ada"):
            assert feed.watching == {UNLOCKS}
        for _ in range(100):
            if not feed.watching:
                break
            await asyncio.sleep(0.02)
        assert feed.watching == frozenset()
    finally:
        await feed.stop()


async def test_unlocks_made_here_and_elsewhere_arrive_once_and_in_order(
    real: RealServer, elsewhere: Recorder
) -> None:
    await real.feed.start()
    unlocks = follow_unlocks(admin(real.repositories), real.repositories, real.feed, "ada", after=0)
    received: list[Unlock] = []

    async def receive(count: int) -> None:
        for _ in range(count):
            received.append(await asyncio.wait_for(anext(unlocks), timeout=10))

    # Elsewhere: the first event (first-event); here, at once and published early: a perfect
    # score (perfect-score); elsewhere again, then here, ten completions (completions-10).
    await elsewhere.record_one(draft(event_id="e1", content_id="item-0"), received_at=NOW)
    await receive(1)
    await real.recorder.record_one(
        draft(event_id="e2", content_id="item-1", score=1.0), received_at=NOW
    )
    await receive(1)
    for n in range(10):
        writer = elsewhere if n % 2 else real.recorder
        completion = draft(
            event_id=f"c{n}", content_id=f"item-{n + 2}", type=EventType.COMPLETED, score=None
        )
        await writer.record_one(completion, received_at=NOW)
    stored = (await real.repositories.unlocks.for_learners(["ada"]))["ada"]
    await receive(len(stored) - 2)
    await unlocks.aclose()

    assert [unlock.seq for unlock in received] == list(range(1, len(stored) + 1))
    assert {unlock.key for unlock in received} >= {"first-event", "perfect-score"}
    assert {unlock.key for unlock in received} == {unlock.key for unlock in stored}


async def test_a_long_batch_of_changes_lets_the_loop_run_while_it_is_dispatched(
    real: RealServer,
) -> None:
    """A writer of this process whose commit comes back with a thousand changes of its own sends
    its early copies without waiting for the stream's whole batch to be dispatched."""
    feed = Feed(real.database, TOPICS)
    await feed.start()
    learners = [f"batch-{n:02d}" for n in range(3 * YIELD_EVERY)]
    seen: list[str] = []

    class Sink:
        def prepare(self, value: object) -> None:
            pass

        def offer(self, value: object, *, early: bool) -> None:
            if not seen:
                asyncio.get_running_loop().call_soon(seen.append, "the loop ran")
            seen.append("offered")

    try:
        async with feed.subscribe(UNLOCKS_FEED, learners[0]):
            with contextlib.ExitStack() as listening:
                for learner in learners:
                    listening.enter_context(feed.listen(UNLOCKS_FEED, learner, Sink()))
                session = await real.database.client.start_session()
                async with session, session.start_transaction():
                    await real.repositories.unlocks.insert_many(
                        [unlock(learner_id=learner) for learner in learners], session
                    )
                for _ in range(500):
                    if seen.count("offered") == len(learners):
                        break
                    await asyncio.sleep(0.01)
    finally:
        await feed.stop()

    assert seen.count("offered") == len(learners)
    assert seen.index("the loop ran") <= YIELD_EVERY
