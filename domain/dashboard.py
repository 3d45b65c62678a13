"""The learner dashboard: summaries and recommendations computed from derived state only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.achievements import AchievementDefinition, RuleType
from domain.activity import DailyRollup
from domain.catalog import ContentItem
from domain.mastery import SkillState
from domain.streaks import Streak
from domain.totals import LearnerTotals

WEEKLY_AVERAGE_DAYS = 28  # four full weeks: a fair weekly average whatever today's weekday


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    streak: Streak
    total_interactions: int
    weekly_average_minutes: float
    most_active_certification: str | None


def summarise_activity(
    totals: LearnerTotals | None, streak: Streak, recent_days: Sequence[DailyRollup]
) -> ActivitySummary:
    """`recent_days`: rollups of the last WEEKLY_AVERAGE_DAYS local days, or more (oldest first)."""
    window = recent_days[-WEEKLY_AVERAGE_DAYS:]
    seconds = sum(day.total.time_spent_seconds for day in window)
    weeks = WEEKLY_AVERAGE_DAYS / 7
    most_active = None
    if totals is not None and totals.by_certification:
        most_active = max(
            totals.by_certification.items(),
            key=lambda pair: (pair[1].time_spent_seconds, pair[1].events, pair[0]),
        )[0]
    return ActivitySummary(
        streak=streak,
        total_interactions=totals.overall.events if totals else 0,
        weekly_average_minutes=seconds / 60 / weeks,
        most_active_certification=most_active,
    )


class RecommendationKind(StrEnum):
    EXTEND_STREAK = "extend_streak"
    START_STREAK = "start_streak"
    PRACTISE_SKILL = "practise_skill"
    FINISH_ITEM = "finish_item"


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: RecommendationKind
    message: str
    skill_id: str | None = None
    content_id: str | None = None


def recommend(
    *,
    streak: Streak,
    achievements: Sequence[AchievementDefinition],
    unlocked: set[str],
    skills: Sequence[tuple[SkillState, str]],
    in_progress: Sequence[ContentItem],
    max_items: int = 2,
) -> list[Recommendation]:
    """Simple rules: keep or start the streak, practise the weakest skill, finish open items.

    `skills` pairs each practised skill's state with its display name.
    """
    advice = [_streak_advice(streak, achievements, unlocked)]
    weakest = min(
        (pair for pair in skills if not pair[0].mastered and pair[0].attempts > 0),
        key=lambda pair: (pair[0].p_known, pair[0].skill_id),
        default=None,
    )
    if weakest is not None:
        state, name = weakest
        advice.append(
            Recommendation(
                RecommendationKind.PRACTISE_SKILL,
                f"Practise {name}: your mastery is {state.p_known * 100:.0f}%.",
                skill_id=state.skill_id,
            )
        )
    for item in in_progress[:max_items]:
        advice.append(
            Recommendation(
                RecommendationKind.FINISH_ITEM, f"Finish “{item.title}”.", content_id=item.id
            )
        )
    return advice


def _streak_advice(
    streak: Streak, achievements: Sequence[AchievementDefinition], unlocked: set[str]
) -> Recommendation:
    if streak.current == 0:
        return Recommendation(RecommendationKind.START_STREAK, "Study today to start a new streak.")
    targets = sorted(
        d.threshold
        for d in achievements
        if d.rule is RuleType.STREAK_DAYS and d.key not in unlocked and d.threshold > streak.current
    )
    goal = f" Reach {targets[0]:g} days for the next achievement." if targets else ""
    if not streak.active_today:
        message = f"Study today to keep your {streak.current}-day streak alive.{goal}"
    else:
        message = f"Great {streak.current}-day streak!{goal}"
    return Recommendation(RecommendationKind.EXTEND_STREAK, message)
