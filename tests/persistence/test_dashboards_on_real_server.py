"""The dashboards' aggregates on a real server: exactly the sum of the learners' contributions,
whatever the concurrency, retries, crashes, membership changes or a build from scratch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, PyMongoError

from domain.aggregates import (
    HOUR,
    Counters,
    add_into,
    all_presence_targets,
    group_contribution,
    presence_contribution,
    session_contribution,
    unlock_contribution,
)
from domain.events import EventDraft, EventType
from domain.groups import GroupChanges
from domain.streaks import add_day
from persistence.indexes import (
    AGGREGATE_CHANGES,
    GROUP_AGGREGATES,
    GROUP_ROSTERS,
    PROGRESS,
    STANDING,
    SYSTEM_AGGREGATES,
)
from persistence.projector import Projector
from persistence.repositories import Repositories
from persistence.transactions import TRANSIENT, TransactionRunner
from resolvers.aggregation import Aggregation
from resolvers.groups import add_members, remove_members, upsert_group
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

GROUP = "class"
ITEMS = ("saa-ec2-1", "saa-ec2-2", "saa-s3-1")


@pytest.fixture(autouse=True)
async def catalog(real: RealServer) -> None:
    await real.repositories.skills.upsert_many([skill(), skill(id="s3", name="S3")])
    await real.repositories.content.upsert_many(
        [
            content_item(),
            content_item(id="saa-ec2-2", title="EC2 pricing"),
            content_item(id="saa-s3-1", title="S3 classes", skill_ids=("s3", "ec2")),
        ]
    )
    await upsert_group(
        admin(real.repositories),
        real.repositories,
        GroupChanges(GROUP, name="Class", educator_ids=frozenset({"ed"})),
        now=NOW,
    )


def history(learner_id: str, count: int, *, tag: str = "e") -> list[EventDraft]:
    """A learner's events over the last three weeks: answers right and wrong, completions."""
    kinds = (EventType.ANSWERED, EventType.ANSWERED, EventType.VIEWED, EventType.COMPLETED)
    return [
        draft(
            learner_id=learner_id,
            event_id=f"{tag}-{learner_id}-{n}",
            type=kinds[n % len(kinds)],
            content_id=ITEMS[n % len(ITEMS)],
            score=(0.9 if n % 3 else 0.3) if kinds[n % len(kinds)] is EventType.ANSWERED else None,
            time_spent_seconds=30 + n * 7.3,
            occurred_at=NOW - timedelta(days=20) + timedelta(hours=11 * n + len(learner_id)),
            session_id=f"s-{learner_id}-{n // 3}",
        )
        for n in range(count)
    ]


async def join(repos: Repositories, aggregation: Aggregation, learners: Sequence[str]) -> None:
    await add_members(admin(repos), repos, GROUP, list(learners), now=NOW, aggregation=aggregation)


async def expected_group(repos: Repositories, members: Sequence[str]) -> Counters:
    aggregation = Aggregation(repos, TransactionRunner(repos))
    total: Counters = {}
    for state in (await aggregation.whole_states(None, members)).values():
        add_into(total, group_contribution(state.slice))
    return total


async def expected_system(repos: Repositories, drafts: Sequence[EventDraft]) -> Counters:
    """The system's counters from scratch (the per-minute counts aside)."""
    learners = sorted({d.learner_id for d in drafts})
    utc_days: dict[str, tuple[tuple[date, date], ...]] = {}
    for d in drafts:
        assert d.occurred_at is not None
        utc_days[d.learner_id] = add_day(
            utc_days.get(d.learner_id, ()), d.occurred_at.astimezone(UTC).date()
        )
    aggregation = Aggregation(repos, TransactionRunner(repos))
    states = await aggregation.whole_states(None, learners, hours=True)
    unlocks = await repos.unlocks.for_learners(learners)
    total: Counters = {}
    for learner_id in learners:
        days, weeks = all_presence_targets(utc_days[learner_id])
        add_into(total, presence_contribution(utc_days[learner_id], days=days, weeks=weeks))
        add_into(total, session_contribution(states[learner_id].days))
        add_into(total, unlock_contribution(unlocks[learner_id]))
    return total


