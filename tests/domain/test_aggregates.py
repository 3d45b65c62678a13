"""Aggregates as sums of contributions: each definition, and the telescoping that keeps them
exact whatever order changes come in."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from domain.achievements import RuleType, Unlock
from domain.activity import ActivityBucket, DailyRollup
from domain.aggregates import (
    DAY,
    HOUR,
    ITEM,
    SKILL,
    TOTAL,
    WEEK,
    AggregateChange,
    Counters,
    LearnerSlice,
    RosterChange,
    Standing,
    add_into,
    all_presence_targets,
    counted_answer,
    difference,
    field_key,
    group_contribution,
    key_of_field,
    negated,
    presence_contribution,
    presence_targets,
    recording_counts,
    session_contribution,
    unlock_contribution,
)
from domain.guard import GuardReason
from domain.mastery import SkillState
from domain.progress import ContentProgress
from domain.risk import RiskSchedule
from domain.streaks import add_day
from domain.totals import LearnerTotals, Tally

MONDAY = date(2026, 3, 9)


def progress(
    content_id: str, *, events: int, answers: int, correct: int, seconds: float
) -> ContentProgress:
    return ContentProgress(
        "ada",
        content_id,
        events=events,
        answers=answers,
        correct=correct,
        time_spent_seconds=seconds,
    )


def rollup(
    day: date, *, events: int, seconds: float = 60.0, hours: tuple[int, ...] = (9,)
) -> DailyRollup:
    bucket = ActivityBucket(events=events, time_spent_seconds=seconds)
    return DailyRollup("ada", day, total=bucket, by_hour={hour: bucket for hour in hours})


def test_a_members_items_skills_days_weeks_and_totals_contribute_to_the_group() -> None:
    totals = LearnerTotals(
        "ada",
        overall=Tally(
            events=5, scored=2, score_sum=1.5, items_completed=1, time_spent_seconds=90.5
        ),
        active_days=((MONDAY, MONDAY + timedelta(days=1)),),
        mastered_skills=2,
    )
    part = LearnerSlice(
        totals=totals,
        progress={"q1": progress("q1", events=3, answers=2, correct=1, seconds=30.25)},
        skills={
            "ec2": SkillState("ada", "ec2", 0.0, 0.0, attempts=2, correct=1, time_spent_seconds=30)
        },
        days={MONDAY: rollup(MONDAY, events=3)},
        weeks={MONDAY: rollup(MONDAY, events=5)},
    )

    counters = group_contribution(part)

    assert counters[(ITEM, "q1")] == {
        "learners": 1,
        "answered": 1,
        "answers": 2,
        "correct": 1,
        "ms": 30250,
    }
    assert counters[(SKILL, "ec2")] == {
        "learners": 1,
        "answered": 1,
        "answers": 2,
        "correct": 1,
        "ms": 30000,
    }
    assert counters[(DAY, "2026-03-09")] == {"events": 3, "ms": 60000, "active": 1}
    assert counters[(DAY, "2026-03-10")] == {"lastActive": 1}  # their last active local day
    assert counters[(WEEK, "2026-03-09")] == {"active": 1}
    assert counters[(TOTAL, "")] == {
        "members": 1,
        "events": 5,
        "ms": 90500,
        "scored": 2,
        "scoreMicros": 1_500_000,
        "completed": 1,
        "mastered": 2,
    }


def test_an_item_only_viewed_counts_its_learner_but_no_answer() -> None:
    part = LearnerSlice(
        totals=LearnerTotals("ada"),
        progress={"l1": progress("l1", events=1, answers=0, correct=0, seconds=600)},
    )

    assert group_contribution(part)[(ITEM, "l1")] == {"learners": 1, "ms": 600000}


def test_a_change_is_the_difference_of_contributions_and_zeros_drop_out() -> None:
    before: Counters = {(ITEM, "q1"): {"answers": 2, "correct": 1}, (DAY, "d"): {"lastActive": 1}}
    after: Counters = {(ITEM, "q1"): {"answers": 3, "correct": 1}, (DAY, "e"): {"lastActive": 1}}

    assert difference(after, before) == {
        (ITEM, "q1"): {"answers": 1},
        (DAY, "d"): {"lastActive": -1},
        (DAY, "e"): {"lastActive": 1},
    }
    assert add_into(dict(before), negated(before)) == {}


def test_changes_telescope_to_the_last_contribution_whatever_order_they_are_applied_in() -> None:
    rng = random.Random(3)
    states = [{(ITEM, f"q{rng.randrange(3)}"): {"answers": rng.randrange(1, 9)}} for _ in range(12)]
    changes = [difference(b, a) for a, b in zip([{}, *states], states, strict=False)]
    rng.shuffle(changes)

    total: Counters = {}
    for change in changes:
        add_into(total, change)

    assert total == states[-1]


def test_presence_counts_a_utc_day_once_and_moves_the_last_active_day() -> None:
    before = ((date(2026, 3, 2), date(2026, 3, 3)),)
    after = add_day(before, date(2026, 3, 10))
    days, weeks = presence_targets(before, after, [date(2026, 3, 10)])

    change = difference(
        presence_contribution(after, days=days, weeks=weeks),
        presence_contribution(before, days=days, weeks=weeks),
    )

    assert change == {
        (DAY, "2026-03-10"): {"active": 1, "lastActive": 1},
        (DAY, "2026-03-03"): {"lastActive": -1},
        (WEEK, "2026-03-09"): {"active": 1, "retained": 1},  # active the week before too
    }


def test_an_old_day_arriving_late_moves_no_last_active_day_and_is_counted_once() -> None:
    runs = ((date(2026, 3, 2), date(2026, 3, 2)), (date(2026, 3, 10), date(2026, 3, 10)))
    after = add_day(runs, date(2026, 2, 20))
    days, weeks = presence_targets(runs, after, [date(2026, 2, 20)])
    change = difference(
        presence_contribution(after, days=days, weeks=weeks),
        presence_contribution(runs, days=days, weeks=weeks),
    )
    again = add_day(after, date(2026, 2, 20))

    assert change == {(DAY, "2026-02-20"): {"active": 1}, (WEEK, "2026-02-16"): {"active": 1}}
    assert again == after  # the same day again changes nothing


def test_a_late_week_retains_into_the_week_after() -> None:
    runs = ((date(2026, 3, 9), date(2026, 3, 9)),)
    after = add_day(runs, date(2026, 3, 4))  # the week before
    days, weeks = presence_targets(runs, after, [date(2026, 3, 4)])

    change = difference(
        presence_contribution(after, days=days, weeks=weeks),
        presence_contribution(runs, days=days, weeks=weeks),
    )

    assert change[(WEEK, "2026-03-02")] == {"active": 1}
    assert change[(WEEK, "2026-03-09")] == {"retained": 1}


def test_building_presence_from_scratch_equals_adding_days_one_by_one() -> None:
    rng = random.Random(5)
    added = [date(2026, 1, 1) + timedelta(days=rng.randrange(60)) for _ in range(40)]
    runs: tuple[tuple[date, date], ...] = ()
    total: Counters = {}
    for day in added:
        new = add_day(runs, day)
        days, weeks = presence_targets(runs, new, [day])
        add_into(
            total,
            difference(
                presence_contribution(new, days=days, weeks=weeks),
                presence_contribution(runs, days=days, weeks=weeks),
            ),
        )
        runs = new
    days, weeks = all_presence_targets(runs)

    assert total == presence_contribution(runs, days=days, weeks=weeks)


def test_sessions_come_from_session_ids_or_runs_of_active_hours() -> None:
    with_ids = DailyRollup(
        "ada",
        MONDAY,
        total=ActivityBucket(events=2, time_spent_seconds=120),
        sessions=frozenset({"s1", "s2"}),
    )
    by_hours = rollup(MONDAY + timedelta(days=1), events=3, hours=(8, 9, 14))

    assert session_contribution([with_ids, by_hours]) == {
        (DAY, "2026-03-09"): {"sessions": 2, "sessionMs": 120000},
        (DAY, "2026-03-10"): {"sessions": 2, "sessionMs": 60000},
    }


def test_unlocks_count_per_utc_day_and_key_and_events_per_received_minute() -> None:
    at = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    unlock = Unlock(
        learner_id="ada",
        key="streak.7",
        seq=1,
        title="7 days",
        description="",
        icon="*",
        points=5,
        rule=RuleType.STREAK_DAYS,
        certification=None,
        unlocked_at=at,
        event_id="e",
        recorded_at=at,
    )

    assert unlock_contribution([unlock]) == {(DAY, "2026-03-10"): {"badges.streak%2E7": 1}}
    assert key_of_field(field_key("streak.7")) == "streak.7"
    assert recording_counts([at, at, at + timedelta(minutes=1)]) == {
        (HOUR, "2026-03-10T23"): {"m.30": 2, "m.31": 1}
    }


def test_answers_held_back_by_the_guard_do_not_count() -> None:
    assert counted_answer(correct=True, score=None, guarded=[], pass_threshold=0.7) is True
    assert counted_answer(correct=None, score=0.5, guarded=[], pass_threshold=0.7) is False
    assert counted_answer(correct=None, score=None, guarded=[], pass_threshold=0.7) is None
    assert (
        counted_answer(correct=True, score=None, guarded=[GuardReason.REPEAT], pass_threshold=0.7)
        is None
    )
    assert (
        counted_answer(
            correct=True, score=None, guarded=[GuardReason.TIME_CAPPED], pass_threshold=0.7
        )
        is True
    )


def test_merged_changes_add_counters_and_keep_each_members_latest_place() -> None:
    early = RiskSchedule(since=datetime(2026, 3, 1, tzinfo=UTC))
    late = RiskSchedule(since=datetime(2026, 3, 9, tzinfo=UTC))
    one = AggregateChange(
        groups={"g": {(ITEM, "q1"): {"answers": 1}}},
        roster=[RosterChange("g", "ada", 3, late)],
    )
    two = AggregateChange(
        groups={"g": {(ITEM, "q1"): {"answers": -1}}},
        system={(DAY, "d"): {"active": 1}},
        roster=[RosterChange("g", "ada", 2, early), RosterChange("g", "bob", 1, None)],
    )

    one.merge(two)

    assert one.groups == {}
    assert one.system == {(DAY, "d"): {"active": 1}}
    assert sorted(one.roster, key=lambda c: c.learner_id) == [
        RosterChange("g", "ada", 3, late),
        RosterChange("g", "bob", 1, None),
    ]


def test_standing_keeps_utc_days_as_runs() -> None:
    standing = Standing("ada").with_days([date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 9)])

    assert standing.utc_days == ((date(2026, 3, 2), date(2026, 3, 3)), (date(2026, 3, 9),) * 2)
