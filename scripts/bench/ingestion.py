"""Sections 1 and 1b: batch ingestion against raw inserts, and concurrent writes for one learner.

1. ``recordEvents`` in batches of 1,000 against a raw motor ``insert_many`` of 1,000 equivalent
   event documents (same indexes, separate collection), interleaved; once as offline syncs (one
   learner per batch) and once with 20 learners mixed in every batch.
1b. 50 concurrent ``recordEvent`` requests for one learner: all must be recorded (group commit).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from typing import Any

from pymongo import InsertOne, ReplaceOne

from domain.events import MAX_BATCH, EventDraft
from domain.learners import LearnerChanges
from persistence.indexes import EVENTS, INDEXES
from resolvers.services import utc_now
from scripts.bench.common import (
    CATALOG_ITEMS,
    QUICK,
    RECORD_EVENT,
    Bench,
    as_documents,
    as_graphql_input,
    ms,
    percentile,
    rate,
    timed,
    verdict,
)

INGEST_BATCHES = 1 if QUICK else 10  # per mode, after one warm-up batch
INGEST_LEARNERS = 20
INGEST_AIMS = {"sync": 0.6, "mixed": 0.5}  # of raw insert_many's rate

CONTENTION_REQUESTS = 50
CONTENTION_ROUNDS = 2 if QUICK else 5

RECORD_EVENTS = """
mutation($inputs: [RecordEventInput!]!) {
  recordEvents(inputs: $inputs) {
    recorded replayed failed
    results { index status error { code field } }
  }
}
"""


# --- 1. batch ingestion -------------------------------------------------------------------------


async def ingestion(bench: Bench) -> dict[str, float]:
    print(
        f"\n1. Batch ingestion: {INGEST_BATCHES} x {MAX_BATCH:,} events per mode, "
        f"{INGEST_LEARNERS} learners, {CATALOG_ITEMS}-item catalog"
    )
    print("   recordEvents runs in-process via schema.execute: GraphQL parsing, validation and")
    print("   input coercion included, HTTP and JSON decoding excluded; raw = motor insert_many of")
    print("   the same documents (event_to_document) into a collection with the same indexes.")
    learners = [f"learner-{n:02d}" for n in range(INGEST_LEARNERS)]
    zones = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
    for n, learner_id in enumerate(learners):
        for tag in ("sync", "mixed"):
            await bench.services.repositories.learners.update(
                LearnerChanges(
                    id=f"{learner_id}-{tag}",
                    display_name=f"Learner {n}",
                    time_zone=zones[n % len(zones)],
                )
            )
    raw = bench.database[f"bench_raw_{EVENTS}"]
    await raw.create_indexes(INDEXES[EVENTS])

    summary: dict[str, float] = {}
    for mode, per_batch in (("offline sync, 1 learner a batch", 1), ("mixed", INGEST_LEARNERS)):
        summary |= await ingest(bench, raw, learners, mode=mode, learners_per_batch=per_batch)
    summary |= await write_costs(bench)
    return summary


WRITE_COST_DOCUMENTS = 500


async def write_costs(bench: Bench) -> dict[str, float]:
    """What the server charges per document written in a transaction: an insert, and a replace
    of a derived document as a unit writes it (by `_id`: the transaction guards it), beside one
    whose filter also names the version read (a search rather than a point lookup). A batch
    writes its events plus one replace per derived document it touches, which bounds the ratios
    above."""
    scratch = bench.database["bench_write_costs"]
    keys = [f"doc-{n:04d}" for n in range(WRITE_COST_DOCUMENTS)]
    document = {"status": "IN_PROGRESS", "events": 1, "bestScore": 0.5, "sessions": ["s1", "s2"]}
    client = bench.services.repositories.database.client

    async def in_transaction(ops: list[Any]) -> float:
        async with await client.start_session() as session:
            session.start_transaction()
            started = time.perf_counter()
            await scratch.bulk_write(ops, ordered=False, session=session)
            seconds = time.perf_counter() - started
            await session.commit_transaction()
        return seconds / len(ops)

    insert = await in_transaction([InsertOne({"_id": k, **document, "v": 1}) for k in keys])
    replace = await in_transaction(
        [ReplaceOne({"_id": k}, {"_id": k, **document, "events": 2, "v": 2}) for k in keys]
    )
    by_version = await in_transaction(
        [ReplaceOne({"_id": k, "v": 2}, {"_id": k, **document, "events": 3, "v": 3}) for k in keys]
    )
    await scratch.drop()
    print(
        f"   server cost per document in a transaction: insert {insert * 1e6:,.0f} us, "
        f"replace by _id {replace * 1e6:,.0f} us ({replace / insert:.1f}x), "
        f"by _id and version {by_version * 1e6:,.0f} us ({by_version / insert:.1f}x)"
    )
    return {
        "server_insert_us": round(insert * 1e6, 1),
        "server_replace_us": round(replace * 1e6, 1),
        "server_versioned_replace_us": round(by_version * 1e6, 1),
    }


async def ingest(
    bench: Bench, raw: Any, learners: list[str], *, mode: str, learners_per_batch: int
) -> dict[str, float]:
    """Each batch covers the next few days of its learners' activity, up to a minute ago."""
    now = utc_now()
    rounds = INGEST_BATCHES + 1  # the first is the warm-up
    days = 3
    tag = "sync" if learners_per_batch == 1 else "mixed"
    batches: list[tuple[list[dict[str, Any]], list[EventDraft]]] = []
    for n in range(rounds):
        end = now - timedelta(days=days * (rounds - 1 - n), minutes=1)
        if learners_per_batch == 1:
            who = [f"{learners[n % len(learners)]}-{tag}"]
        else:
            who = [f"{learner}-{tag}" for learner in learners[:learners_per_batch]]
        drafts = bench.factory.drafts(
            who, MAX_BATCH, start=end - timedelta(days=days), end=end, tag=f"{tag}-{n:02d}"
        )
        batches.append(([as_graphql_input(d) for d in drafts], drafts))

    async def via_graphql(inputs: list[dict[str, Any]]) -> None:
        data = await bench.execute(RECORD_EVENTS, inputs=inputs)
        payload = data["recordEvents"]
        if payload["recorded"] != len(inputs):
            raise RuntimeError(f"recordEvents did not record every event: {payload['failed']}")

    async def via_raw(documents: list[dict[str, Any]]) -> None:
        await raw.insert_many(documents, ordered=True)

    graphql_seconds = raw_seconds = 0.0
    graphql_batches: list[float] = []
    raw_batches: list[float] = []
    for n, (inputs, drafts) in enumerate(batches):
        documents = as_documents(drafts, bench.items, received_at=utc_now())
        # Alternate which goes first, so drift and noise fall on both alike.
        if n % 2:
            raw_time = await timed(via_raw(documents))
            graphql = await timed(via_graphql(inputs))
        else:
            graphql = await timed(via_graphql(inputs))
            raw_time = await timed(via_raw(documents))
        if n == 0:
            continue  # warm-up
        graphql_seconds += graphql
        raw_seconds += raw_time
        graphql_batches.append(graphql)
        raw_batches.append(raw_time)

    events = INGEST_BATCHES * MAX_BATCH
    graphql_rate = events / graphql_seconds
    raw_rate = events / raw_seconds
    ratio = graphql_rate / raw_rate
    print(f"   -- {mode}")
    print(
        f"   recordEvents (GraphQL)  {rate(events, graphql_seconds)}   "
        f"batch median {ms(statistics.median(graphql_batches))}"
    )
    print(
        f"   raw insert_many         {rate(events, raw_seconds)}   "
        f"batch median {ms(statistics.median(raw_batches))}"
    )
    print(
        "   per batch, in order (s): GraphQL "
        + " ".join(f"{t:.1f}" for t in graphql_batches)
        + " | raw "
        + " ".join(f"{t:.1f}" for t in raw_batches)
    )
    aim = INGEST_AIMS[tag]
    print(f"   ratio GraphQL / raw     {ratio:10.2f}   aim >= {aim}: {verdict(ratio >= aim)}")
    return {
        f"ingest_{tag}_graphql_events_per_s": round(graphql_rate),
        f"ingest_{tag}_raw_events_per_s": round(raw_rate),
        f"ingest_{tag}_ratio": round(ratio, 3),
    }


