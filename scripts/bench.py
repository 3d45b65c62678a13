"""Cairn's benchmark: ingestion, read cost against history, commands per request, live unlocks.

    .venv/bin/python scripts/bench.py            (or: make bench)

Everything is measured in one run against a freshly started embedded SecantusDB server in a
temporary folder (removed afterwards), or against ``CAIRN_BENCH_MONGODB_URI`` if set (a database
of its own, dropped afterwards). The GraphQL operations run in-process through
``schema.execute``: parsing, validation and input coercion are included, HTTP is not.

1. Batch ingestion: ``recordEvents`` in batches of 1,000 against a raw motor ``insert_many`` of
   1,000 equivalent event documents (same indexes, separate collection), interleaved; once as
   offline syncs (one learner per batch) and once with 20 learners mixed in every batch.
2. Read cost against history: a learner's analytics and last 30 days of activity, and the
   learner dashboard, for a learner with 1,000 events and one with 100,000.
3. Database commands for one request over 200 learners against the same over 2.
4. Unlock latency, from sending the mutation to receipt by subscribers of the
   ``achievementUnlocked`` subscription (through the change stream), with 1 and with 1,000
   subscribers on this process.

The report ends with a single-line JSON summary.
"""

# ruff: noqa: E402  (the repository root goes on sys.path before the project is imported)
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import strawberry

from domain.achievements import AchievementDefinition, RuleType
from domain.catalog import ContentItem, ContentKind, Difficulty, Skill
from domain.events import MAX_BATCH, EventDraft, EventType, validate_event
from domain.learners import LearnerChanges
from domain.learning import EventOutcome
from domain.progress import ContentProgress, advance
from persistence.database import CommandCounter, Database, create_client, open_database
from persistence.embedded import embedded_mongodb
from persistence.events import event_to_document
from persistence.feed import Feed
from persistence.indexes import EVENTS, INDEXES, ensure_indexes
from persistence.repositories import Repositories
from persistence.topics import TOPICS, UNLOCKS_FEED
from resolvers.gamification import install_default_achievements
from resolvers.recording import Recorder
from schema import build_schema
from schema.context import Services, new_context, utc_now

URI_ENV = "CAIRN_BENCH_MONGODB_URI"
SEED = 20260310

# CAIRN_BENCH_QUICK=1: a smaller run that checks the script works (its figures mean little).
QUICK = os.environ.get("CAIRN_BENCH_QUICK", "") not in ("", "0")
INGEST_BATCHES = 2 if QUICK else 10
INGEST_LEARNERS = 20
CATALOG_ITEMS = 50
LIGHT_EVENTS = 1_000
HEAVY_EVENTS = 10_000 if QUICK else 100_000
HISTORY_DAYS = 365
READ_RUNS = 30
READ_WARMUP = 3
FLEET = 200
FLEET_EVENTS_EACH = 5
COUNT_RUNS = 3

INGEST_AIM = 0.5
READ_AIM = 1.3

RECORD_EVENTS = """
mutation($inputs: [RecordEventInput!]!) {
  recordEvents(inputs: $inputs) {
    recorded replayed failed
    results { index status error { code field } }
  }
}
"""

ANALYTICS_FIELDS = (
    "contentViewed questionsAnswered itemsCompleted averageScore timeSpentHours "
    "completionRate totalEvents"
)

LEARNER_READ = f"""
query($id: String!, $from: Date!, $to: Date!) {{
  learner(id: $id) {{
    analytics {{ {ANALYTICS_FIELDS} }}
    dailyActivity(from: $from, to: $to) {{ date events timeSpentSeconds averageScore }}
  }}
}}
"""

