from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.achievements import (
    DEFAULT_ACHIEVEMENTS,
    AchievementDefinition,
    RuleType,
)
from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent
from domain.learners import Learner
from domain.learning import EventOutcome, LearnerRecord, Rules
from domain.mastery import BktParams
from domain.points import PERFECT, PointsEntry, PointsSource
from domain.totals import LearnerTotals
from tests.domain.support import at, event
from tests.factories import content_item

RECORDED_AT = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
ITEM = content_item(skill_ids=("ec2",))
OTHER_ITEM = content_item(id="saa-s3-1", skill_ids=("s3",))
# These tests count event and achievement points: daily streak points (tested in
# test_engagement.py) are off here.
NO_ACHIEVEMENTS = Rules(streak_day_points=0)
DEFAULTS = Rules(achievements=DEFAULT_ACHIEVEMENTS, streak_day_points=0)


def record_for(time_zone: str = "UTC", **totals: Any) -> LearnerRecord:
    return LearnerRecord(
        learner=Learner(id="ada", time_zone=time_zone),
        totals=LearnerTotals(learner_id="ada", **totals),
    )


def apply(
    record: LearnerRecord,
    happened: LearningEvent,
    rules: Rules = DEFAULTS,
    item: ContentItem = ITEM,
) -> EventOutcome:
    return record.record(happened, item, rules=rules, recorded_at=RECORDED_AT)


def achievement(
    key: str, rule: RuleType, threshold: float, points: int = 0
) -> AchievementDefinition:
    return AchievementDefinition(
        key=key,
        title=key.title(),
        description=f"{rule.value} {threshold:g}",
        icon="*",
        points=points,
        rule=rule,
        threshold=threshold,
    )


def keys(unlocks: Sequence[Any]) -> list[str]:
    return [unlock.key for unlock in unlocks]


# First event


def test_a_first_event_unlocks_first_steps_with_seq_1_and_credits_its_points() -> None:
    record = record_for()
    answer = event(type=EventType.ANSWERED, score=0.5)

    outcome = apply(record, answer)

    assert keys(outcome.unlocks) == ["first-event"]
    unlock = outcome.unlocks[0]
    assert unlock.seq == 1
    assert unlock.learner_id == "ada"
    assert (unlock.title, unlock.points, unlock.rule) == ("First Steps", 10, RuleType.FIRST_EVENT)
    assert unlock.certification is None
    assert unlock.unlocked_at == answer.occurred_at  # earned when it happened
    assert unlock.recorded_at == RECORDED_AT
    assert unlock.event_id == answer.event_id
    assert outcome.points == 10
    assert record.totals.points == 10
    assert record.totals.unlocks == 1
    assert record.unlocked == {"first-event"}
    assert record.new_unlocks == [unlock]
    assert record.new_points == [
        PointsEntry(
            learner_id="ada",
            amount=10,
            reason="achievement: First Steps",
            source=PointsSource.ACHIEVEMENT,
            reference="first-event",
            at=answer.occurred_at,
            recorded_at=RECORDED_AT,
        )
    ]


def test_a_second_event_unlocks_nothing_more_and_earns_nothing() -> None:
    record = record_for()
    apply(record, event(score=0.5))
    outcome = apply(record, event(score=0.5))
    assert outcome.unlocks == ()
    assert outcome.points == 0
    assert record.totals.points == 10
    assert len(record.new_unlocks) == len(record.new_points) == 1


def test_without_achievement_rules_nothing_unlocks() -> None:
    record = record_for()
    outcome = apply(record, event(score=0.5), rules=NO_ACHIEVEMENTS)
    assert outcome == EventOutcome(progress=record.progress["saa-ec2-1"])
    assert record.new_unlocks == []
    assert record.new_points == []
    assert record.totals.points == 0


# Event points


def test_a_started_event_credits_five_points_once_per_item() -> None:
    record = record_for()

    first = apply(record, event(type=EventType.STARTED, score=None), rules=NO_ACHIEVEMENTS)
    again = apply(record, event(type=EventType.STARTED, score=None), rules=NO_ACHIEVEMENTS)
    elsewhere = apply(
        record,
        event(type=EventType.STARTED, score=None, content_id="saa-s3-1"),
        rules=NO_ACHIEVEMENTS,
        item=OTHER_ITEM,
    )

    assert (first.points, again.points, elsewhere.points) == (5, 0, 5)
    assert record.totals.points == 10
    assert [(entry.amount, entry.source, entry.reason) for entry in record.new_points] == [
        (5, PointsSource.EVENT, "started saa-ec2-1"),
        (5, PointsSource.EVENT, "started saa-s3-1"),
    ]
    assert record.progress["saa-ec2-1"].point_awards == {"started"}
    assert record.progress["saa-s3-1"].point_awards == {"started"}


