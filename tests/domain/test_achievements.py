from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from domain.achievements import (
    DEFAULT_ACHIEVEMENTS,
    MIN_SCORED_FOR_AVERAGE,
    AchievementDefinition,
    AchievementProgress,
    RuleType,
    is_met,
    measure,
    newly_met,
    progress_towards,
    validate_definition,
)
from domain.errors import InvalidInput
from domain.events import EventType
from domain.learners import Learner
from domain.learning import LearnerRecord, Rules
from domain.streaks import DayRun
from domain.totals import LearnerTotals, Tally
from tests.domain.support import event
from tests.factories import NOW, content_item

D1 = date(2026, 3, 1)
BY_KEY = {definition.key: definition for definition in DEFAULT_ACHIEVEMENTS}


def definition(**overrides: Any) -> AchievementDefinition:
    values: dict[str, Any] = {
        "key": "custom",
        "title": "Custom",
        "description": "A custom achievement",
        "icon": "*",
        "points": 10,
        "rule": RuleType.COMPLETIONS,
        "threshold": 5,
    }
    values.update(overrides)
    return AchievementDefinition(**values)


def totals(**overrides: Any) -> LearnerTotals:
    return LearnerTotals(learner_id="ada", **overrides)


def scored_tally(count: int, score: float) -> Tally:
    """A tally of `count` scored answers, summed one at a time as the fold does."""
    score_sum = 0.0
    for _ in range(count):
        score_sum += score
    return Tally(events=count, questions_answered=count, scored=count, score_sum=score_sum)


def run(length: int, start: date = D1) -> DayRun:
    return (start, start + timedelta(days=length - 1))


# DEFAULT_ACHIEVEMENTS


def thresholds(rule: RuleType) -> list[float]:
    return [d.threshold for d in DEFAULT_ACHIEVEMENTS if d.rule is rule]


def at_level(rule: RuleType, value: float) -> LearnerTotals:
    """A learner whose measure for `rule` is `value`: from the totals, as the fold leaves them."""
    match rule:
        case RuleType.STREAK_DAYS:
            return totals(active_days=(run(int(value)),) if value >= 1 else ())
        case RuleType.AVERAGE_SCORE:
            return totals(overall=scored_tally(MIN_SCORED_FOR_AVERAGE, value / 100))
        case RuleType.COMPLETIONS:
            return totals(overall=Tally(items_completed=int(value)))
        case RuleType.HOURS:
            return totals(overall=Tally(time_spent_seconds=value * 3600))
        case RuleType.MASTERED_SKILLS:
            return totals(mastered_skills=int(value))
        case RuleType.FIRST_EVENT:
            return totals(overall=Tally(events=int(value)))
        case RuleType.PERFECT_SCORE:
            return totals(overall=Tally(perfect_scores=int(value)))
        case RuleType.MASTERED_IN_A_DAY:
            return totals(best_mastery_day=int(value))
        case RuleType.SUBJECTS_MASTERED:
            return totals(subjects_mastered=frozenset(f"category:s{n}" for n in range(int(value))))
        case RuleType.PERFECT_WEEKS:
            return totals(perfect_weeks=tuple(D1 + timedelta(weeks=n) for n in range(int(value))))
        case RuleType.SUBJECTS_EXPLORED:
            return totals(subjects_tried=frozenset(f"s{n}" for n in range(int(value))))
        case RuleType.PEER_HELP:
            return totals(overall=Tally(helped=int(value)))
        case RuleType.WEEKLY_GOALS:
            return totals(goal_weeks=tuple(D1 + timedelta(weeks=n) for n in range(int(value))))


@pytest.mark.parametrize(
    ("rule", "expected", "just_below"),
    [
        (RuleType.STREAK_DAYS, [3, 7, 14, 30, 60, 100], 1),
        (RuleType.AVERAGE_SCORE, [70, 80, 90, 95], 0.5),
        (RuleType.COMPLETIONS, [10, 50, 100, 250], 1),
        (RuleType.HOURS, [10, 50, 100, 200], 1 / 3600),
        (RuleType.MASTERED_SKILLS, [1, 5, 25], 1),
        (RuleType.FIRST_EVENT, [1], 1),
        (RuleType.PERFECT_SCORE, [1], 1),
        (RuleType.MASTERED_IN_A_DAY, [5], 1),
        (RuleType.SUBJECTS_MASTERED, [1], 1),
        (RuleType.PERFECT_WEEKS, [1], 1),
        (RuleType.SUBJECTS_EXPLORED, [5], 1),
        (RuleType.PEER_HELP, [1], 1),
        (RuleType.WEEKLY_GOALS, [1], 1),
    ],
)
def test_the_default_achievements_are_met_from_the_procert_thresholds_on(
    rule: RuleType, expected: list[float], just_below: float
) -> None:
    defaults = [d for d in DEFAULT_ACHIEVEMENTS if d.rule is rule]
    for count, threshold in enumerate(expected):
        below = newly_met(defaults, at_level(rule, threshold - just_below), set())
        at = newly_met(defaults, at_level(rule, threshold), set())
        assert len(below) == count, (rule, threshold)
        assert len(at) == count + 1, (rule, threshold)
    assert len(defaults) == len(expected)