DASHBOARD_READ = """
query($id: String!) {
  learner(id: $id) {
    dashboard {
      overallAnalytics { completionRate averageScore timeSpentHours contentViewed }
      activitySummary { studyStreakDays totalInteractions weeklyAverageMinutes
                        mostActiveCertification }
      certificationProgress { certification completionRate averageScore }
      performanceTrend { date events timeSpentSeconds averageScore }
      recentAchievements { title description badgeIcon points unlockedAt }
      totalPoints
      level { name pointsToNextLevel }
      recommendations { kind message }
    }
  }
}
"""

LEARNERS_READ = f"""
query($ids: [String!]!) {{
  learners(ids: $ids) {{
    analytics {{ {ANALYTICS_FIELDS} }}
    contentProgress(first: 5) {{ edges {{ node {{ contentId status content {{ title }} }} }} }}
    skills {{ skillId mastery }}
    dailyActivity {{ date events }}
  }}
}}
"""

# The mix of a learner's events: (type, weight).
EVENT_MIX = (
    (EventType.VIEWED, 30),
    (EventType.STARTED, 15),
    (EventType.ANSWERED, 45),
    (EventType.COMPLETED, 10),
)


# --- the data -----------------------------------------------------------------------------------


def build_catalog() -> tuple[list[Skill], list[ContentItem]]:
    """Two certifications, a dozen skills, fifty items of mixed kinds and difficulties."""
    domains = {
        "compute": ("ec2", "lambda", "ecs"),
        "storage": ("s3", "ebs", "efs"),
        "network": ("vpc", "route53", "cloudfront"),
        "security": ("iam", "kms", "shield"),
    }
    skills = [
        Skill(id=skill_id, name=skill_id.upper(), domain=domain)
        for domain, ids in domains.items()
        for skill_id in ids
    ]
    skill_ids = [s.id for s in skills]
    kinds = (ContentKind.QUESTION,) * 3 + (
        ContentKind.LESSON,
        ContentKind.QUIZ,
        ContentKind.LAB,
        ContentKind.PRACTICE,
    )
    difficulties = tuple(Difficulty)
    items = []
    for n in range(CATALOG_ITEMS):
        certification = "SAA" if n % 3 else "CCP"
        first = skill_ids[n % len(skill_ids)]
        second = skill_ids[(n * 5 + 1) % len(skill_ids)]
        item_skills = (first,) if n % 4 == 0 or first == second else (first, second)
        items.append(
            ContentItem(
                id=f"{certification.lower()}-{n:03d}",
                title=f"{certification} item {n}: {first.upper()}",
                kind=kinds[n % len(kinds)],
                skill_ids=item_skills,
                category=first.upper(),
                difficulty=difficulties[n % len(difficulties)],
                certification=certification,
                module=next(d for d, ids in domains.items() if first in ids),
                estimated_minutes=5 + (n % 6) * 5,
            )
        )
    return skills, items


@dataclass
class EventFactory:
    """Realistic drafts: a mix of types, scores on answers, sessions, times in the past."""

    items: list[ContentItem]
    rng: random.Random

    def drafts(
        self,
        learner_ids: Sequence[str],
        count: int,
        *,
        start: datetime,
        end: datetime,
        tag: str,
    ) -> list[EventDraft]:
        span = (end - start).total_seconds()
        types = [t for t, _ in EVENT_MIX]
        weights = [w for _, w in EVENT_MIX]
        drafts = []
        for n in range(count):
            learner_id = learner_ids[n % len(learner_ids)]
            occurred_at = start + timedelta(seconds=self.rng.uniform(0, span))
            event_type = self.rng.choices(types, weights)[0]
            item = self.rng.choice(self.items)
            score: float | None = None
            correct: bool | None = None
            if event_type is EventType.ANSWERED:
                score = round(min(1.0, max(0.0, self.rng.gauss(0.72, 0.2))), 3)
                correct = score >= 0.7
            elif event_type is EventType.COMPLETED and self.rng.random() < 0.5:
                score = round(self.rng.uniform(0.5, 1.0), 3)
            drafts.append(
                EventDraft(
                    learner_id=learner_id,
                    event_id=f"{tag}-{n:06d}",
                    type=event_type,
                    content_id=item.id,
                    score=score,
                    correct=correct,
                    time_spent_seconds=round(self.rng.uniform(5, 600), 1),
                    occurred_at=occurred_at,
                    session_id=f"s-{learner_id}-{occurred_at:%Y%m%d}",
                )
            )
        return drafts


