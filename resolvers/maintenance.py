"""Maintenance: derived documents a new version of Cairn keeps, built from the ones it had."""

from __future__ import annotations

import logging
from datetime import date, datetime

from domain.activity import DailyRollup, merge_rollups, week_of
from persistence.repositories import Repositories
from resolvers.aggregation import Aggregation

log = logging.getLogger("cairn.maintenance")


async def backfill_weekly_rollups(repos: Repositories) -> int:
    """Builds the weekly rollups from the daily ones when there are daily rollups and no weekly
    rollup at all (a database from before weekly rollups); returns the weeks written.

    Once any weekly rollup exists, recording keeps them, so this does nothing."""
    if not await repos.weeks.is_empty() or await repos.activity.is_empty():
        return 0
    written = 0
    for learner_id in await repos.activity.learner_ids():
        days = (await repos.activity.between([learner_id], date.min, date.max))[learner_id]
        weeks: dict[date, DailyRollup] = {}
        for day in days:
            monday = week_of(day.day)
            weeks[monday] = merge_rollups(weeks.get(monday) or DailyRollup(learner_id, monday), day)
        await repos.weeks.save([(week, None) for week in weeks.values()], session=None)
        written += len(weeks)
    log.info("built %d weekly rollups from the daily ones", written)
    return written


async def prepare_dashboards(
    aggregation: Aggregation, *, now: datetime, pass_threshold: float
) -> None:
    """At start-up: builds the dashboards' aggregates for a database written before them (once;
    `Aggregation.backfill`), brings them in line with group memberships a process that died
    changed without following, then starts the projector (which first applies the changes an
    earlier run left pending)."""
    await aggregation.backfill(now=now, pass_threshold=pass_threshold)
    await aggregation.reconcile()
    await aggregation.projector.start()
