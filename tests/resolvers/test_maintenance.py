"""Weekly rollups and the dashboards' aggregates for a database from before them are built
from the derived documents it has."""

from __future__ import annotations

from datetime import date, timedelta

from domain.aggregates import HOUR
from persistence.indexes import (
    AGGREGATE_CHANGES,
    STANDING,
    SYSTEM_AGGREGATES,
    WEEKLY,
    WEEKLY_BREAKDOWNS,
)
from persistence.repositories import Repositories
from resolvers.aggregation import Aggregation
from resolvers.catalog import upsert_content, upsert_skills
from resolvers.maintenance import backfill_weekly_rollups, prepare_dashboards
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill

SPAN = (date(2026, 2, 1), date(2026, 3, 31))


async def recorded_weeks(repositories: Repositories, recorder: Recorder) -> None:
    await upsert_skills(admin(repositories), repositories, [skill()])
    await upsert_content(
        admin(repositories),
        repositories,
        [content_item(), content_item(id="saa-s3-1", category="S3", difficulty=None)],
    )
    drafts = [
        draft(
            learner_id=learner,
            content_id="saa-ec2-1" if n % 2 else "saa-s3-1",
            occurred_at=NOW - timedelta(days=n, hours=n % 5),
        )
        for learner in ("ada", "grace")
        for n in range(20)
    ]
    await recorder.record_many(drafts, received_at=NOW)


async def test_the_backfill_rebuilds_the_weekly_rollups_recording_keeps(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorded_weeks(repositories, recorder)
    kept = await repositories.weeks.between(["ada", "grace"], *SPAN)
    assert kept["ada"] and kept["grace"]
    database = repositories.database
    await database[WEEKLY].delete_many({})
    await database[WEEKLY_BREAKDOWNS].delete_many({})

    written = await backfill_weekly_rollups(repositories)

    assert written == len(kept["ada"]) + len(kept["grace"])
    assert await repositories.weeks.between(["ada", "grace"], *SPAN) == kept


async def test_the_backfill_does_nothing_once_weekly_rollups_exist(
    repositories: Repositories, recorder: Recorder
) -> None:
    assert await backfill_weekly_rollups(repositories) == 0  # nothing at all yet
    await recorded_weeks(repositories, recorder)

    assert await backfill_weekly_rollups(repositories) == 0


async def test_the_dashboards_are_built_once_for_a_database_from_before_them(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorded_weeks(repositories, recorder)
    await recorder.aggregation.projector.drain()
    kept = await repositories.dashboards.system_counters()
    for name in (STANDING, AGGREGATE_CHANGES, SYSTEM_AGGREGATES):
        await repositories.database[name].delete_many({})
    aggregation = Aggregation(repositories, recorder.runner)

    await prepare_dashboards(aggregation, now=NOW, pass_threshold=0.7)
    await aggregation.projector.stop()

    rebuilt = await repositories.dashboards.system_counters()
    assert {t: f for t, f in rebuilt.items() if t[0] != HOUR} == {
        t: f for t, f in kept.items() if t[0] != HOUR
    }
    assert await repositories.dashboards.backfilled()
    assert await aggregation.backfill(now=NOW, pass_threshold=0.7) == 0