def test_an_event_points_entry_refers_to_the_event_that_earned_it() -> None:
    record = record_for()
    started = event(type=EventType.STARTED, score=None)
    apply(record, started, rules=NO_ACHIEVEMENTS)
    assert record.new_points == [
        PointsEntry(
            learner_id="ada",
            amount=5,
            reason="started saa-ec2-1",
            source=PointsSource.EVENT,
            reference=started.event_id,
            at=started.occurred_at,
            recorded_at=RECORDED_AT,
        )
    ]


def test_event_points_and_achievement_points_add_up_in_one_outcome() -> None:
    record = record_for()
    outcome = apply(record, event(type=EventType.STARTED, score=None))
    assert keys(outcome.unlocks) == ["first-event"]
    assert outcome.points == 15
    assert record.totals.points == 15
    assert [entry.source for entry in record.new_points] == [
        PointsSource.EVENT,
        PointsSource.ACHIEVEMENT,
    ]


def test_each_event_type_earns_once_per_item_across_the_lifecycle() -> None:
    record = record_for()
    earned = [
        apply(record, event(type=type_, score=None), rules=NO_ACHIEVEMENTS).points
        for type_ in (
            EventType.VIEWED,
            EventType.STARTED,
            EventType.ANSWERED,
            EventType.COMPLETED,
            EventType.MASTERED,
            EventType.COMPLETED,
            EventType.STARTED,
        )
    ]
    assert earned == [0, 5, 0, 10, 25, 0, 0]
    assert record.totals.points == 40
    assert record.progress["saa-ec2-1"].point_awards == {"started", "completed", "mastered"}


def test_a_perfect_score_credits_the_bonus_once_per_item() -> None:
    record = record_for()
    first = apply(record, event(score=1.0), rules=NO_ACHIEVEMENTS)
    second = apply(record, event(score=1.0), rules=NO_ACHIEVEMENTS)
    assert (first.points, second.points) == (10, 0)
    assert record.totals.points == 10
    assert [entry.reason for entry in record.new_points] == ["perfect score on saa-ec2-1"]
    assert PERFECT in record.progress["saa-ec2-1"].point_awards


def test_a_perfect_first_answer_also_unlocks_first_steps_and_perfectionist_in_order() -> None:
    record = record_for()
    outcome = apply(record, event(score=1.0))
    assert keys(outcome.unlocks) == ["first-event", "perfect-score"]
    assert [unlock.seq for unlock in outcome.unlocks] == [1, 2]
    assert outcome.points == 10 + 10 + 50
    assert record.totals.points == 70


def test_loaded_points_are_added_to() -> None:
    record = record_for(points=1234)
    apply(record, event(type=EventType.COMPLETED, score=None), rules=NO_ACHIEVEMENTS)
    assert record.totals.points == 1244


# Unlocks once, in sequence


def test_an_achievement_already_unlocked_is_not_unlocked_again() -> None:
    record = record_for(unlocks=1)
    record.unlocked = {"first-event"}
    outcome = apply(record, event(score=0.5))
    assert outcome.unlocks == ()
    assert record.new_unlocks == []
    assert record.totals.unlocks == 1
    assert record.totals.points == 0


def test_the_unlock_sequence_continues_from_the_loaded_totals() -> None:
    record = record_for(unlocks=7)
    record.unlocked = {"earlier"}
    outcome = apply(record, event(score=0.5))
    assert [(unlock.key, unlock.seq) for unlock in outcome.unlocks] == [("first-event", 8)]
    assert record.totals.unlocks == 8


def test_seq_increments_across_unlocks_in_successive_events() -> None:
    rules = Rules(
        achievements=(
            achievement("one-event", RuleType.FIRST_EVENT, 1, points=1),
            achievement("two-events", RuleType.FIRST_EVENT, 2),
            achievement("two-done", RuleType.COMPLETIONS, 1, points=3),
            achievement("three-events", RuleType.FIRST_EVENT, 3),
        ),
        streak_day_points=0,
    )
    record = record_for()
    per_event = [
        apply(record, event(score=0.5), rules=rules),
        apply(record, event(type=EventType.COMPLETED, score=None), rules=rules),
        apply(record, event(score=0.5), rules=rules),
        apply(record, event(score=0.5), rules=rules),
    ]
    assert [[(u.key, u.seq) for u in outcome.unlocks] for outcome in per_event] == [
        [("one-event", 1)],
        [("two-events", 2), ("two-done", 3)],
        [("three-events", 4)],
        [],
    ]
    assert [u.seq for u in record.new_unlocks] == [1, 2, 3, 4]
    assert record.totals.unlocks == 4
    # Achievements worth no points add no ledger entry.
    assert [
        (p.reference, p.amount) for p in record.new_points if p.source is PointsSource.ACHIEVEMENT
    ] == [
        ("one-event", 1),
        ("two-done", 3),
    ]
    assert record.totals.points == 1 + 10 + 3


