"""Maintenance: derived documents a new version of Cairn keeps, built from the ones it had."""

from __future__ import annotations

import functools
import logging
from datetime import date, datetime

from domain.activity import DailyRollup, merge_rollups, week_of
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
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


REBUILD_CHUNK = 200  # learners rebuilt per transaction


async def backfill_leaderboards(
    repos: Repositories, runner: TransactionRunner, *, now: datetime
) -> int:
    """Builds every learner's leaderboard entries from the points ledger, once (a database from
    before leaderboards); returns the entries written. Recording keeps them from then on.

    Each chunk of learners is recomputed in a transaction of its own, and recomputing is
    idempotent: a build cut short is finished by the next start (it is marked done only at the
    end), and writers running meanwhile are safe."""
    if await repos.leaderboards.is_built():
        return 0
    learner_ids = await repos.leaderboards.learner_ids()
    written = 0
    for start in range(0, len(learner_ids), REBUILD_CHUNK):
        chunk = learner_ids[start : start + REBUILD_CHUNK]
        written += await runner.run(functools.partial(_rebuild, repos, chunk))
    await repos.leaderboards.mark_built(now=now)
    log.info("built %d leaderboard entries from the points ledger", written)
    return written


async def _rebuild(repos: Repositories, learner_ids: list[str], unit: UnitOfWork) -> int:
    return await repos.leaderboards.rebuild(learner_ids, unit.session)


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