@pytest.mark.parametrize(
    ("key", "points"),
    [
        *((f"streak-{days}", days * 10) for days in (3, 7, 14, 30, 60, 100)),
        ("score-70", 100),
        ("score-95", 1000),
        ("completions-10", 50),
        ("completions-250", 1250),
        ("hours-10", 100),
        ("hours-200", 2000),
        ("mastery-1", 50),
        ("mastery-25", 1000),
        ("first-event", 10),
        ("perfect-score", 50),
    ],
)
def test_unlocking_a_default_achievement_credits_its_points(key: str, points: int) -> None:
    # A learner who has just reached the achievement's threshold and holds every other one.
    reached = BY_KEY[key]
    record = LearnerRecord(
        learner=Learner(id="ada"),
        totals=at_level(reached.rule, reached.threshold),
        unlocked=set(BY_KEY) - {key},
    )

    outcome = record.record(
        event(type=EventType.VIEWED, score=None),
        content_item(),
        rules=Rules(achievements=DEFAULT_ACHIEVEMENTS, streak_day_points=0),
        recorded_at=NOW,
    )

    assert [unlock.key for unlock in outcome.unlocks] == [key]
    assert outcome.points == points
    assert [(entry.reference, entry.amount) for entry in record.new_points] == [(key, points)]


def test_default_achievement_keys_are_unique() -> None:
    keys = [d.key for d in DEFAULT_ACHIEVEMENTS]
    assert len(keys) == len(set(keys)) == 29


def test_default_achievements_are_learner_wide_and_valid_as_they_are() -> None:
    for each in DEFAULT_ACHIEVEMENTS:
        assert each.certification is None
        assert each.min_scored == MIN_SCORED_FOR_AVERAGE
        assert validate_definition(each) == each


# measure


def test_a_default_average_score_rule_counts_from_the_tenth_scored_answer() -> None:
    assert measure(BY_KEY["score-70"], totals(overall=scored_tally(9, 0.8))) == 0.0
    assert measure(BY_KEY["score-70"], totals(overall=scored_tally(10, 0.8))) == pytest.approx(80.0)


@pytest.mark.parametrize(
    ("rule", "learner", "expected"),
    [
        (RuleType.STREAK_DAYS, totals(), 0.0),
        (RuleType.STREAK_DAYS, totals(active_days=(run(4), run(2, D1 + timedelta(9)))), 4.0),
        (RuleType.AVERAGE_SCORE, totals(overall=scored_tally(12, 0.75)), 75.0),
        (RuleType.AVERAGE_SCORE, totals(overall=scored_tally(9, 1.0)), 0.0),
        (RuleType.COMPLETIONS, totals(overall=Tally(items_completed=7)), 7.0),
        (RuleType.HOURS, totals(overall=Tally(time_spent_seconds=5400)), 1.5),
        (RuleType.MASTERED_SKILLS, totals(mastered_skills=3), 3.0),
        (RuleType.FIRST_EVENT, totals(overall=Tally(events=2)), 2.0),
        (RuleType.PERFECT_SCORE, totals(overall=Tally(perfect_scores=4)), 4.0),
        (RuleType.COMPLETIONS, totals(), 0.0),
    ],
)
def test_measure_reads_the_quantity_each_rule_type_is_about(
    rule: RuleType, learner: LearnerTotals, expected: float
) -> None:
    assert measure(definition(rule=rule), learner) == pytest.approx(expected)


def test_the_streak_rule_measures_the_longest_run_ever_not_the_current_one() -> None:
    learner = totals(active_days=(run(8), run(1, D1 + timedelta(days=20))))
    assert measure(BY_KEY["streak-7"], learner) == 8.0
    assert is_met(BY_KEY["streak-7"], learner)


@pytest.mark.parametrize("count", [1, 5, MIN_SCORED_FOR_AVERAGE - 1])
def test_an_average_score_rule_is_not_met_before_ten_scored_events_even_at_100_percent(
    count: int,
) -> None:
    learner = totals(overall=scored_tally(count, 1.0))
    for key in ("score-70", "score-80", "score-90", "score-95"):
        assert measure(BY_KEY[key], learner) == 0.0
        assert not is_met(BY_KEY[key], learner)


