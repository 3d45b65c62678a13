"""Section 5: a leaderboard read against the size of the board.

The GraphQL leaderboard query (the top 10, the viewer's own row and rank, two neighbours either
side) as a learner in the middle of a 10,000-learner group's board and of a 100-learner group's,
this week's board and all time. The counts kept on write make a rank a sum and cut each read to
the rows asked for, so the two should cost about the same.

The boards are seeded as an older database would be brought up to date: points straight into the
ledger (one entry this week, one a month ago, multiples of 5 as event points are, so ties are
large: some 80 learners share each weekly total on the big board), learners and memberships
inserted, then the entries and counts built from the ledger by the start-up backfill's own
`rebuild`.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta
from typing import Any

from domain.access import Role, Viewer
from domain.leaderboards import Standing, week_starting
from persistence.indexes import GROUPS, LEARNERS, MEMBERSHIPS, POINTS
from resolvers.services import utc_now
from schema.context import new_context
from scripts.bench.common import QUICK, SEED, Bench, ms, percentile, timed, verdict

# Quick: boards of 500 and 100 (building 10,000 takes a minute); the JSON keys keep their names.
BIG = 500 if QUICK else 10_000
SMALL = 100
RUNS = 6 if QUICK else 60
WARMUP = 3
AIM = 1.5
REBUILD_CHUNK = 2_500

BOARD = """
query($groupId: String!, $period: LeaderboardPeriod!, $week: Date) {
  leaderboard(groupId: $groupId, period: $period, week: $week) {
    size
    top { rank points displayName learnerId isViewer }
    viewerRow { rank points displayName }
    neighbours { rank points displayName learnerId isViewer }
  }
}
"""


async def leaderboard_reads(bench: Bench) -> dict[str, float]:
    print(
        f"\n5. Leaderboard read (top 10, own rank, 2 neighbours either side) as the learner in "
        f"the middle of a {BIG:,}- and a {SMALL:,}-learner group, {RUNS} runs each"
    )
    now = utc_now()
    rng = random.Random(SEED)
    started = time.perf_counter()
    middles: dict[str, dict[str, str]] = {}
    for size in (BIG, SMALL):
        middles[_group(size)] = await _seed(bench, size, rng, now=now)
    print(f"   seeded both boards in {time.perf_counter() - started:.1f} s")

    week = week_starting(now).isoformat()
    figures: dict[str, float] = {}
    for period in ("WEEK", "ALL_TIME"):
        medians: dict[int, float] = {}
        samples: dict[int, list[float]] = {BIG: [], SMALL: []}

        async def read(size: int, period: str = period) -> None:
            group = _group(size)
            viewer = Viewer(middles[group][period], frozenset({Role.LEARNER}))
            variables = {"groupId": group, "period": period, "week": None}
            if period == "WEEK":
                variables["week"] = week
            result = await bench.schema.execute(
                BOARD, variable_values=variables, context_value=new_context(bench.services, viewer)
            )
            if result.errors or result.data is None:
                raise RuntimeError(f"GraphQL errors: {[e.formatted for e in result.errors or []]}")
            _check(result.data["leaderboard"], size)

        for size in (BIG, SMALL):
            for _ in range(WARMUP):
                await read(size)
        for n in range(RUNS):
            for size in (BIG, SMALL) if n % 2 == 0 else (SMALL, BIG):
                samples[size].append(await timed(read(size)))
        for size in (BIG, SMALL):
            medians[size] = statistics.median(samples[size])
            print(
                f"   {period:<8} {size:>6,} learners   median {ms(medians[size])}   "
                f"p95 {ms(percentile(samples[size], 95))}"
            )
        ratio = medians[BIG] / medians[SMALL]
        print(
            f"   {period:<8} ratio {BIG:,} / {SMALL:,}  {ratio:5.2f}   aim <= {AIM}: "
            f"{verdict(ratio <= AIM)}"
        )
        prefix = "leaderboard" if period == "WEEK" else "leaderboard_all_time"
        figures |= {
            f"{prefix}_10000_ms": round(medians[BIG] * 1000, 2),
            f"{prefix}_100_ms": round(medians[SMALL] * 1000, 2),
            f"{prefix}_ratio": round(ratio, 3),
        }
    return figures


def _group(size: int) -> str:
    return f"board-{size}"


def _check(board: dict[str, Any], size: int) -> None:
    """The read is what it should be: the whole board counted, the viewer halfway down."""
    viewer_row = board["viewerRow"]
    if board["size"] != size or len(board["top"]) != 10 or viewer_row is None:
        raise RuntimeError(f"unexpected board of {size}: {board}")
    if not size // 3 < viewer_row["rank"] <= size // 2 + 1 or len(board["neighbours"]) != 5:
        raise RuntimeError(f"the viewer is not in the middle of the board of {size}: {board}")


async def _seed(bench: Bench, size: int, rng: random.Random, *, now: Any) -> dict[str, str]:
    """A group of `size` learners with points this week and a month ago; returns the learner in
    the middle of each board (WEEK, ALL_TIME)."""
    database, group = bench.database, _group(size)
    learners, members, ledger = [], [], []
    points: dict[str, list[Standing]] = {"WEEK": [], "ALL_TIME": []}
    earlier = now - timedelta(days=30)
    for n in range(size):
        learner_id = f"{group}-{n:05d}"
        this_week, before = 5 * rng.randint(1, 120), 5 * rng.randint(0, 400)
        learners.append({"_id": learner_id, "displayName": f"Learner {n}", "timeZone": "UTC"})
        members.append(
            {
                "_id": f"{group}|{learner_id}",
                "groupId": group,
                "learnerId": learner_id,
                "addedBy": "bench",
                "addedAt": now,
            }
        )
        for amount, at in ((this_week, now), (before, earlier)):
            if amount:
                ledger.append(
                    {
                        "learnerId": learner_id,
                        "amount": amount,
                        "reason": "bench",
                        "source": "manual",
                        "reference": "bench",
                        "at": at,
                        "recordedAt": now,
                    }
                )
        points["WEEK"].append(Standing(learner_id, this_week))
        points["ALL_TIME"].append(Standing(learner_id, this_week + before))
    group_doc = {"_id": group, "name": group, "educatorIds": ["bench-educator"], "createdAt": now}
    await database[GROUPS].insert_one(group_doc)
    for name, documents in ((LEARNERS, learners), (MEMBERSHIPS, members), (POINTS, ledger)):
        for start in range(0, len(documents), 5_000):
            await database[name].insert_many(documents[start : start + 5_000], ordered=False)
    started = time.perf_counter()
    ids = [doc["_id"] for doc in learners]
    for start in range(0, len(ids), REBUILD_CHUNK):
        await bench.services.repositories.leaderboards.rebuild(
            ids[start : start + REBUILD_CHUNK], None
        )
    print(
        f"   {size:>6,} learners: entries and counts built in {time.perf_counter() - started:.1f} s"
    )
    return {
        period: sorted(rows, key=lambda s: s.order)[size // 2].learner_id
        for period, rows in points.items()
    }
