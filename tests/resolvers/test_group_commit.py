"""Group commit: jobs for the same learners are merged, never run side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from resolvers.group_commit import GroupCommit


class Writer:
    """Records the units it is given; `gate` holds a unit open until the test lets it go."""

    def __init__(self) -> None:
        self.units: list[list[str]] = []
        self.running = 0
        self.most_running = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_on: set[str] = set()

    async def run(self, items: Sequence[str]) -> list[str]:
        self.units.append(list(items))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
            if self.fail_on & set(items):
                raise RuntimeError(f"cannot write {sorted(self.fail_on & set(items))}")
            return [f"done {item}" for item in items]
        finally:
            self.running -= 1


async def test_jobs_waiting_for_one_learner_are_merged_into_one_unit() -> None:
    writer = Writer()
    commit: GroupCommit[str, str] = GroupCommit(writer.run)
    writer.gate.clear()
    first = asyncio.create_task(commit.submit(frozenset({"ada"}), ["e0"]))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(commit.submit(frozenset({"ada"}), [f"e{n}"])) for n in range(1, 50)]
    await asyncio.sleep(0)
    writer.gate.set()

    results = await asyncio.gather(first, *rest)

    assert [list(r) for r in results] == [[f"done e{n}"] for n in range(50)]
    assert writer.units == [["e0"], [f"e{n}" for n in range(1, 50)]]
    assert writer.most_running == 1


async def test_jobs_for_different_learners_run_side_by_side() -> None:
    writer = Writer()
    commit: GroupCommit[str, str] = GroupCommit(writer.run)
    writer.gate.clear()
    tasks = [
        asyncio.create_task(commit.submit(frozenset({learner}), [learner]))
        for learner in ("ada", "grace", "alan")
    ]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writer.running == 3
    writer.gate.set()
    await asyncio.gather(*tasks)


async def test_a_job_for_two_learners_waits_for_both_and_keeps_arrival_order() -> None:
    writer = Writer()
    commit: GroupCommit[str, str] = GroupCommit(writer.run)
    writer.gate.clear()
    ada = asyncio.create_task(commit.submit(frozenset({"ada"}), ["a1"]))
    await asyncio.sleep(0)
    both = asyncio.create_task(commit.submit(frozenset({"ada", "grace"}), ["ab"]))
    grace = asyncio.create_task(commit.submit(frozenset({"grace"}), ["g1"]))
    await asyncio.sleep(0)
    # "g1" arrived after "ab", which waits for ada: it must not overtake it.
    assert writer.units == [["a1"]]
    writer.gate.set()
    await asyncio.gather(ada, both, grace)
    assert writer.units == [["a1"], ["ab", "g1"]]


async def test_a_failing_merged_unit_fails_only_the_job_at_fault() -> None:
    writer = Writer()
    commit: GroupCommit[str, str] = GroupCommit(writer.run)
    writer.gate.clear()
    first = asyncio.create_task(commit.submit(frozenset({"ada"}), ["e0"]))
    await asyncio.sleep(0)
    good = asyncio.create_task(commit.submit(frozenset({"ada"}), ["good"]))
    bad = asyncio.create_task(commit.submit(frozenset({"ada"}), ["bad"]))
    writer.fail_on = {"bad"}
    await asyncio.sleep(0)
    writer.gate.set()

    assert list(await first) == ["done e0"]
    assert list(await good) == ["done good"]
    with pytest.raises(RuntimeError, match="bad"):
        await bad
    assert writer.units == [["e0"], ["good", "bad"], ["good"], ["bad"]]


async def test_a_merged_unit_stays_under_its_size_limit() -> None:
    writer = Writer()
    commit: GroupCommit[str, str] = GroupCommit(writer.run, max_items=3)
    writer.gate.clear()
    tasks = [
        asyncio.create_task(commit.submit(frozenset({"ada"}), [f"e{n}", f"f{n}"])) for n in range(4)
    ]
    await asyncio.sleep(0)
    writer.gate.set()
    await asyncio.gather(*tasks)
    assert [len(unit) for unit in writer.units] == [2, 2, 2, 2]
