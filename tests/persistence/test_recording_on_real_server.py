"""Ingestion against a real MongoDB-wire server: unique keys, transactions, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import IdempotencyConflict
from domain.events import EventType
from persistence.topics import PROGRESS_UPDATES
from tests.factories import NOW, content_item, draft, skill
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(autouse=True)
async def catalog(real: RealServer) -> None:
    await real.repositories.skills.upsert_many([skill()])
    await real.repositories.content.upsert_many(
        [content_item(), content_item(id="saa-ec2-2"), content_item(id="saa-ec2-3")]
    )


async def test_the_server_has_transactions(real: RealServer) -> None:
    assert real.database.supports_transactions


async def test_fifty_concurrent_copies_of_an_event_are_counted_once(real: RealServer) -> None:
    event = draft(event_id="same", learner_id="ada")

    results = await asyncio.gather(
        *(real.recorder.record_one(event, received_at=NOW) for _ in range(50))
    )

    assert sum(1 for r in results if r.recorded) == 1
    assert sum(1 for r in results if r.replayed) == 49
    assert len({r.progress for r in results}) == 1
    totals = (await real.repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 1
    assert await real.repositories.events.count_for("ada") == 1


async def test_concurrent_events_of_one_learner_lose_no_update(real: RealServer) -> None:
    events = [
        draft(event_id=f"e{n}", content_id=f"saa-ec2-{n % 3 + 1}", learner_id="ada")
        for n in range(20)
    ]

    await asyncio.gather(*(real.recorder.record_one(e, received_at=NOW) for e in events))

    totals = (await real.repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 20
    assert totals.overall.questions_answered == 20
    assert totals.overall.content_viewed == 3
    [state] = (await real.repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.attempts == 20


async def test_a_failure_mid_write_leaves_neither_event_nor_counts(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("process died")

    monkeypatch.setattr(real.repositories.totals, "save", crash)

    with pytest.raises(RuntimeError):
        await real.recorder.record_one(draft(event_id="e1"), received_at=NOW)

    assert await real.repositories.events.count_for("ada") == 0
    assert await real.repositories.progress.find("ada", "saa-ec2-1") is None
    assert (await real.repositories.skill_states.for_learners(["ada"]))["ada"] == []


async def test_a_conflicting_replay_changes_nothing(real: RealServer) -> None:
    await real.recorder.record_one(draft(event_id="e1", score=0.5), received_at=NOW)

    with pytest.raises(IdempotencyConflict):
        await real.recorder.record_one(draft(event_id="e1", score=0.9), received_at=NOW)

    progress = await real.repositories.progress.find("ada", "saa-ec2-1")
    assert progress is not None and progress.best_score == 0.5


async def test_a_batch_of_a_thousand_events_is_stored_in_one_unit(real: RealServer) -> None:
    drafts = [
        draft(
            event_id=f"b{n}",
            learner_id=f"learner-{n % 10}",
            content_id=f"saa-ec2-{n % 3 + 1}",
            type=EventType.ANSWERED,
        )
        for n in range(1000)
    ]

    results = await real.recorder.record_many(drafts, received_at=NOW)

    assert all(r.recorded for r in results)
    totals = await real.repositories.totals.find_by_ids([f"learner-{n}" for n in range(10)])
    assert sum(t.overall.events for t in totals.values()) == 1000


async def test_progress_updates_reach_a_subscriber_through_the_change_stream(
    real: RealServer,
) -> None:
    await real.feed.start()
    with real.feed.subscribe(PROGRESS_UPDATES, "ada") as updates:
        await real.recorder.record_one(draft(event_id="live"), received_at=NOW)
        progress = await asyncio.wait_for(anext(aiter(updates)), timeout=10)

    assert progress.content_id == "saa-ec2-1"
