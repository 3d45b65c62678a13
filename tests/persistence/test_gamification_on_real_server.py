"""Achievements against a real server: unlocked once under concurrency, delivered live."""

from __future__ import annotations

import asyncio

import pytest

from domain.events import EventType
from domain.points import STREAK_DAY_POINTS
from resolvers.gamification import award_points, follow_unlocks
from tests.factories import NOW, admin, content_item, draft, skill
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(autouse=True)
async def catalog(real: RealServer) -> None:
    await real.repositories.skills.upsert_many([skill()])
    await real.repositories.content.upsert_many([content_item(id=f"item-{n}") for n in range(12)])


async def ledger_total(real: RealServer, learner_id: str) -> int:
    entries = await real.repositories.points.recent(learner_id, 1000)
    return sum(entry.amount for entry in entries)


async def test_concurrent_events_crossing_a_threshold_unlock_it_once(real: RealServer) -> None:
    completions = [
        draft(event_id=f"done-{n}", content_id=f"item-{n}", type=EventType.COMPLETED, score=None)
        for n in range(12)
    ]

    results = await asyncio.gather(
        *(real.recorder.record_one(event, received_at=NOW) for event in completions)
    )

    unlocked = [unlock.key for result in results for unlock in result.unlocks]
    assert sorted(unlocked) == sorted(set(unlocked))
    assert "completions-10" in unlocked
    assert "first-event" in unlocked
    stored = (await real.repositories.unlocks.for_learners(["ada"]))["ada"]
    assert sorted(u.key for u in stored) == sorted(unlocked)
    assert sorted(u.seq for u in stored) == list(range(1, len(stored) + 1))
    totals = (await real.repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.points == await ledger_total(real, "ada")
    # 12 completions at 10 points, the day's streak points, plus the unlocks' points.
    assert totals.points == 120 + STREAK_DAY_POINTS + sum(u.points for u in stored)


async def test_a_failed_unit_credits_neither_unlock_nor_points(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("process died")

    monkeypatch.setattr(real.repositories.points, "append", crash)

    with pytest.raises(RuntimeError):
        await real.recorder.record_one(
            draft(event_id="first", content_id="item-0"), received_at=NOW
        )

    assert (await real.repositories.unlocks.for_learners(["ada"]))["ada"] == []
    assert (await real.repositories.totals.find_by_ids(["ada"])) == {}


async def test_a_resuming_subscriber_gets_what_it_missed_then_live_unlocks_once(
    real: RealServer,
) -> None:
    await real.feed.start()
    await real.recorder.record_one(
        draft(event_id="e1", content_id="item-0", score=1.0), received_at=NOW
    )
    [first, second] = sorted(
        (await real.repositories.unlocks.for_learners(["ada"]))["ada"], key=lambda u: u.seq
    )

    received = []
    unlocks = follow_unlocks(
        admin(real.repositories), real.repositories, real.feed, "ada", after=first.seq
    )
    received.append(await asyncio.wait_for(anext(unlocks), timeout=10))
    later = [
        draft(event_id=f"c{n}", content_id=f"item-{n}", type=EventType.COMPLETED, score=None)
        for n in range(10)
    ]
    await real.recorder.record_many(later, received_at=NOW)
    received.append(await asyncio.wait_for(anext(unlocks), timeout=10))
    await unlocks.aclose()

    assert [u.key for u in received] == [second.key, "completions-10"]
    assert [u.seq for u in received] == [2, 3]


async def test_award_points_is_atomic_with_its_ledger_entry(real: RealServer) -> None:
    await real.recorder.record_one(draft(event_id="e1", content_id="item-0"), received_at=NOW)
    before = (await real.repositories.totals.find_by_ids(["ada"]))["ada"].points

    awards = await asyncio.gather(
        *(
            award_points(
                admin(real.repositories),
                real.recorder.runner,
                learner_id="ada",
                award_id=f"award-{n}",
                amount=5,
                reason="helped a peer",
                now=NOW,
            )
            for n in range(10)
        )
    )

    after = (await real.repositories.totals.find_by_ids(["ada"]))["ada"].points
    assert after == before + 50
    assert max(a.total for a in awards) == after
    assert after == await ledger_total(real, "ada")
