"""Weekly goals: minutes of study or items finished per local ISO week, and their history.

A goal is set by the learner or one of their educators and holds from the week it is set in
until another replaces it; earlier weeks keep the goal they had. A week meets its goal when the
week's credited minutes (after the reward guard) or the items first finished in it reach the
target. Meeting one earns `GOAL_POINTS` once per week (the Spool table), and only for a goal at
least `MIN_REWARDED` large: a learner who sets themselves one minute a week meets it, but earns
nothing for it.

A Perfect Week is a week whose every day carried its share of the goal: a seventh of the
minutes, or at least one item finished on each day for an items goal of 7 or more (for smaller
items goals, a seventh rounded up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.activity import DailyRollup
from domain.errors import InvalidInput

GOAL_POINTS = 50
WEEK_DAYS = 7
MAX_GOALS_KEPT = 104  # two years of weekly changes; older settings no week still needs


class GoalKind(StrEnum):
    MINUTES = "minutes"  # minutes of credited study time
    ITEMS = "items"  # content items finished (completed or mastered) for the first time


MAX_TARGET = {GoalKind.MINUTES: WEEK_DAYS * 24 * 60, GoalKind.ITEMS: 1000}
MIN_REWARDED = {GoalKind.MINUTES: 30, GoalKind.ITEMS: 3}


@dataclass(frozen=True, slots=True)
class WeeklyGoal:
    kind: GoalKind
    target: int
    week: date  # the Monday of the first week it holds for
    set_by: str
    set_at: datetime

    @property
    def earns_points(self) -> bool:
        return self.target >= MIN_REWARDED[self.kind]


def check_target(kind: GoalKind, target: int, field_name: str = "target") -> int:
    if not 1 <= target <= MAX_TARGET[kind]:
        raise InvalidInput(
            field_name, f"a {kind.value} goal must be between 1 and {MAX_TARGET[kind]} a week"
        )
    return target


def with_goal(goals: Sequence[WeeklyGoal], goal: WeeklyGoal) -> tuple[WeeklyGoal, ...]:
    """The settings with `goal` added: it replaces one set for the same week."""
    kept = [g for g in goals if g.week != goal.week]
    return tuple(sorted([*kept, goal], key=lambda g: g.week))[-MAX_GOALS_KEPT:]


def goal_for(goals: Sequence[WeeklyGoal], monday: date) -> WeeklyGoal | None:
    """The goal that holds for the week starting `monday` (settings sorted by week)."""
    found = None
    for goal in goals:
        if goal.week > monday:
            break
        found = goal
    return found


def achieved(goal: WeeklyGoal, rollup: DailyRollup | None) -> float:
    """What the period (a week, or a day of it) counts toward the goal."""
    if rollup is None:
        return 0.0
    if goal.kind is GoalKind.MINUTES:
        return rollup.total.time_spent_seconds / 60
    return float(rollup.items_finished)


def is_met(goal: WeeklyGoal, week: DailyRollup | None) -> bool:
    return achieved(goal, week) + 1e-9 >= goal.target


def daily_share(goal: WeeklyGoal) -> float:
    """A day's part of the goal, for a Perfect Week."""
    if goal.kind is GoalKind.MINUTES:
        return goal.target / WEEK_DAYS
    return float(math.ceil(goal.target / WEEK_DAYS))


def is_perfect_week(goal: WeeklyGoal, days: Mapping[date, DailyRollup], monday: date) -> bool:
    """Every day of the week starting `monday` carried its share of the goal."""
    share = daily_share(goal)
    return all(
        achieved(goal, days.get(monday + timedelta(days=n))) + 1e-9 >= share
        for n in range(WEEK_DAYS)
    )


@dataclass(frozen=True, slots=True)
class GoalWeek:
    """One week against its goal."""

    week: date
    goal: WeeklyGoal | None
    achieved: float
    met: bool

    @property
    def percent(self) -> float:
        if self.goal is None:
            return 0.0
        return min(100.0, self.achieved / self.goal.target * 100)


def goal_week(goals: Sequence[WeeklyGoal], monday: date, rollup: DailyRollup | None) -> GoalWeek:
    goal = goal_for(goals, monday)
    if goal is None:
        return GoalWeek(week=monday, goal=None, achieved=0.0, met=False)
    return GoalWeek(
        week=monday, goal=goal, achieved=achieved(goal, rollup), met=is_met(goal, rollup)
    )
