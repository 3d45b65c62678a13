"""Demo data: an AWS certification catalog, four learners and weeks of their study.

`seed_demo` gives a fresh database something for every query, dashboard and analytics view to
show. It goes through the same use cases as real clients (catalog upserts, learner upsert,
`Recorder.record_many`), so the derived state it leaves is exactly what real events produce.

It is deterministic and idempotent: the events are a function of `now`, `weeks` and `seed`, and
each carries a fixed id, so a second run with the same arguments replays every event and stores
nothing new. The generation is anchored to the learners' local calendar days, not to the exact
instant: a later run on the same day produces the same events, plus the ones whose time has come
since. A run on another day (or with another seed) tells another story: its events would clash
with the stored ones (the same ids, other payloads), so `seed_demo` raises `DemoSeedError` before
storing any of them rather than mix the two.

The package: `catalog.json` (the skills and modules, read and checked by `catalog`), `learners`
(who studies and how), `simulator` (their weeks, played into events) and `seed` (the use case).
"""

from resolvers.demo.catalog import CCP, CONTENT, SAA, SKILLS, DemoCatalogError
from resolvers.demo.learners import PROFILES, DemoLearner, StudyHabit
from resolvers.demo.seed import DemoSeedError, DemoSummary, seed_demo
from resolvers.demo.simulator import demo_events

__all__ = [
    "CCP",
    "CONTENT",
    "PROFILES",
    "SAA",
    "SKILLS",
    "DemoCatalogError",
    "DemoLearner",
    "DemoSeedError",
    "DemoSummary",
    "StudyHabit",
    "demo_events",
    "seed_demo",
]
