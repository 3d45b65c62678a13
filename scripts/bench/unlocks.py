"""Section 4: unlock latency.

From sending the mutation to receipt by subscribers of the ``achievementUnlocked`` subscription
(through the change stream), with 1 and with 1,000 subscribers on this process.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import strawberry

from domain.achievements import AchievementDefinition, RuleType
from domain.catalog import ContentItem, ContentKind
from persistence.topics import UNLOCKS_FEED
from resolvers.services import utc_now
from schema.context import new_context
from scripts.bench.common import BENCH_VIEWER, QUICK, RECORD_EVENT, Bench, ms, percentile

UNLOCKED = """
subscription($learnerId: String!) {
  achievementUnlocked(learnerId: $learnerId) { key seq title badgeIcon points }
}
"""
LATENCY_UNLOCKS = 10 if QUICK else 120  # samples per run: one achievement per completion
SUBSCRIBE_TIMEOUT = 60.0  # seconds for every subscription of a run to register
RECEIPT_TIMEOUT = 60.0  # seconds for every subscriber to receive one unlock


async def unlock_latency(bench: Bench) -> dict[str, float]:
    """Each completion unlocks one achievement made for the purpose (the nth completion the
    `bench-n` one); every subscriber follows the same learner, so one unlock fans out to all."""
    print(
        f"\n4. Unlock latency: recordEvent sent -> achievementUnlocked received, "
        f"{LATENCY_UNLOCKS} unlocks per run, through the change stream"
    )
    repos = bench.services.repositories
    await repos.content.upsert_many(
        [
            ContentItem(id=f"lat-{n:03d}", title=f"Latency item {n}", kind=ContentKind.LESSON)
            for n in range(1, LATENCY_UNLOCKS + 1)
        ]
    )
    for n in range(1, LATENCY_UNLOCKS + 1):
        await repos.achievements.upsert(
            AchievementDefinition(
                key=f"bench-{n:03d}",
                title=f"{n} completions",
                description="benchmark",
                icon="*",
                points=1,
                rule=RuleType.COMPLETIONS,
                threshold=n,
            )
        )
    feed = bench.services.feed
    await feed.start()
    summary: dict[str, float] = {}
    try:
        for subscribers in (1, 1000):
            samples = await _latency_run(bench, subscribers)
            p50, p99 = percentile(samples, 50), percentile(samples, 99)
            print(
                f"   {subscribers:>5,} subscriber(s)  p50 {ms(p50)}   p99 {ms(p99)}   "
                f"({len(samples):,} receipts)"
            )
            summary[f"unlock_{subscribers}_p50_ms"] = round(p50 * 1000, 2)
            summary[f"unlock_{subscribers}_p99_ms"] = round(p99 * 1000, 2)
    finally:
        await feed.stop()
    return summary


async def _latency_run(bench: Bench, subscribers: int) -> list[float]:
    learner_id = f"latency-{subscribers}"
    feed = bench.services.feed
    sent: dict[str, float] = {}
    received: list[float] = []
    pending: dict[str, int] = {}
    everyone = asyncio.Event()

    async def follow() -> None:
        results = await bench.schema.subscribe(
            UNLOCKED,
            variable_values={"learnerId": learner_id},
            context_value=new_context(bench.services, BENCH_VIEWER),
        )
        assert not isinstance(results, strawberry.types.ExecutionResult)
        async for result in results:
            if result.errors or result.data is None:
                raise RuntimeError(f"subscription failed: {result.errors}")
            key = result.data["achievementUnlocked"]["key"]
            if key in sent:
                received.append(time.perf_counter() - sent[key])
                pending[key] -= 1
                if pending[key] == 0:
                    everyone.set()

    tasks = [asyncio.create_task(follow()) for _ in range(subscribers)]
    try:
        # Subscriptions register as their generators start; nothing signals that.
        deadline = time.perf_counter() + SUBSCRIBE_TIMEOUT
        while feed.subscriber_count(UNLOCKS_FEED, learner_id) < subscribers:
            if time.perf_counter() > deadline:
                found = feed.subscriber_count(UNLOCKS_FEED, learner_id)
                raise RuntimeError(f"{found} of {subscribers} subscriptions registered")
            await asyncio.sleep(0.01)
        for n in range(1, LATENCY_UNLOCKS + 1):
            key = f"bench-{n:03d}"
            # A human's pace: the reward guard rightly stops a script's sixty-first completion
            # in ten minutes, so the completions are dated a quarter of a minute apart.
            occurred = utc_now() - timedelta(seconds=15 * (LATENCY_UNLOCKS - n))
            event = {
                "learnerId": learner_id,
                "eventId": f"done-{n}",
                "type": "COMPLETED",
                "contentId": f"lat-{n:03d}",
                "occurredAt": occurred.isoformat(),
            }
            everyone.clear()
            pending[key] = subscribers
            sent[key] = time.perf_counter()
            await bench.execute(RECORD_EVENT, input=event)
            await asyncio.wait_for(everyone.wait(), timeout=RECEIPT_TIMEOUT)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return received
