"""The parent dashboard: each child's week against their goal, in one query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry

from domain import family
from domain.learners import Learner as DomainLearner
from schema.engagement import GoalWeek
from schema.gamification import AchievementUnlock, Streak
from schema.learners import Learner

AttentionKind = strawberry.enum(family.AttentionKind, description="Why an area needs attention.")


@strawberry.type(description="Something in a child's learning a parent should look at.")
class AttentionItem:
    kind: AttentionKind  # type: ignore[valid-type]
    message: str
    skill_id: str | None

    @classmethod
    def from_domain(cls, value: family.Attention) -> Self:
        return cls(kind=value.kind, message=value.message, skill_id=value.skill_id)


@strawberry.type(description="A child's local ISO week.")
class ChildWeek:
    learner: Learner
    week_starting: date
    goal: GoalWeek = strawberry.field(description="The week against the goal that held for it.")
    minutes: float = strawberry.field(description="Credited study time (after the reward guard).")
    items_finished: int
    active_days: int
    achievements: list[AchievementUnlock] = strawberry.field(description="Earned that week.")
    streak: Streak = strawberry.field(description="As it stands now.")
    needs_attention: list[AttentionItem]

    @classmethod
    def from_domain(cls, learner: DomainLearner, value: family.ChildWeek) -> Self:
        return cls(
            learner=Learner.from_domain(learner),
            week_starting=value.week,
            goal=GoalWeek.from_domain(value.goal),
            minutes=round(value.minutes, 1),
            items_finished=value.items_finished,
            active_days=value.active_days,
            achievements=[AchievementUnlock.from_domain(u) for u in value.achievements],
            streak=Streak.from_domain(value.streak),
            needs_attention=[AttentionItem.from_domain(a) for a in value.attention],
        )


@strawberry.type(description="A parent's view of their children's week.")
class ParentDashboard:
    parent_id: str
    generated_at: datetime
    children: list[ChildWeek]