def test_ten_scored_events_averaging_90_percent_meet_the_90_rule_despite_float_error() -> None:
    learner = totals(overall=scored_tally(MIN_SCORED_FOR_AVERAGE, 0.9))
    assert learner.overall.score_sum != 9.0  # the running sum is not exact
    assert measure(BY_KEY["score-90"], learner) == pytest.approx(90.0)
    assert [key for key in BY_KEY if is_met(BY_KEY[key], learner) and "score" in key] == [
        "score-70",
        "score-80",
        "score-90",
    ]


def test_an_average_just_below_the_threshold_is_not_met() -> None:
    learner = totals(overall=scored_tally(MIN_SCORED_FOR_AVERAGE, 0.8999))
    assert not is_met(BY_KEY["score-90"], learner)


def test_a_definition_can_ask_for_fewer_scored_events() -> None:
    rule = definition(rule=RuleType.AVERAGE_SCORE, threshold=80, min_scored=3)
    assert not is_met(rule, totals(overall=scored_tally(2, 1.0)))
    assert is_met(rule, totals(overall=scored_tally(3, 0.8)))


@pytest.mark.parametrize(
    ("value", "met"), [(4, False), (5, True), (6, True)], ids=["below", "at", "above"]
)
def test_a_rule_is_met_at_its_threshold(value: int, met: bool) -> None:
    assert is_met(definition(threshold=5), totals(overall=Tally(items_completed=value))) is met


def test_the_hours_rule_is_met_at_exactly_ten_hours() -> None:
    assert not is_met(BY_KEY["hours-10"], totals(overall=Tally(time_spent_seconds=35_999)))
    assert is_met(BY_KEY["hours-10"], totals(overall=Tally(time_spent_seconds=36_000)))


# Certification scope

SCOPED_TOTALS = totals(
    overall=Tally(
        events=30,
        items_completed=12,
        scored=30,
        score_sum=18.0,
        time_spent_seconds=40_000,
        perfect_scores=1,
    ),
    by_certification={
        "SAA": Tally(
            events=10,
            items_completed=2,
            scored=10,
            score_sum=9.5,
            time_spent_seconds=3600,
            perfect_scores=0,
        ),
        "DVA": Tally(events=20, items_completed=10, scored=20, score_sum=8.5, perfect_scores=1),
    },
)


@pytest.mark.parametrize(
    ("rule", "certification", "expected"),
    [
        (RuleType.AVERAGE_SCORE, None, 60.0),
        (RuleType.AVERAGE_SCORE, "SAA", 95.0),
        (RuleType.AVERAGE_SCORE, "DVA", 42.5),
        (RuleType.COMPLETIONS, None, 12.0),
        (RuleType.COMPLETIONS, "SAA", 2.0),
        (RuleType.HOURS, "SAA", 1.0),
        (RuleType.FIRST_EVENT, "DVA", 20.0),
        (RuleType.PERFECT_SCORE, "SAA", 0.0),
        (RuleType.COMPLETIONS, "CLF", 0.0),
        (RuleType.FIRST_EVENT, "CLF", 0.0),
    ],
)
def test_a_certification_scoped_rule_measures_that_certifications_tally(
    rule: RuleType, certification: str | None, expected: float
) -> None:
    scoped = definition(rule=rule, certification=certification)
    assert measure(scoped, SCOPED_TOTALS) == pytest.approx(expected)


def test_a_scoped_average_needs_ten_scored_events_within_the_certification() -> None:
    learner = totals(overall=scored_tally(40, 0.95), by_certification={"SAA": scored_tally(9, 1.0)})
    scoped = definition(rule=RuleType.AVERAGE_SCORE, threshold=90, certification="SAA")
    assert not is_met(scoped, learner)
    assert is_met(replace(scoped, certification=None), learner)


# newly_met


def test_newly_met_lists_the_met_definitions_in_order_skipping_those_already_unlocked() -> None:
    learner = totals(
        overall=Tally(events=3, items_completed=10, perfect_scores=1),
        active_days=(run(3),),
    )
    met = newly_met(DEFAULT_ACHIEVEMENTS, learner, set())
    assert [d.key for d in met] == ["streak-3", "completions-10", "first-event", "perfect-score"]
    met = newly_met(DEFAULT_ACHIEVEMENTS, learner, {"streak-3", "perfect-score"})
    assert [d.key for d in met] == ["completions-10", "first-event"]