async def stored_system(repos: Repositories) -> Counters:
    return {t: f for t, f in (await repos.dashboards.system_counters()).items() if t[0] != HOUR}


def labelled(error: PyMongoError, label: str) -> PyMongoError:
    error._add_error_label(label)
    return error


async def test_concurrent_units_for_different_learners_of_a_group_add_up_exactly(
    real: RealServer,
) -> None:
    repos = real.repositories
    learners = [f"m{n}" for n in range(6)]
    await join(repos, real.recorder.aggregation, learners)
    # One recorder each: separate group commits, as separate processes would have, so their
    # units run as concurrent transactions.
    recorders = [Recorder(repos, real.feed) for _ in learners]
    drafts = {learner: history(learner, 24) for learner in learners}
    projector = real.recorder.aggregation.projector

    async def record(recorder: Recorder, learner: str) -> None:
        for start in range(0, 24, 6):
            chunk = drafts[learner][start : start + 6]
            results = await recorder.record_many(chunk, received_at=NOW)
            assert all(r.recorded for r in results)

    await asyncio.gather(*(record(r, m) for r, m in zip(recorders, learners, strict=True)))
    await projector.drain()

    assert await repos.dashboards.group_counters(GROUP) == await expected_group(repos, learners)
    everything = [d for chunk in drafts.values() for d in chunk]
    assert await stored_system(repos) == await expected_system(repos, everything)
    hours = (await repos.dashboards.system_counters()).items()
    assert sum(n for (kind, _), f in hours if kind == HOUR for n in f.values()) == 6 * 24


