"""Section 3: database commands for one request over 200 learners against the same over 2.

The loaders batch every lookup of a request, so the count should not grow with the learners.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta

from resolvers.services import utc_now
from scripts.bench.common import ANALYTICS_FIELDS, QUICK, Bench, ms, timed

FLEET = 200
FLEET_EVENTS_EACH = 2 if QUICK else 5
COUNT_RUNS = 1 if QUICK else 3

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
