"""Ingestion against a real MongoDB-wire server: unique keys, transactions, concurrency."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, PyMongoError

from domain.errors import IdempotencyConflict
from domain.events import EventDraft, EventType
from persistence.repositories import Repositories
from persistence.topics import PROGRESS_UPDATES
from persistence.transactions import TRANSIENT, UNKNOWN_COMMIT
from resolvers.recording import Recorder
from tests.factories import NOW, content_item, draft, skill
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]


def answers_apart(prefix: str, count: int) -> list[EventDraft]:
    """Ada's answers over the three items, ten minutes apart (the reward guard counts one answer
    per item in five minutes), newest first."""
    return [
        draft(
            event_id=f"{prefix}{n}",
            content_id=f"saa-ec2-{n % 3 + 1}",
            occurred_at=NOW - timedelta(minutes=10 * n),
        )
        for n in range(count)
    ]


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
    events = answers_apart("e", 20)

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
    async with real.feed.subscribe(PROGRESS_UPDATES, "ada") as updates:
        await real.recorder.record_one(draft(event_id="live"), received_at=NOW)
        progress = await asyncio.wait_for(anext(aiter(updates)), timeout=10)

    assert progress.content_id == "saa-ec2-1"


class FaultyClient:
    """The real client, except that sessions fail on cue: `commit_faults` raise after a real
    commit (the reply was lost, so the outcome is unknown); `save_faults` are raised by the
    totals write of the first units, after their events were written inside the transaction."""

    def __init__(self, client: Any, *, commit_faults: int) -> None:
        self._client = client
        self.commit_faults = commit_faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def start_session(self) -> Any:
        session = await self._client.start_session()
        commit = session.commit_transaction

        async def commit_then_lose_the_reply() -> None:
            await commit()
            if self.commit_faults:
                self.commit_faults -= 1
                raise labelled(AutoReconnect("reply lost"), UNKNOWN_COMMIT)

        session.commit_transaction = commit_then_lose_the_reply
        return session


def labelled(error: PyMongoError, label: str) -> PyMongoError:
    error._add_error_label(label)
    return error


async def test_injected_network_faults_leave_exact_counts_and_no_false_replays(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    faulty = replace(real.database, client=FaultyClient(real.database.client, commit_faults=2))
    repositories = Repositories.over(faulty)
    recorder = Recorder(repositories, real.feed)
    save = repositories.totals.save
    save_faults = [labelled(AutoReconnect("connection reset"), TRANSIENT) for _ in range(2)]

    async def save_or_fail(*args: Any, **kwargs: Any) -> None:
        if save_faults:
            raise save_faults.pop(0)
        await save(*args, **kwargs)

    monkeypatch.setattr(repositories.totals, "save", save_or_fail)
    drafts = answers_apart("e", 6)

    results = [await recorder.record_one(d, received_at=NOW) for d in drafts]

    assert [r.recorded for r in results] == [True] * 6  # none taken for a replay of itself
    assert recorder.runner.unit_retries == 2
    assert recorder.runner.commit_retries == 2
    totals = (await real.repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 6
    assert await real.repositories.events.count_for("ada") == 6
    [state] = (await real.repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.attempts == 6


async def test_fifty_concurrent_events_of_one_learner_are_all_recorded_in_few_units(
    real: RealServer,
) -> None:
    drafts = answers_apart("c", 50)

    results = await asyncio.gather(
        *(real.recorder.record_one(d, received_at=NOW) for d in drafts), return_exceptions=True
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    totals = (await real.repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 50
    assert real.recorder.group_commit.units <= 5  # grouped, not fifty racing transactions
    assert real.recorder.runner.unit_retries == 0


async def test_recorders_of_several_processes_writing_one_learner_lose_no_update(
    real: RealServer,
) -> None:
    # Each recorder groups its own writes; across recorders (processes) the transactions race,
    # and the server's write-conflict check must make the losers run again on fresh reads.
    recorders = [Recorder(real.repositories, real.feed) for _ in range(4)]
    drafts = answers_apart("p", 20)

    results = await asyncio.gather(
        *(recorders[n % 4].record_one(d, received_at=NOW) for n, d in enumerate(drafts))
    )

    assert all(r.recorded for r in results)
    assert sum(r.runner.unit_retries for r in recorders) > 0  # they did race
    totals = (await real.repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.overall.events == 20
    assert totals.overall.questions_answered == 20
    [state] = (await real.repositories.skill_states.for_learners(["ada"]))["ada"]
    assert state.attempts == 20
    progress = await real.repositories.progress.find_many(
        [("ada", f"saa-ec2-{n}") for n in (1, 2, 3)]
    )
    assert sum(p.events for p in progress.values()) == 20