# --- 1b. contention: concurrent requests for one learner ----------------------------------------


async def contention(bench: Bench) -> dict[str, float]:
    print(
        f"\n1b. Contention: {CONTENTION_REQUESTS} concurrent recordEvent requests for one "
        f"learner, {CONTENTION_ROUNDS} rounds (each a fresh learner)"
    )
    latencies: list[float] = []
    failures = 0
    first_error: BaseException | None = None
    now = utc_now()
    runner = bench.services.recorder.runner
    retries_before = runner.unit_retries + runner.commit_retries
    units_before = bench.services.recorder.group_commit.units
    for round_ in range(CONTENTION_ROUNDS):
        learner = f"contended-{round_}"
        drafts = bench.factory.drafts(
            [learner],
            CONTENTION_REQUESTS,
            start=now - timedelta(days=2),
            end=now - timedelta(minutes=1),
            tag=f"contention-{round_}",
        )

        async def one(draft: EventDraft) -> float:
            started = time.perf_counter()
            await bench.execute(RECORD_EVENT, input=as_graphql_input(draft))
            return time.perf_counter() - started

        outcomes = await asyncio.gather(*(one(d) for d in drafts), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                failures += 1
                first_error = first_error or outcome
            else:
                latencies.append(outcome)
    requests = CONTENTION_REQUESTS * CONTENTION_ROUNDS
    units = bench.services.recorder.group_commit.units - units_before
    retries = runner.unit_retries + runner.commit_retries - retries_before
    if len(latencies) < 2:
        raise RuntimeError(f"{failures} of {requests} requests failed, the first: {first_error!r}")
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"   latency p50 {ms(p50)}   p99 {ms(p99)}")
    print(f"   failed {failures} of {requests}   units of work {units}   retries {retries}")
    print(f"   all recorded, none failed: {verdict(failures == 0)}")
    if first_error is not None:
        bench.fail(f"1b: {failures} of {requests} requests failed, the first: {first_error!r}")
    return {
        "contention_requests": requests,
        "contention_failed": failures,
        "contention_p50_ms": round(p50 * 1000, 1),
        "contention_p99_ms": round(p99 * 1000, 1),
        "contention_units": units,
        "contention_retries": retries,
    }
