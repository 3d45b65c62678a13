"""At-risk detection: each rule, at its threshold."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.activity import ActivityBucket, DailyRollup
from domain.risk import ExamOutlook, RiskKind, RiskSettings, assess_risk
from domain.streaks import Streak

TODAY = date(2026, 3, 20)


def streak(current: int, longest: int, idle_days: int | None) -> Streak:
    last = None if idle_days is None else TODAY - timedelta(days=idle_days)
    return Streak(current=current, longest=longest, last_active=last, active_today=idle_days == 0)


def scored(days_ago: int, average: float, answers: int = 3) -> DailyRollup:
    bucket = ActivityBucket(events=answers, scored=answers, score_sum=average * answers)
    return DailyRollup("ada", TODAY - timedelta(days=days_ago), total=bucket)


def kinds(**overrides: object) -> list[RiskKind]:
    values: dict[str, object] = {
        "today": TODAY,
        "streak": streak(5, 5, 0),
        "recent": [],
    }
    values.update(overrides)
    return [reason.kind for reason in assess_risk(**values)]  # type: ignore[arg-type]


def test_an_active_learner_with_steady_scores_is_not_at_risk() -> None:
    recent = [scored(d, 0.8) for d in range(14)]

    assert kinds(recent=recent) == []


@pytest.mark.parametrize(("idle", "expected"), [(6, []), (7, [RiskKind.INACTIVE])])
def test_inactivity_counts_from_seven_days(idle: int, expected: list[RiskKind]) -> None:
    assert kinds(streak=streak(0, 0, idle)) == expected


def test_a_learner_never_active_is_inactive() -> None:
    [reason] = assess_risk(today=TODAY, streak=streak(0, 0, None), recent=[])

    assert (reason.kind, reason.message) == (RiskKind.INACTIVE, "No activity yet")


def test_a_broken_streak_of_three_days_or_more_is_a_reason_but_not_when_inactive() -> None:
    assert kinds(streak=streak(0, 3, 2)) == [RiskKind.STREAK_BROKEN]
    assert kinds(streak=streak(0, 2, 2)) == []
    assert kinds(streak=streak(0, 10, 8)) == [RiskKind.INACTIVE]


@pytest.mark.parametrize(("before", "after", "falling"), [(0.8, 0.7, True), (0.8, 0.71, False)])
def test_scores_falling_ten_points_week_on_week_are_a_reason(
    before: float, after: float, falling: bool
) -> None:
    recent = [scored(d, after) for d in range(7)] + [scored(d, before) for d in range(7, 14)]

    assert (RiskKind.FALLING_SCORES in kinds(recent=recent)) is falling


def test_falling_scores_need_enough_answers_each_week() -> None:
    recent = [scored(0, 0.2, answers=2), scored(8, 0.9, answers=10)]

    assert kinds(recent=recent) == []
    assert kinds(recent=recent, settings=RiskSettings(min_scored=2)) == [RiskKind.FALLING_SCORES]


@pytest.mark.parametrize(
    ("days_left", "probability", "at_risk"),
    [(30, 49.0, True), (31, 10.0, False), (10, 50.0, False), (-1, 10.0, False)],
)
def test_low_readiness_close_to_the_exam_is_a_reason(
    days_left: int, probability: float, at_risk: bool
) -> None:
    exam = ExamOutlook(TODAY + timedelta(days=days_left), "SAA", probability)

    assert (RiskKind.LOW_READINESS in kinds(exam=exam)) is at_risk


def test_reasons_say_what_happened_in_words() -> None:
    recent = [scored(d, 0.6) for d in range(7)] + [scored(d, 0.9) for d in range(7, 14)]
    exam = ExamOutlook(TODAY + timedelta(days=12), "SAA", 35.0)

    messages = [
        r.message
        for r in assess_risk(today=TODAY, streak=streak(0, 4, 1), recent=recent, exam=exam)
    ]

    assert messages == [
        "Their streak is broken (the longest was 4 days)",
        "Their average score fell from 90% to 60% over the last week",
        "The SAA exam is in 12 days with a 35 % predicted pass probability",
    ]
