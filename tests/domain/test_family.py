from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.achievements import RuleType, Unlock
from domain.activity import ActivityBucket, DailyRollup
from domain.family import AttentionKind, child_week, goal_pace, summary_text, weak_skills
from domain.goals import GoalKind, GoalWeek, WeeklyGoal
from domain.mastery import SkillState, logit
from domain.risk import RiskKind, RiskReason
from domain.streaks import Streak

MONDAY = date(2026, 3, 9)
GOAL = WeeklyGoal(
    GoalKind.MINUTES, 70, MONDAY, set_by="ada", set_at=datetime(2026, 3, 9, tzinfo=UTC)
)


def state(skill: str, p: float, attempts: int) -> SkillState:
    return SkillState("ada", skill, log_odds=logit(p), base_log_odds=logit(0.1), attempts=attempts)


def test_weak_skills_are_practised_ones_far_from_mastery_weakest_first_at_most_three() -> None:
    states = [
        state("a", 0.3, 5),
        state("b", 0.1, 4),
        state("c", 0.2, 2),  # too few answers to tell
        state("d", 0.9, 9),
        state("e", 0.35, 3),
        state("f", 0.38, 3),
    ]
    found = weak_skills(states, {"b": "Bees"})
    assert [a.skill_id for a in found] == ["b", "a", "e"]
    assert found[0].message.startswith("Bees: 10% mastery after 4 answers")
    assert {a.kind for a in found} == {AttentionKind.WEAK_SKILL}


def test_a_goal_is_behind_when_less_is_done_than_the_week_allows() -> None:
    thursday = MONDAY + timedelta(days=3)
    behind = GoalWeek(MONDAY, GOAL, achieved=10, met=False)
    on_pace = GoalWeek(MONDAY, GOAL, achieved=35, met=False)
    assert goal_pace(behind, thursday) is not None
    assert goal_pace(on_pace, thursday) is None
    assert goal_pace(behind, MONDAY + timedelta(days=8)) is None  # another week
    assert goal_pace(GoalWeek(MONDAY, None, 0, False), thursday) is None


def test_a_child_week_keeps_the_weeks_unlocks_and_says_it_in_words() -> None:
    def unlock(key: str, day: date) -> Unlock:
        at = datetime.combine(day, datetime.min.time(), UTC)
        return Unlock("ada", key, 1, key.title(), "", "*", 0, RuleType.FIRST_EVENT, None, at, None)

    week = child_week(
        learner_id="ada",
        monday=MONDAY,
        today=MONDAY + timedelta(days=2),
        goal=GoalWeek(MONDAY, GOAL, achieved=45, met=False),
        week=DailyRollup("ada", MONDAY, total=ActivityBucket(events=3, time_spent_seconds=2700)),
        active_days=((MONDAY - timedelta(days=1), MONDAY + timedelta(days=1)),),
        unlocks=[
            unlock("in", MONDAY + timedelta(days=1)),
            unlock("before", MONDAY - timedelta(days=3)),
        ],
        streak=Streak(
            current=3, longest=3, last_active=MONDAY + timedelta(days=1), active_today=False
        ),
        risks=[RiskReason(RiskKind.FALLING_SCORES, "Scores fell")],
        weak=[],
    )
    assert (week.minutes, week.active_days) == (45.0, 2)
    assert [u.key for u in week.achievements] == ["in"]
    text = summary_text("Ada", week)
    assert text.startswith("Ada studied 45 minutes on 2 days, finished 0 items")
    assert "64 % of the weekly goal" in text
    assert "Needs attention: Scores fell" in text
