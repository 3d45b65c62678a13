"""The parent dashboard: each child's week in one query, from per-learner derived documents.

Its cost does not grow with history: for each child it reads the totals, the week's rollup, the
last two weeks of daily rollups (for the at-risk rules), the goal settings, the unlocks and the
skill states, each batched across the children.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.access import Forbidden, Role
from domain.activity import local_time, week_of
from domain.errors import InvalidInput
from domain.family import ChildWeek, child_week, weak_skills
from domain.goals import goal_week
from domain.learners import Learner
from domain.risk import RiskSettings
from domain.totals import LearnerTotals
from persistence.loaders import ActivityKey, Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.analytics import at_risk
from resolvers.gamification import GamificationSettings, streak_of
from resolvers.groups import children

MAX_WEEKS_AGO = 52


@dataclass(frozen=True, slots=True)
class ParentDashboard:
    parent_id: str
    generated_at: datetime
    children: list[tuple[Learner, ChildWeek]]


async def parent_dashboard(
    access: Access,
    loaders: Loaders,
    repos: Repositories,
    *,
    now: datetime,
    weeks_ago: int,
    gamification: GamificationSettings,
    risk: RiskSettings,
) -> ParentDashboard:
    """Each of the viewer's children's week (this week, or `weeks_ago` weeks back)."""
    viewer = access.require_viewer()
    if not viewer.has(Role.PARENT):
        raise Forbidden("see a parent dashboard (parents only)")
    if not 0 <= weeks_ago <= MAX_WEEKS_AGO:
        raise InvalidInput("weeksAgo", f"must be between 0 and {MAX_WEEKS_AGO}")
    kids = await children(access, loaders)
    weeks = await asyncio.gather(
        *(
            week_of_child(
                access,
                loaders,
                repos,
                kid,
                now=now,
                weeks_ago=weeks_ago,
                gamification=gamification,
                risk=risk,
            )
            for kid in kids
        )
    )
    return ParentDashboard(
        parent_id=access.viewer_id, generated_at=now, children=list(zip(kids, weeks, strict=True))
    )


async def week_of_child(
    access: Access,
    loaders: Loaders,
    repos: Repositories,
    learner: Learner,
    *,
    now: datetime,
    weeks_ago: int = 0,
    gamification: GamificationSettings,
    risk: RiskSettings,
) -> ChildWeek:
    await access.require_read(learner.id)
    today = local_time(now, learner.time_zone).day
    monday = week_of(today) - timedelta(weeks=weeks_ago)
    totals_read = loaders.totals.load(learner.id)
    goals_read = loaders.goals.load(learner.id)
    week_read = loaders.weeks.load(ActivityKey(learner.id, monday, monday, detail=False))
    unlocks_read = loaders.unlocks.load(learner.id)
    states_read = loaders.skill_states.load(learner.id)
    totals, goals, week_rows, unlocks, states = await asyncio.gather(
        totals_read, goals_read, week_read, unlocks_read, states_read
    )
    totals = totals or LearnerTotals(learner.id)
    week = week_rows[0] if week_rows else None
    streak = await streak_of(access, loaders, learner, now=now, settings=gamification)
    risks = await at_risk(access, loaders, repos, learner, now=now, settings=risk)
    skills = await loaders.skill.load_many([s.skill_id for s in states])
    names = {s.id: s.name for s in skills if s is not None}
    return child_week(
        learner_id=learner.id,
        monday=monday,
        today=today if weeks_ago == 0 else _sunday(monday),
        goal=goal_week(goals, monday, week),
        week=week,
        active_days=totals.active_days,
        unlocks=unlocks,
        streak=streak,
        risks=risks if weeks_ago == 0 else [],
        weak=weak_skills(states, names),
    )


def _sunday(monday: date) -> date:
    return monday + timedelta(days=6)
