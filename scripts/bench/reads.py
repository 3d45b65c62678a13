"""Section 2: read cost against history.

A learner's analytics and last 30 days of activity, and the learner dashboard, for a learner
with 1,000 events and one with 100,000: both read a bounded set of derived documents, so the
medians should stay close.
"""

from __future__ import annotations

import secrets
import statistics
import time
from datetime import timedelta
from typing import Any

from domain.access import Role
from domain.events import MAX_BATCH
from domain.groups import GroupChanges
from resolvers.access import Access
from resolvers.groups import add_members, upsert_group
from resolvers.services import utc_now
from schema import build_schema
from schema.context import Context, new_context
from schema.ratelimit import RateLimiter
from schema.tokens import TokenSettings, TokenVerifier, issue_token
from scripts.bench.common import (
    ANALYTICS_FIELDS,
    BENCH_VIEWER,
    QUICK,
    Bench,
    ms,
    percentile,
    rate,
    timed,
    verdict,
)

LIGHT_EVENTS = 1_000
HEAVY_EVENTS = 5_000 if QUICK else 100_000  # the JSON keys say 100k all the same
HISTORY_DAYS = 365
READ_RUNS = 10 if QUICK else 30
READ_WARMUP = 3
READ_AIM = 1.3

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


# Readiness, a year of weekly trends and the chart data: each read by the 1k and the 100k
# learner; derived documents only, so the ratio stays near 1.
ANALYTICS_AIM = 1.1
AIMED = ("readiness", "trends", "charts")
NOT_AIMED = {
    "trends_breakdowns": "(a larger answer: more categories a week)",
    "patterns": "(more active hours a day to read)",
}
ANALYTICS_READS = {
    "readiness": """
query($id: String!) {
  learner(id: $id) {
    readiness(certification: "SAA") {
      readinessScore predictedPassProbability estimatedStudyHoursLeft confidenceLevel
      weakAreas { domainId mastery } strongAreas { domainId mastery }
      domains { domainId mastery correctChance }
      recommendedActions { kind message contentId estimatedMinutes }
    }
  }
}
""",
    "trends": """
query($id: String!, $yearAgo: Date!, $today: Date!) {
  learner(id: $id) {
    trends(period: WEEK, from: $yearAgo, to: $today) {
      label events timeSpentSeconds completions averageScore activeDays
      byCertification { key events }
    }
  }
}
""",
    # The same with every breakdown: its answer grows with how many categories a learner's
    # weeks touch (a busy learner's touch them all), not with the history behind them.
    "trends_breakdowns": """
query($id: String!, $yearAgo: Date!, $today: Date!) {
  learner(id: $id) {
    trends(period: WEEK, from: $yearAgo, to: $today) {
      label events completions averageScore activeDays
      byCategory { key events } byDifficulty { key events } byCertification { key events }
    }
  }
}
""",
    # The issue's chart data: the target line, the domain radar and the 90-day heatmap.
    "charts": """
query($id: String!, $target: Date!) {
  learner(id: $id) {
    heatmap { day minutes band }
    progressAgainstTarget(goal: 50, targetDate: $target) { day completed target }
    readiness(certification: "SAA") { domains { domainId mastery } }
  }
}
""",
    # Hour-of-day patterns read each day's hours: their cost follows how many hours of the last
    # 28 days hold activity, not the history behind them.
    "patterns": """
query($id: String!) {
  learner(id: $id) {
    learningPatterns { peakHours peakWeekdays activeShare regularity sessions suggestions }
  }
}
""",
}

# The heaviest kind of read the default cost limit allows: a year of days, each by hour.
HEAVIEST_READ = """
query($id: String!, $from: Date!, $to: Date!) {
  learner(id: $id) {
    dailyActivity(from: $from, to: $to) { date events byHour { key events timeSpentSeconds } }
  }
}
"""


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
    overhead = await _cost_analysis_overhead(bench, "light-1k")
    print(
        "   as served (token verified, educator's access checked, cost analysed and charged) "
        f"vs none of it: median ratio {overhead:6.3f}"
    )
    analytics = {}
    for name, query in ANALYTICS_READS.items():
        light_ms, heavy_ms = await _compare(bench, query, learners)
        analytics[name] = (light_ms, heavy_ms)
        aim = f"aim <= {ANALYTICS_AIM}: {verdict(heavy_ms / light_ms <= ANALYTICS_AIM)}"
        print(
            f"   {name:<17} 1k {ms(light_ms)}   100k {ms(heavy_ms)}   "
            f"ratio {heavy_ms / light_ms:5.2f}   " + (aim if name in AIMED else NOT_AIMED[name])
        )
    heaviest_cost, heaviest = await _heaviest_allowed(bench, "heavy-100k")
    print(
        f"   the heaviest allowed read (a year of days by hour, cost {heaviest_cost:,}): "
        f"median {ms(heaviest)}"
    )
    print(f"   (loading the 100k took {load_seconds:.1f} s: {rate(HEAVY_EVENTS, load_seconds)})")
    return {
        "dashboard_1k_median_ms": round(board_medians["light-1k"] * 1000, 2),
        "dashboard_100k_median_ms": round(board_medians["heavy-100k"] * 1000, 2),
        "dashboard_ratio": round(board_ratio, 3),
        "dashboard_auth_and_cost_ratio": round(overhead, 3),
        "heaviest_allowed_cost": heaviest_cost,
        "heaviest_allowed_median_ms": round(heaviest * 1000, 2),
        "read_1k_median_ms": round(medians["light-1k"] * 1000, 2),
        "read_1k_p95_ms": round(percentile(samples["light-1k"], 95) * 1000, 2),
        "read_100k_median_ms": round(medians["heavy-100k"] * 1000, 2),
        "read_100k_p95_ms": round(percentile(samples["heavy-100k"], 95) * 1000, 2),
        "read_ratio": round(ratio, 3),
        "record_many_events_per_s": round(HEAVY_EVENTS / load_seconds),
        **{f"{name}_ratio": round(heavy / light, 3) for name, (light, heavy) in analytics.items()},
        **{
            f"{name}_100k_median_ms": round(heavy * 1000, 2)
            for name, (_, heavy) in analytics.items()
        },
    }


