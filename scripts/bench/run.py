"""The runner: a server, the service's parts over a fresh database, each measure in turn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from main import Settings, loop_factory, loop_name, settle_heap
from persistence.database import CommandCounter, create_client, open_database
from persistence.embedded import embedded_mongodb
from persistence.feed import Feed
from persistence.indexes import ensure_indexes
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from resolvers.gamification import install_default_achievements
from resolvers.recording import Recorder
from resolvers.services import Services, utc_now
from schema import build_schema
from scripts.bench.commands import commands_per_request, seed_fleet
from scripts.bench.common import SEED, Bench, EventFactory, build_catalog, build_certification
from scripts.bench.dashboards import dashboard_reads
from scripts.bench.ingestion import contention, ingestion
from scripts.bench.leaderboards import leaderboard_reads
from scripts.bench.reads import read_cost
from scripts.bench.unlocks import unlock_latency

BENCH_MAX_QUERY_COST = 50_000  # see `run`

URI_ENV = "CAIRN_BENCH_MONGODB_URI"
# Runs only the sections whose numbers are listed, say "4" or "3,4" (all when unset).
ONLY_ENV = "CAIRN_BENCH_ONLY"

Measure = Callable[[Bench], Awaitable[Mapping[str, float] | None]]

# In order: the fleet of section 3 is recorded first, while the database is small (see there).
SECTIONS: tuple[tuple[str, Measure], ...] = (
    ("3. fleet set-up", seed_fleet),
    ("1. ingestion", ingestion),
    ("1b. contention", contention),
    ("2. reads", read_cost),
    ("3. commands", commands_per_request),
    ("4. unlocks", unlock_latency),
    ("5. leaderboards", leaderboard_reads),
    ("6. dashboards", dashboard_reads),
)


def selected_sections() -> tuple[tuple[str, Measure], ...]:
    wanted = {part.strip() for part in os.environ.get(ONLY_ENV, "").split(",") if part.strip()}
    if not wanted:
        return SECTIONS
    return tuple(s for s in SECTIONS if s[0].split(".")[0].rstrip("b") in wanted)


@asynccontextmanager
async def embedded_server_uri(folder: Path) -> AsyncIterator[str]:
    """The one place the benchmark enters the embedded server: yields the URI to connect to."""
    async with embedded_mongodb(folder) as server:
        yield server.uri


@asynccontextmanager
async def server_uri() -> AsyncIterator[tuple[str, str, bool]]:
    """(URI, description, external?): the configured server, else a fresh embedded one."""
    configured = os.environ.get(URI_ENV, "").strip()
    if configured:
        yield configured, URI_ENV, True
        return
    with tempfile.TemporaryDirectory(prefix="cairn-bench-") as folder:
        async with embedded_server_uri(Path(folder) / "db") as uri:
            yield uri, "embedded SecantusDB, fresh temp folder", False


async def run() -> tuple[dict[str, float], list[str]]:
    """Every measure's figures (the JSON summary) and the failures seen, if any."""
    async with server_uri() as (uri, where, external):
        counter = CommandCounter()
        client = create_client(uri, listeners=[counter])
        name = f"cairn_bench_{uuid.uuid4().hex[:8]}"
        services: Services | None = None
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
            await repositories.certifications.upsert_many([build_certification()])
            bench = Bench(
                services=services,
                # Section 3 reads 200 learners with every list field, which costs 19,600: over
                # the default maximum of 10,000, as a client should be. An operator who serves
                # such pages raises CAIRN_MAX_QUERY_COST, and so does the benchmark.
                schema=build_schema(max_query_cost=BENCH_MAX_QUERY_COST),
                database=database,
                uri=uri,
                counter=counter,
                factory=EventFactory(items, random.Random(SEED)),
                items={item.id: item for item in items},
            )
            settle_heap()  # as the service does once started (see `main.settle_heap`)
            transactions = "with" if database.supports_transactions else "without"
            print(
                f"Cairn benchmark: {where}, {transactions} transactions, database {name}, "
                f"event loop {loop_name()}"
            )
            summary: dict[str, float] = {}
            started = time.perf_counter()
            for section, measure in selected_sections():
                summary |= await run_section(bench, section, measure)
            summary["total_seconds"] = round(time.perf_counter() - started, 1)
            print(f"\nTotal {summary['total_seconds']:.1f} s")
            return summary, bench.failures
        finally:
            if services is not None:
                await services.projector.stop()  # no transaction left open on the server
            if external:  # an embedded server's folder goes away with it
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.drop_database(name), timeout=30)
            client.close()


async def run_section(bench: Bench, section: str, measure: Measure) -> Mapping[str, float]:
    """The measure's figures; a measure that raises is a failure, and the run goes on."""
    started = time.perf_counter()
    try:
        figures = await measure(bench) or {}
    except Exception as error:
        print(f"   FAILED: {section}: {error!r} (traceback on stderr)")
        traceback.print_exc()
        bench.failures.append(f"{section}: {error!r}")
        figures = {}
    print(f"   [{section}: {time.perf_counter() - started:.1f} s]")
    return figures


async def run_until_stopped() -> tuple[dict[str, float], list[str]]:
    """`run`, cancelled (so it still cleans up after itself) on SIGTERM as on Ctrl-C."""
    task = asyncio.current_task()
    assert task is not None
    if sys.platform != "win32":
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run()


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    # The loop `serve` runs on (CAIRN_EVENT_LOOP): section 4 serves the service in this process.
    factory = loop_factory(Settings(_env_file=None).event_loop)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            summary, failures = runner.run(run_until_stopped())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\nbench: interrupted; the server was stopped and its data removed", file=sys.stderr)
        return 130
    print(json.dumps(summary, separators=(",", ":")))
    if failures:
        print(f"bench: {len(failures)} failure(s):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0
