"""A child's week as a parent sees it: against the goal, the time, the achievements, the streak,
and the areas that need attention (the weekly summary notification says the same in words)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain.achievements import Unlock
from domain.activity import DailyRollup
from domain.goals import GoalWeek
from domain.mastery import SkillState
from domain.risk import RiskReason
from domain.streaks import DayRun, Streak, active_within

WEAK_BELOW = 0.4  # mastery under which a practised skill needs attention
WEAK_AFTER_ATTEMPTS = 3  # ...once it has had this many answers (one miss is no pattern)
MAX_WEAK_SKILLS = 3


class AttentionKind(StrEnum):
    RISK = "risk"  # an at-risk reason (inactive, streak broken, falling scores, low readiness)
    WEAK_SKILL = "weak_skill"  # a practised skill still far from mastered
    GOAL_BEHIND = "goal_behind"  # the week's goal is behind its pace


@dataclass(frozen=True, slots=True)
class Attention:
    kind: AttentionKind
    message: str
    skill_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChildWeek:
    learner_id: str
    week: date  # its Monday, in the child's time zone
    goal: GoalWeek
    minutes: float
    items_finished: int
    active_days: int
    achievements: tuple[Unlock, ...]
    streak: Streak
    attention: tuple[Attention, ...]


def weak_skills(states: Sequence[SkillState], names: dict[str, str]) -> list[Attention]:
    weak = sorted(
        (s for s in states if s.attempts >= WEAK_AFTER_ATTEMPTS and s.p_known < WEAK_BELOW),
        key=lambda s: (s.p_known, s.skill_id),
    )
    return [
        Attention(
            AttentionKind.WEAK_SKILL,
            f"{names.get(s.skill_id, s.skill_id)}: {s.p_known:.0%} mastery after "
            f"{s.attempts} answers",
            skill_id=s.skill_id,
        )
        for s in weak[:MAX_WEAK_SKILLS]
    ]


def goal_pace(goal: GoalWeek, today: date) -> Attention | None:
    """The goal is behind when less of it is done than of the week has gone (this week only)."""
    if goal.goal is None or goal.met or not goal.week <= today < goal.week + timedelta(days=7):
        return None
    elapsed = ((today - goal.week).days + 1) / 7
    if goal.percent / 100 + 1e-9 >= elapsed - 1 / 7:  # a day's grace
        return None
    return Attention(
        AttentionKind.GOAL_BEHIND,
        f"{goal.percent:.0f} % of the weekly goal with {7 - (today - goal.week).days - 1} "
        "days left",
    )


def child_week(
    *,
    learner_id: str,
    monday: date,
    today: date,
    goal: GoalWeek,
    week: DailyRollup | None,
    active_days: Sequence[DayRun],
    unlocks: Sequence[Unlock],
    streak: Streak,
    risks: Sequence[RiskReason],
    weak: Sequence[Attention],
) -> ChildWeek:
    """The week starting `monday` (the child's local calendar); `unlocks` may be all of theirs:
    those earned that week are kept (by the UTC date they were earned on)."""
    attention = [Attention(AttentionKind.RISK, reason.message) for reason in risks]
    behind = goal_pace(goal, today)
    if behind is not None:
        attention.append(behind)
    attention.extend(weak)
    last = monday + timedelta(days=6)
    return ChildWeek(
        learner_id=learner_id,
        week=monday,
        goal=goal,
        minutes=0.0 if week is None else week.total.time_spent_seconds / 60,
        items_finished=0 if week is None else week.items_finished,
        active_days=active_within(active_days, monday, last),
        achievements=tuple(u for u in unlocks if monday <= u.unlocked_at.date() <= last),
        streak=streak,
        attention=tuple(attention),
    )


def summary_text(name: str, week: ChildWeek) -> str:
    parts = [
        f"{name} studied {week.minutes:.0f} minutes on {week.active_days} "
        f"day{'s' if week.active_days != 1 else ''}",
        f"finished {week.items_finished} item{'s' if week.items_finished != 1 else ''}",
    ]
    if week.goal.goal is not None:
        parts.append(
            "met the weekly goal"
            if week.goal.met
            else f"reached {week.goal.percent:.0f} % of the weekly goal"
        )
    if week.achievements:
        parts.append(f"earned {len(week.achievements)} achievement(s)")
    text = ", ".join(parts) + "."
    if week.attention:
        text += " Needs attention: " + "; ".join(a.message for a in week.attention[:3]) + "."
    return text