async def _compare(bench: Bench, query: str, learners: dict[str, int]) -> tuple[float, float]:
    """Median seconds of `query` for the 1k learner and for the 100k learner, interleaved."""
    today = utc_now().date()
    variables = {
        "yearAgo": (today - timedelta(days=364)).isoformat(),
        "today": today.isoformat(),
        "target": (today + timedelta(days=60)).isoformat(),
    }

    async def read(learner_id: str) -> None:
        await bench.execute(query, id=learner_id, **variables)

    for learner_id in learners:
        for _ in range(READ_WARMUP):
            await read(learner_id)
    samples: dict[str, list[float]] = {learner_id: [] for learner_id in learners}
    for n in range(READ_RUNS):
        for learner_id in list(learners) if n % 2 == 0 else list(reversed(learners)):
            samples[learner_id].append(await timed(read(learner_id)))
    return statistics.median(samples["light-1k"]), statistics.median(samples["heavy-100k"])


async def _heaviest_allowed(bench: Bench, learner_id: str) -> tuple[int, float]:
    """The cost the service computes for `HEAVIEST_READ`, and its median time."""
    today = utc_now().date()
    variables = {
        "id": learner_id,
        "from": (today - timedelta(days=365)).isoformat(),
        "to": today.isoformat(),
    }
    schema = build_schema()
    costs: list[int] = []

    async def run() -> None:
        result = await schema.execute(
            HEAVIEST_READ,
            variable_values=variables,
            context_value=new_context(bench.services, BENCH_VIEWER),
        )
        if result.errors:
            raise RuntimeError(f"GraphQL errors: {[e.formatted for e in result.errors]}")
        assert result.extensions is not None
        costs.append(result.extensions["cost"]["requested"])

    await run()
    samples = [await timed(run()) for _ in range(max(3, READ_RUNS // 3))]
    return costs[0], statistics.median(samples)


async def _cost_analysis_overhead(bench: Bench, learner_id: str) -> float:
    """The dashboard query's median time as the service runs it, over its median with neither
    authentication, access rules nor cost analysis, runs interleaved.

    "on": the request's bearer token is verified, the viewer is an educator whose access to the
    learner is decided by group membership (the dearest rule: two relationship reads), the
    operation is costed and charged to a rate-limit bucket. "off": a viewer that reads
    everything, no token, no costing."""
    educator, group = "bench-educator", "bench-group"
    access = Access.system(bench.services.repositories)
    changes = GroupChanges(group, name="Bench group", educator_ids=frozenset({educator}))
    await upsert_group(access, bench.services.repositories, changes, now=utc_now())
    await add_members(access, bench.services.repositories, group, [learner_id], now=utc_now())
    secret = secrets.token_urlsafe(32)
    tokens = TokenVerifier(TokenSettings(secret=secret))
    authorization = "Bearer " + issue_token(
        secret, subject=educator, roles=[Role.EDUCATOR], ttl_seconds=3600
    )
    schemas = {
        "on": build_schema(rate_limiter=RateLimiter()),
        "off": build_schema(analyse_cost=False),
    }
    samples: dict[str, list[float]] = {"on": [], "off": []}

    async def context(which: str) -> Context:
        if which == "off":
            return new_context(bench.services, BENCH_VIEWER)
        return new_context(bench.services, await tokens.viewer_for(authorization))

    async def run(which: str) -> None:
        result = await schemas[which].execute(
            DASHBOARD_READ,
            variable_values={"id": learner_id},
            context_value=await context(which),
        )
        if result.errors:
            raise RuntimeError(f"GraphQL errors: {[e.formatted for e in result.errors]}")

    for which in ("on", "off"):
        for _ in range(READ_WARMUP):
            await run(which)
    for n in range(READ_RUNS):
        for which in ("on", "off") if n % 2 == 0 else ("off", "on"):
            samples[which].append(await timed(run(which)))
    return statistics.median(samples["on"]) / statistics.median(samples["off"])