def test_a_certification_scoped_achievement_unlocks_only_for_that_certifications_items() -> None:
    scoped = AchievementDefinition(
        key="first-dva",
        title="First DVA",
        description="A first DVA activity",
        icon="*",
        points=5,
        rule=RuleType.FIRST_EVENT,
        threshold=1,
        certification="DVA",
    )
    record = record_for()
    rules = Rules(achievements=(scoped,))
    assert apply(record, event(score=0.5), rules=rules).unlocks == ()
    dva_item = content_item(id="dva-1", certification="DVA")
    outcome = apply(record, event(score=0.5, content_id="dva-1"), rules=rules, item=dva_item)
    assert [(u.key, u.certification) for u in outcome.unlocks] == [("first-dva", "DVA")]


# Mastered skills

# A high prior makes one correct answer master the skill and one wrong answer lose it.
QUICK = BktParams(prior=0.9, learn=0.0, guess=0.2, slip=0.1)
QUICK_RULES = Rules(skill_params={"ec2": QUICK, "vpc": QUICK}, achievements=DEFAULT_ACHIEVEMENTS)


def test_the_mastered_count_follows_mastery_and_its_achievement_unlocks_once() -> None:
    record = record_for()
    mastered_now = []
    counts = []
    unlocked = []
    for minutes, correct in enumerate((True, False, True, True, False, True)):
        answer = event(score=None, correct=correct, occurred_at=at(minutes * 10))
        outcome = apply(record, answer, rules=QUICK_RULES)
        mastered_now.append(record.skills["ec2"].mastered)
        counts.append(record.totals.mastered_skills)
        unlocked.append(keys(outcome.unlocks))

    assert mastered_now == [True, False, True, True, False, True]
    assert counts == [1, 0, 1, 1, 0, 1]
    assert unlocked == [["mastery-1", "first-event"], [], [], [], [], []]


def test_each_skill_mastered_in_one_event_counts() -> None:
    record = record_for(mastered_skills=4)
    two_skills = content_item(skill_ids=("ec2", "vpc"))
    outcome = apply(record, event(score=None, correct=True), rules=QUICK_RULES, item=two_skills)
    assert record.totals.mastered_skills == 6
    assert "mastery-5" in keys(outcome.unlocks)


def test_a_skill_not_yet_mastered_does_not_count() -> None:
    record = record_for()
    apply(record, event(score=None, correct=True))
    assert not record.skills["ec2"].mastered
    assert record.totals.mastered_skills == 0


# Streaks

DAY_1, DAY_2, DAY_3 = date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8)


def on(day: date) -> LearningEvent:
    return event(score=0.5, occurred_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC))


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations([DAY_1, DAY_2, DAY_3])),
    ids=lambda order: "-".join(str(day.day - 5) for day in order),
)
def test_three_consecutive_local_days_unlock_the_3_day_streak_on_the_event_completing_the_run(
    order: tuple[date, ...],
) -> None:
    record = record_for()
    events = [on(day) for day in order]
    outcomes = [apply(record, each) for each in events]

    assert ["streak-3" in keys(outcome.unlocks) for outcome in outcomes] == [False, False, True]
    assert record.totals.active_days == ((DAY_1, DAY_3),)
    streak = next(u for u in record.new_unlocks if u.key == "streak-3")
    assert streak.points == 30
    assert streak.event_id == events[-1].event_id


def test_the_streak_unlock_waits_for_the_late_middle_day() -> None:
    record = record_for()
    apply(record, on(DAY_3))
    apply(record, on(DAY_1))
    assert record.totals.active_days == ((DAY_1, DAY_1), (DAY_3, DAY_3))
    late = on(DAY_2)
    outcome = apply(record, late)
    assert [(u.key, u.seq, u.event_id) for u in outcome.unlocks] == [("streak-3", 2, late.event_id)]
    assert record.totals.points == 10 + 30


def test_more_events_on_the_same_day_do_not_lengthen_the_streak() -> None:
    record = record_for()
    for hour in (0, 9, 23):
        apply(record, event(score=0.5, occurred_at=datetime(2026, 3, 8, hour, tzinfo=UTC)))
    apply(record, on(DAY_2))
    assert record.totals.active_days == ((DAY_2, DAY_3),)
    assert "streak-3" not in record.unlocked


# 23:30 EST on Sat 7 March, then 23:30 and 00:30 EDT around New York's spring-forward night.
NEW_YORK_NIGHTS = [
    datetime(2026, 3, 8, 4, 30, tzinfo=UTC),
    datetime(2026, 3, 9, 3, 30, tzinfo=UTC),
    datetime(2026, 3, 9, 4, 30, tzinfo=UTC),
]


@pytest.mark.parametrize(
    ("time_zone", "active_days", "unlocked"),
    [
        ("America/New_York", ((date(2026, 3, 7), date(2026, 3, 9)),), True),
        ("Asia/Tokyo", ((date(2026, 3, 8), date(2026, 3, 9)),), False),
    ],
)
def test_streak_days_are_the_learners_local_days(
    time_zone: str, active_days: tuple[tuple[date, date], ...], unlocked: bool
) -> None:
    record = record_for(time_zone)
    for instant in NEW_YORK_NIGHTS:
        apply(record, event(score=0.5, occurred_at=instant))
    assert record.totals.active_days == active_days
    assert ("streak-3" in record.unlocked) is unlocked