def as_graphql_input(draft: EventDraft) -> dict[str, Any]:
    """The JSON variables a client would send for the draft."""
    values: dict[str, Any] = {
        "learnerId": draft.learner_id,
        "eventId": draft.event_id,
        "type": draft.type.name,
        "contentId": draft.content_id,
        "timeSpentSeconds": draft.time_spent_seconds,
        "occurredAt": draft.occurred_at.isoformat() if draft.occurred_at else None,
        "sessionId": draft.session_id,
    }
    if draft.score is not None:
        values["score"] = draft.score
    if draft.correct is not None:
        values["correct"] = draft.correct
    return values


def as_documents(
    drafts: Sequence[EventDraft], items: dict[str, ContentItem], received_at: datetime
) -> list[dict[str, Any]]:
    """What the recorder would store for the drafts, outcome included."""
    documents = []
    for n, draft in enumerate(drafts):
        event = validate_event(
            draft, field_prefix=f"inputs[{n}]", received_at=received_at, known_content=True
        )
        start = ContentProgress(
            draft.learner_id, draft.content_id, items[draft.content_id].certification
        )
        outcome = EventOutcome(progress=advance(start, event))
        documents.append(event_to_document(event, outcome=outcome, received_at=received_at))
    return documents


def chunks(values: Sequence[EventDraft], size: int) -> list[Sequence[EventDraft]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# --- measuring ----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:10,.0f} events/s"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def timed(action: Awaitable[object]) -> float:
    """Seconds to complete `action`, a coroutine that has not started yet."""
    started = time.perf_counter()
    await action
    return time.perf_counter() - started


@dataclass
class Bench:
    services: Services
    schema: strawberry.Schema
    database: Database
    counter: CommandCounter
    factory: EventFactory
    items: dict[str, ContentItem]

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await self.schema.execute(
            query, variable_values=variables, context_value=new_context(self.services)
        )
        if result.errors:
            raise RuntimeError(f"GraphQL errors: {[e.formatted for e in result.errors]}")
        assert result.data is not None
        return result.data

    async def record(self, drafts: Sequence[EventDraft]) -> None:
        """The real write path, without GraphQL: the recorder in batches of 1,000."""
        for batch in chunks(drafts, MAX_BATCH):
            results = await self.services.recorder.record_many(batch, received_at=utc_now())
            failed = [r.error for r in results if r.error is not None]
            if failed:
                raise RuntimeError(f"{len(failed)} events failed, the first: {failed[0]}")


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
    return summary


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
    met = verdict(ratio >= INGEST_AIM)
    print(f"   ratio GraphQL / raw     {ratio:10.2f}   aim >= {INGEST_AIM}: {met}")
    return {
        f"ingest_{tag}_graphql_events_per_s": round(graphql_rate),
        f"ingest_{tag}_raw_events_per_s": round(raw_rate),
        f"ingest_{tag}_ratio": round(ratio, 3),
    }


# --- 1b. contention: concurrent requests for one learner ----------------------------------------

CONTENTION_REQUESTS = 50
CONTENTION_ROUNDS = 2 if QUICK else 5

RECORD_ONE = """
mutation($input: RecordEventInput!) { recordEvent(input: $input) { status } }
"""


async def contention(bench: Bench) -> dict[str, float]:
    print(
        f"\n1b. Contention: {CONTENTION_REQUESTS} concurrent recordEvent requests for one "
        f"learner, {CONTENTION_ROUNDS} rounds (each a fresh learner)"
    )
    latencies: list[float] = []
    failures = 0
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
            await bench.execute(RECORD_ONE, input=as_graphql_input(draft))
            return time.perf_counter() - started

        outcomes = await asyncio.gather(*(one(d) for d in drafts), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                failures += 1
            else:
                latencies.append(outcome)
    requests = CONTENTION_REQUESTS * CONTENTION_ROUNDS
    units = bench.services.recorder.group_commit.units - units_before
    retries = runner.unit_retries + runner.commit_retries - retries_before
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"   latency p50 {ms(p50)}   p99 {ms(p99)}")
    print(f"   failed {failures} of {requests}   units of work {units}   retries {retries}")
    print(f"   all recorded, none failed: {verdict(failures == 0)}")
    return {
        "contention_requests": requests,
        "contention_failed": failures,
        "contention_p50_ms": round(p50 * 1000, 1),
        "contention_p99_ms": round(p99 * 1000, 1),
        "contention_units": units,
        "contention_retries": retries,
    }


# --- 2. read cost against history ---------------------------------------------------------------


async def read_cost(bench: Bench) -> dict[str, float]:
    print(
        f"\n2. Read cost against history: learner analytics + dailyActivity (last 30 days), "
        f"{READ_RUNS} runs each"
    )
    now = utc_now()
    history_start = now - timedelta(days=HISTORY_DAYS)
    recent = now - timedelta(minutes=1)

    light = bench.factory.drafts(
        ["light-1k"], LIGHT_EVENTS, start=history_start, end=recent, tag="light"
    )
    await bench.record(sorted(light, key=lambda d: d.occurred_at or now))

    # The heavy learner's history arrives in order, as 100 syncs of 1,000 events over a year.
    print(f"   loading {HEAVY_EVENTS:,} events for one learner through Recorder.record_many ...")
    slice_days = HISTORY_DAYS / (HEAVY_EVENTS // MAX_BATCH)
    started = time.perf_counter()
    for n in range(HEAVY_EVENTS // MAX_BATCH):
        start = history_start + timedelta(days=slice_days * n)
        end = min(start + timedelta(days=slice_days), recent)
        drafts = bench.factory.drafts(
            ["heavy-100k"], MAX_BATCH, start=start, end=end, tag=f"heavy-{n:03d}"
        )
        await bench.record(drafts)
        loaded = (n + 1) * MAX_BATCH
        if loaded % 10_000 == 0:
            elapsed = time.perf_counter() - started
            print(f"   {loaded:>9,} events  {elapsed:6.1f} s  {rate(loaded, elapsed)}")
    load_seconds = time.perf_counter() - started

    today = now.date()  # both learners follow UTC, created by their first event
    window = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}

    async def read(learner_id: str) -> dict[str, Any]:
        data = await bench.execute(LEARNER_READ, id=learner_id, **window)
        learner: dict[str, Any] = data["learner"]
        return learner

    learners = {"light-1k": LIGHT_EVENTS, "heavy-100k": HEAVY_EVENTS}
    for learner_id, expected in learners.items():
        found = await read(learner_id)
        if found["analytics"]["totalEvents"] != expected or len(found["dailyActivity"]) != 30:
            raise RuntimeError(f"unexpected read for {learner_id}: {found['analytics']}")
        for _ in range(READ_WARMUP):
            await read(learner_id)
    samples: dict[str, list[float]] = {learner_id: [] for learner_id in learners}
    for n in range(READ_RUNS):
        order = list(learners) if n % 2 == 0 else list(reversed(learners))
        for learner_id in order:
            samples[learner_id].append(await timed(read(learner_id)))

    medians = {}
    for learner_id, expected in learners.items():
        found = await read(learner_id)
        in_window = sum(day["events"] for day in found["dailyActivity"])
        medians[learner_id] = statistics.median(samples[learner_id])
        print(
            f"   {expected:>9,} events ({in_window:>5,} in window)   "
            f"median {ms(medians[learner_id])}   p95 {ms(percentile(samples[learner_id], 95))}"
        )
    ratio = medians["heavy-100k"] / medians["light-1k"]
    met = verdict(ratio <= READ_AIM)
    print(f"   ratio of medians 100k / 1k  {ratio:6.2f}   aim <= {READ_AIM}: {met}")

    print(f"   learner dashboard, {READ_RUNS} runs each")

    async def dashboard(learner_id: str) -> None:
        data = await bench.execute(DASHBOARD_READ, id=learner_id)
        if len(data["learner"]["dashboard"]["performanceTrend"]) != 30:
            raise RuntimeError(f"unexpected dashboard for {learner_id}")

    for learner_id in learners:
        for _ in range(READ_WARMUP):
            await dashboard(learner_id)
    boards: dict[str, list[float]] = {learner_id: [] for learner_id in learners}
    for n in range(READ_RUNS):
        order = list(learners) if n % 2 == 0 else list(reversed(learners))
        for learner_id in order:
            boards[learner_id].append(await timed(dashboard(learner_id)))
    board_medians = {key: statistics.median(values) for key, values in boards.items()}
    for learner_id, expected in learners.items():
        print(
            f"   {expected:>9,} events   median {ms(board_medians[learner_id])}   "
            f"p95 {ms(percentile(boards[learner_id], 95))}"
        )
    board_ratio = board_medians["heavy-100k"] / board_medians["light-1k"]
    print(f"   ratio of medians 100k / 1k  {board_ratio:6.2f}")
    print(f"   (loading the 100k took {load_seconds:.1f} s: {rate(HEAVY_EVENTS, load_seconds)})")
    return {
        "dashboard_1k_median_ms": round(board_medians["light-1k"] * 1000, 2),
        "dashboard_100k_median_ms": round(board_medians["heavy-100k"] * 1000, 2),
        "dashboard_ratio": round(board_ratio, 3),
        "read_1k_median_ms": round(medians["light-1k"] * 1000, 2),
        "read_1k_p95_ms": round(percentile(samples["light-1k"], 95) * 1000, 2),
        "read_100k_median_ms": round(medians["heavy-100k"] * 1000, 2),
        "read_100k_p95_ms": round(percentile(samples["heavy-100k"], 95) * 1000, 2),
        "read_ratio": round(ratio, 3),
        "record_many_events_per_s": round(HEAVY_EVENTS / load_seconds),
    }


# --- 3. commands per request --------------------------------------------------------------------


FLEET_IDS = [f"fleet-{n:03d}" for n in range(FLEET)]


async def seed_fleet(bench: Bench) -> None:
    """The learners of section 3, recorded first: a batch over many learners costs more the
    more events are stored (see the report), and this set-up is not what section 3 measures."""
    now = utc_now()
    drafts = bench.factory.drafts(
        FLEET_IDS,
        FLEET * FLEET_EVENTS_EACH,
        start=now - timedelta(days=20),
        end=now - timedelta(minutes=1),
        tag="fleet",
    )
    await bench.record(drafts)


async def commands_per_request(bench: Bench) -> dict[str, float]:
    print(
        f"\n3. Database commands per request: learners(ids) over {FLEET} learners vs 2 "
        f"({FLEET_EVENTS_EACH} events each)"
    )
    fleet = FLEET_IDS
    results: dict[int, tuple[int, float, Counter[str]]] = {}
    for size in (FLEET, 2):
        ids = fleet[:size]
        await bench.execute(LEARNERS_READ, ids=ids)  # warm-up
        counts: list[int] = []
        seconds: list[float] = []
        names: Counter[str] = Counter()
        for _ in range(COUNT_RUNS):
            bench.counter.reset()
            seconds.append(await timed(bench.execute(LEARNERS_READ, ids=ids)))
            counts.append(bench.counter.count)
            names = Counter(bench.counter.names)
        if len(set(counts)) != 1:
            print(f"   note: the count varied across runs over {size} learners: {counts}")
        results[size] = (max(counts), statistics.median(seconds), names)
    for size in (FLEET, 2):
        count, median, names = results[size]
        detail = ", ".join(f"{name} {n}" for name, n in sorted(names.items()))
        print(f"   {size:>3} learners  {count:>3} commands  {ms(median)}   ({detail})")
    return {"commands_200_learners": results[FLEET][0], "commands_2_learners": results[2][0]}


# --- 4. unlock latency --------------------------------------------------------------------------

UNLOCKED = """
subscription($learnerId: String!) {
  achievementUnlocked(learnerId: $learnerId) { key seq title badgeIcon points }
}
"""
RECORD_EVENT = """
mutation($input: RecordEventInput!) { recordEvent(input: $input) { status } }
"""
LATENCY_UNLOCKS = 10 if QUICK else 120  # samples per run: one achievement per completion


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
            context_value=new_context(bench.services),
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
        while feed.subscriber_count(UNLOCKS_FEED, learner_id) < subscribers:  # noqa: ASYNC110
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
            await asyncio.wait_for(everyone.wait(), timeout=60)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return received


# --- the run ------------------------------------------------------------------------------------


@asynccontextmanager
async def server_uri() -> AsyncIterator[tuple[str, str, bool]]:
    """(URI, description, external?): the configured server, else a fresh embedded one."""
    configured = os.environ.get(URI_ENV, "").strip()
    if configured:
        yield configured, URI_ENV, True
        return
    with tempfile.TemporaryDirectory(prefix="cairn-bench-") as folder:
        async with embedded_mongodb(Path(folder) / "db") as uri:
            yield uri, "embedded SecantusDB, fresh temp folder", False


async def run() -> dict[str, float]:
    async with server_uri() as (uri, where, external):
        counter = CommandCounter()
        client = create_client(uri, listeners=[counter])
        name = f"cairn_bench_{uuid.uuid4().hex[:8]}"
        try:
            database = await open_database(client, name)
            await ensure_indexes(database)
            repositories = Repositories.over(database)
            feed = Feed(database, TOPICS)  # started for section 4 only
            services = Services(
                repositories=repositories,
                feed=feed,
                recorder=Recorder(repositories, feed),
                clock=utc_now,
            )
            skills, items = build_catalog()
            await install_default_achievements(repositories)
            await repositories.skills.upsert_many(skills)
            await repositories.content.upsert_many(items)
            bench = Bench(
                services=services,
                schema=build_schema(),
                database=database,
                counter=counter,
                factory=EventFactory(items, random.Random(SEED)),
                items={item.id: item for item in items},
            )
            transactions = "with" if database.supports_transactions else "without"
            print(f"Cairn benchmark: {where}, {transactions} transactions, database {name}")
            summary: dict[str, float] = {}
            started = time.perf_counter()
            await seed_fleet(bench)
            summary |= await ingestion(bench)
            summary |= await contention(bench)
            summary |= await read_cost(bench)
            summary |= await commands_per_request(bench)
            summary |= await unlock_latency(bench)
            summary["total_seconds"] = round(time.perf_counter() - started, 1)
            print(f"\nTotal {summary['total_seconds']:.1f} s")
            return summary
        finally:
            if external:  # an embedded server's folder goes away with it
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.drop_database(name), timeout=30)
            client.close()


async def run_until_stopped() -> dict[str, float]:
    """`run`, cancelled (so it still cleans up after itself) on SIGTERM as on Ctrl-C."""
    task = asyncio.current_task()
    assert task is not None
    if sys.platform != "win32":
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run()


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    try:
        summary = asyncio.run(run_until_stopped())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\nbench: interrupted; the server was stopped and its data removed", file=sys.stderr)
        return 130
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