def test_newly_met_is_empty_for_a_new_learner_and_when_all_are_unlocked() -> None:
    assert newly_met(DEFAULT_ACHIEVEMENTS, totals(), set()) == []
    learner = totals(overall=Tally(events=1))
    assert newly_met(DEFAULT_ACHIEVEMENTS, learner, set(BY_KEY)) == []


# progress_towards


@pytest.mark.parametrize(
    ("learner", "key", "current", "percent"),
    [
        (totals(), "completions-10", 0.0, 0.0),
        (totals(overall=Tally(items_completed=5)), "completions-10", 5.0, 50.0),
        (totals(overall=Tally(items_completed=10)), "completions-10", 10.0, 100.0),
        (totals(overall=Tally(items_completed=75)), "completions-10", 75.0, 100.0),
        (totals(active_days=(run(5),)), "streak-7", 5.0, 500 / 7),
        (totals(overall=Tally(time_spent_seconds=90_000)), "hours-50", 25.0, 50.0),
        (totals(overall=scored_tally(9, 1.0)), "score-90", 0.0, 0.0),
        (totals(mastered_skills=30), "mastery-25", 30.0, 100.0),
    ],
)
def test_progress_towards_reports_current_and_target_with_percent_capped_at_100(
    learner: LearnerTotals, key: str, current: float, percent: float
) -> None:
    progress = progress_towards(BY_KEY[key], learner)
    assert progress.current == pytest.approx(current)
    assert progress.target == BY_KEY[key].threshold
    assert progress.percent == pytest.approx(percent)


def test_a_progress_without_a_positive_target_is_complete() -> None:
    assert AchievementProgress(current=0, target=0).percent == 100.0


# validate_definition


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"key": ""}, "input.key", id="blank-key"),
        pytest.param({"key": "has space"}, "input.key", id="bad-key"),
        pytest.param({"threshold": 0}, "input.threshold", id="zero-threshold"),
        pytest.param({"threshold": -3}, "input.threshold", id="negative-threshold"),
        pytest.param({"threshold": math.nan}, "input.threshold", id="nan-threshold"),
        pytest.param(
            {"rule": RuleType.AVERAGE_SCORE, "threshold": 100.5},
            "input.threshold",
            id="average-above-100",
        ),
        pytest.param({"points": -1}, "input.points", id="negative-points"),
        pytest.param({"points": 100_001}, "input.points", id="too-many-points"),
        pytest.param(
            {"rule": RuleType.STREAK_DAYS, "certification": "SAA"},
            "input.certification",
            id="scoped-streak",
        ),
        pytest.param(
            {"rule": RuleType.MASTERED_SKILLS, "certification": "SAA"},
            "input.certification",
            id="scoped-mastery",
        ),
        pytest.param({"certification": "  "}, "input.certification", id="blank-certification"),
        pytest.param({"min_scored": 0}, "input.minScored", id="min-scored-zero"),
        pytest.param({"title": ""}, "input.title", id="empty-title"),
        pytest.param({"title": "   "}, "input.title", id="blank-title"),
        pytest.param({"description": " "}, "input.description", id="blank-description"),
        pytest.param({"icon": ""}, "input.icon", id="blank-icon"),
    ],
)
def test_validate_definition_rejects_bad_values_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_definition(definition(**overrides))
    assert raised.value.field == field


def test_a_streak_rule_scoped_to_a_certification_explains_why() -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_definition(definition(rule=RuleType.STREAK_DAYS, certification="SAA"))
    assert "streak_days" in raised.value.rule


def test_validate_definition_uses_the_field_prefix_given() -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_definition(definition(threshold=0), field_prefix="achievements[2]")
    assert raised.value.field == "achievements[2].threshold"


@pytest.mark.parametrize(
    "overrides",
    [
        {"rule": RuleType.AVERAGE_SCORE, "threshold": 100},
        {"rule": RuleType.AVERAGE_SCORE, "threshold": 0.5, "certification": "SAA"},
        {"rule": RuleType.STREAK_DAYS, "threshold": 365},
        {"points": 0},
        {"points": 100_000},
        {"rule": RuleType.HOURS, "threshold": 0.25, "certification": "DVA"},
    ],
)
def test_validate_definition_accepts_valid_definitions(overrides: dict[str, Any]) -> None:
    valid = definition(**overrides)
    assert validate_definition(valid) == valid


def test_validate_definition_trims_the_text_fields() -> None:
    valid = validate_definition(
        definition(title="  Ten done ", description=" Ten items\n", certification=" SAA ")
    )
    assert (valid.title, valid.description, valid.certification) == (
        "Ten done",
        "Ten items",
        "SAA",
    )