async def test_a_unit_retried_after_a_transient_error_counts_once(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = real.repositories
    await join(repos, real.recorder.aggregation, ["ada"])
    add_change = repos.dashboards.add_change
    faults = [labelled(AutoReconnect("connection reset"), TRANSIENT)]

    async def write_then_fail(*args: Any, **kwargs: Any) -> None:
        await add_change(*args, **kwargs)  # written inside the transaction, then lost with it
        if faults:
            raise faults.pop(0)

    monkeypatch.setattr(repos.dashboards, "add_change", write_then_fail)
    drafts = history("ada", 8)

    results = await real.recorder.record_many(drafts, received_at=NOW)
    await real.recorder.aggregation.projector.drain()

    assert all(r.recorded for r in results)
    assert real.recorder.runner.unit_retries == 1
    assert await repos.dashboards.group_counters(GROUP) == await expected_group(repos, ["ada"])
    assert await stored_system(repos) == await expected_system(repos, drafts)


async def test_an_apply_that_fails_midway_is_retried_whole(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = real.repositories
    await join(repos, real.recorder.aggregation, ["ada", "bob"])
    recorder = real.recorder
    monkeypatch.setattr(recorder.aggregation.projector, "poke", lambda: None)
    drafts = history("ada", 10) + history("bob", 10)
    await recorder.record_many(drafts, received_at=NOW)
    apply = repos.dashboards.apply
    faults = [labelled(AutoReconnect("failover"), TRANSIENT)]

    async def apply_then_fail(*args: Any, **kwargs: Any) -> None:
        await apply(*args, **kwargs)  # counters added and changes deleted: then rolled back
        if faults:
            raise faults.pop(0)

    monkeypatch.setattr(repos.dashboards, "apply", apply_then_fail)
    await recorder.aggregation.projector.drain()

    assert recorder.aggregation.projector.retries == 1
    assert not await repos.dashboards.has_pending()
    assert await repos.dashboards.group_counters(GROUP) == await expected_group(
        repos, ["ada", "bob"]
    )
    assert await stored_system(repos) == await expected_system(repos, drafts)


async def test_changes_left_by_a_crash_are_applied_once_on_the_next_start(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = real.repositories
    await join(repos, real.recorder.aggregation, ["ada"])
    recorder = real.recorder
    monkeypatch.setattr(recorder.aggregation.projector, "poke", lambda: None)  # "crashed"
    drafts = history("ada", 12)
    for start in range(0, 12, 3):
        await recorder.record_many(drafts[start : start + 3], received_at=NOW)
    assert await repos.dashboards.has_pending()

    # Two processes start at once: each change is still applied exactly once.
    first = Projector(repos, TransactionRunner(repos), batch=2)
    second = Projector(repos, TransactionRunner(repos), batch=2)
    await asyncio.gather(first.start(), second.start())
    await first.stop()
    await second.stop()

    assert not await repos.dashboards.has_pending()
    assert await repos.dashboards.group_counters(GROUP) == await expected_group(repos, ["ada"])
    assert await stored_system(repos) == await expected_system(repos, drafts)


async def test_joining_brings_a_learners_history_and_leaving_takes_it_away(
    real: RealServer,
) -> None:
    repos = real.repositories
    aggregation = real.recorder.aggregation
    await real.recorder.record_many(history("ada", 12), received_at=NOW)
    await join(repos, aggregation, ["ada", "bob"])
    await real.recorder.record_many(history("bob", 6), received_at=NOW)
    await aggregation.projector.drain()

    assert await repos.dashboards.group_counters(GROUP) == await expected_group(
        repos, ["ada", "bob"]
    )
    assert {e.learner_id for e in await repos.dashboards.roster(GROUP)} == {"ada", "bob"}

    await remove_members(admin(repos), repos, GROUP, ["ada"], aggregation=aggregation)
    await aggregation.projector.drain()

    assert await repos.dashboards.group_counters(GROUP) == await expected_group(repos, ["bob"])
    assert {e.learner_id for e in await repos.dashboards.roster(GROUP)} == {"bob"}


async def test_a_membership_change_racing_a_write_for_the_same_learner_stays_exact(
    real: RealServer,
) -> None:
    repos = real.repositories
    await real.recorder.record_many(history("ada", 6), received_at=NOW)
    # Another process's recorder writes while this one adds the learner to the group.
    other = Recorder(repos, real.feed)
    late = history("ada", 12, tag="late")[6:]

    await asyncio.gather(
        join(repos, real.recorder.aggregation, ["ada"]),
        *(other.record_one(d, received_at=NOW) for d in late),
    )
    await real.recorder.aggregation.projector.drain()

    assert await repos.dashboards.group_counters(GROUP) == await expected_group(repos, ["ada"])


async def test_the_startup_backfill_builds_what_writes_would_have_kept(real: RealServer) -> None:
    repos = real.repositories
    aggregation = real.recorder.aggregation
    await join(repos, aggregation, ["ada", "bob"])
    drafts = history("ada", 16) + history("bob", 9) + history("cy", 5)
    await real.recorder.record_many(drafts, received_at=NOW)
    await aggregation.projector.drain()
    kept_group = await repos.dashboards.group_counters(GROUP)
    kept_system = await stored_system(repos)
    kept_roster = await repos.dashboards.roster(GROUP)
    # A database from before the dashboards: none of their documents, no answer counts.
    for name in (STANDING, AGGREGATE_CHANGES, GROUP_AGGREGATES, GROUP_ROSTERS, SYSTEM_AGGREGATES):
        await real.database[name].delete_many({})
    await real.database[PROGRESS].update_many({}, {"$unset": {"answers": "", "correct": ""}})

    built = await aggregation.backfill(now=NOW, pass_threshold=0.7)
    await aggregation.projector.drain()

    assert built == 3
    assert await repos.dashboards.group_counters(GROUP) == kept_group
    assert await stored_system(repos) == kept_system
    assert sorted(await repos.dashboards.roster(GROUP), key=lambda e: e.learner_id) == sorted(
        kept_roster, key=lambda e: e.learner_id
    )
    # Once done, it does nothing more.
    assert await aggregation.backfill(now=NOW, pass_threshold=0.7) == 0
    assert await aggregation.reconcile() == 0
