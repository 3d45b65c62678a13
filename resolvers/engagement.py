"""Engagement use cases: weekly goals and their history, and streak freezes granted."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from domain.activity import local_time, week_of
from domain.catalog import check_id, check_text
from domain.errors import IdempotencyConflict, InvalidInput, NotFound
from domain.goals import GoalKind, GoalWeek, WeeklyGoal, check_target, goal_week, with_goal
from domain.learners import Learner
from domain.streaks import MAX_FREEZES, FreezeGrant, granted
from domain.totals import LearnerTotals
from persistence.loaders import ActivityKey, Loaders
from persistence.repositories import Repositories
from persistence.unit_of_work import UnitOfWork
from resolvers.access import Access
from resolvers.aggregation import Aggregation

MAX_HISTORY_WEEKS = 104


async def set_weekly_goal(
    access: Access,
    repos: Repositories,
    *,
    learner_id: str,
    kind: GoalKind,
    target: int,
    now: datetime,
) -> WeeklyGoal:
    """Sets the learner's goal from their current local week on; earlier weeks keep theirs.

    The learner, their educators and admins may; setting the same goal again changes nothing
    but its author and time, so a retry is safe."""
    await access.require_coach(learner_id)
    check_target(kind, target)
    learners = await repos.learners.find_by_ids([learner_id])
    learner = learners.get(learner_id)
    if learner is None:
        raise NotFound("learner", learner_id, field="learnerId")
    monday = week_of(local_time(now, learner.time_zone).day)
    goal = WeeklyGoal(kind=kind, target=target, week=monday, set_by=access.viewer_id, set_at=now)
    await repos.goals.update(learner_id, lambda goals: with_goal(goals, goal))
    return goal


async def goal_weeks(
    access: Access, loaders: Loaders, learner: Learner, *, now: datetime, weeks: int
) -> list[GoalWeek]:
    """The learner's last `weeks` weeks against their goals, this week first."""
    await access.require_read(learner.id)
    if not 1 <= weeks <= MAX_HISTORY_WEEKS:
        raise InvalidInput("weeks", f"must be between 1 and {MAX_HISTORY_WEEKS}")
    goals = await loaders.goals.load(learner.id)
    this_week = week_of(local_time(now, learner.time_zone).day)
    first = this_week - timedelta(weeks=weeks - 1)
    rollups = await loaders.weeks.load(ActivityKey(learner.id, first, this_week, detail=False))
    by_week = {rollup.day: rollup for rollup in rollups}
    return [
        goal_week(
            goals, this_week - timedelta(weeks=n), by_week.get(this_week - timedelta(weeks=n))
        )
        for n in range(weeks)
    ]


async def grant_freezes(
    access: Access,
    aggregation: Aggregation,
    *,
    learner_id: str,
    grant_id: str,
    count: int,
    reason: str,
    now: datetime,
) -> tuple[FreezeGrant, bool]:
    """Gives a learner streak freezes, up to MAX_FREEZES held; the grant and whether it was
    a replay. `grant_id` is the client's idempotency key: the same grant again returns its
    first outcome, another under the same id is a conflict."""
    await access.require_grant_freezes(learner_id)
    check_id(grant_id, "grantId")
    if not 1 <= count <= MAX_FREEZES:
        raise InvalidInput("count", f"must be between 1 and {MAX_FREEZES}")
    reason = check_text(reason, "reason")
    granted_by = access.viewer_id

    async def work(unit: UnitOfWork) -> tuple[FreezeGrant, bool]:
        earlier = await unit.freeze_grant(learner_id, grant_id)
        if earlier is not None:
            if (earlier.requested, earlier.reason) != (count, reason):
                raise IdempotencyConflict("grantId", grant_id, what="grant id")
            return earlier, True
        learners = await unit.learners([learner_id])
        if not learners:
            raise NotFound("learner", learner_id, field="learnerId")
        totals = (await unit.totals.get_many([learner_id])).get(learner_id)
        totals = totals or LearnerTotals(learner_id)
        given = granted(totals.freezes_held, count)
        updated = replace(totals, freezes_held=totals.freezes_held + given)
        grant = FreezeGrant(
            learner_id=learner_id,
            grant_id=grant_id,
            requested=count,
            granted=given,
            held=updated.freezes_held,
            reason=reason,
            granted_by=granted_by,
            at=now,
        )
        unit.totals.put(updated)
        unit.add_freeze_grant(grant)
        # A held freeze can keep a streak alive: the educators' at-risk lists follow.
        await aggregation.reschedule(unit, updated, learners[learner_id].time_zone)
        return grant, False

    return await aggregation.runner.run(work)
