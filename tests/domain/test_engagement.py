"""The fold's engagement rules: daily streak points, weekly goals, freezes, badges, notices."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.achievements import DEFAULT_ACHIEVEMENTS
from domain.activity import DailyRollup
from domain.catalog import ContentItem
from domain.events import EventType, LearningEvent
from domain.goals import (
    GOAL_POINTS,
    GoalKind,
    WeeklyGoal,
    check_target,
    goal_for,
    goal_week,
    is_perfect_week,
    with_goal,
)
from domain.learners import Learner
from domain.learning import EventOutcome, LearnerRecord, Rules
from domain.mastery import BktParams
from domain.notifications import Channel, Notice, NotificationKind, Preferences, route
from domain.points import STREAK_DAY_POINTS, PointsSource
from domain.streaks import add_day
from domain.totals import LearnerTotals
from tests.domain.support import event
from tests.factories import NOW, content_item

MONDAY = date(2026, 3, 9)  # NOW is Tuesday 10 March 2026, noon UTC
EASY = BktParams(prior=0.9, learn=0.5, guess=0.1, slip=0.05)  # one right answer masters
RULES = Rules(achievements=DEFAULT_ACHIEVEMENTS)


def record_for(**totals: Any) -> LearnerRecord:
    goals = totals.pop("goals", ())
    return LearnerRecord(
        learner=Learner(id="ada"),
        totals=LearnerTotals(learner_id="ada", **totals),
        goals=goals,
    )


def apply(
    record: LearnerRecord,
    happened: LearningEvent,
    item: ContentItem | None = None,
    rules: Rules = RULES,
) -> EventOutcome:
    return record.record(happened, item or content_item(), rules=rules, recorded_at=NOW)


def minutes_goal(target: int, week: date = MONDAY) -> WeeklyGoal:
    return WeeklyGoal(GoalKind.MINUTES, target, week, set_by="ada", set_at=NOW)


def kinds(record: LearnerRecord) -> list[NotificationKind]:
    return [notice.kind for notice in record.new_notices]


def streak_points(record: LearnerRecord) -> list[str]:
    return [p.reference for p in record.new_points if p.source is PointsSource.STREAK]


# Daily streak points


def test_a_day_with_rewarded_activity_earns_its_streak_points_once() -> None:
    record = record_for()
    apply(record, event(type=EventType.VIEWED, score=None))
    apply(record, event(type=EventType.VIEWED, score=None, content_id="other"))

    assert streak_points(record) == ["streak:2026-03-10"]
    assert sum(p.amount for p in record.new_points if p.source is PointsSource.STREAK) == (
        STREAK_DAY_POINTS
    )


def test_each_day_earns_its_own_streak_points_and_a_late_recent_day_earns_too() -> None:
    record = record_for()
    apply(record, event(type=EventType.VIEWED, score=None))
    apply(record, event(type=EventType.VIEWED, score=None, occurred_at=NOW - timedelta(days=2)))

    assert sorted(streak_points(record)) == ["streak:2026-03-08", "streak:2026-03-10"]


def test_backdated_days_beyond_the_window_earn_no_streak_points() -> None:
    record = record_for()
    apply(record, event(type=EventType.VIEWED, score=None, occurred_at=NOW - timedelta(days=30)))

    assert streak_points(record) == []
    assert record.totals.active_days  # the day still counts for the streak


def test_a_guarded_event_earns_no_streak_points() -> None:
    record = record_for()
    first = event(score=0.9)
    apply(record, first)
    record.totals = LearnerTotals(learner_id="ada", recent_rewards=record.totals.recent_rewards)
    # The same answer again within the cooldown is a repeat: no reward, no day points.
    repeat = event(score=0.9, occurred_at=NOW + timedelta(seconds=30))
    outcome = apply(record, repeat)
    assert outcome.guarded
    assert streak_points(record) == ["streak:2026-03-10"]  # only the first one's


# Weekly goals


def test_meeting_the_weekly_goal_earns_fifty_points_once_and_a_notice() -> None:
    record = record_for(goals=(minutes_goal(30),))
    earlier = NOW - timedelta(hours=1)
    apply(
        record,
        event(type=EventType.VIEWED, score=None, time_spent_seconds=20 * 60, occurred_at=earlier),
    )
    assert NotificationKind.GOAL_MET not in kinds(record)

    item = content_item(id="long", estimated_minutes=60)
    later = NOW - timedelta(minutes=30)
    apply(
        record,
        event(
            type=EventType.VIEWED,
            score=None,
            time_spent_seconds=600,
            occurred_at=later,
            content_id="long",
        ),
        item,
    )
    apply(
        record,
        event(
            type=EventType.VIEWED,
            score=None,
            time_spent_seconds=60,
            occurred_at=later + timedelta(minutes=5),
            content_id="long",
        ),
        item,
    )

    goal_points = [p for p in record.new_points if p.source is PointsSource.GOAL]
    assert [(p.amount, p.reference) for p in goal_points] == [(GOAL_POINTS, "goal:2026-03-09")]
    assert record.totals.goal_weeks == (MONDAY,)
    assert kinds(record).count(NotificationKind.GOAL_MET) == 1


def test_a_goal_too_small_to_reward_is_met_but_earns_nothing() -> None:
    record = record_for(goals=(minutes_goal(1),))
    apply(record, event(type=EventType.VIEWED, score=None, time_spent_seconds=120))

    assert record.totals.goal_weeks == (MONDAY,)
    assert not [p for p in record.new_points if p.source is PointsSource.GOAL]


def test_an_items_goal_counts_items_finished_for_the_first_time_only() -> None:
    goal = WeeklyGoal(GoalKind.ITEMS, 3, MONDAY, set_by="ada", set_at=NOW)
    record = record_for(goals=(goal,))
    for n in range(3):
        # The same item completed again counts once.
        apply(
            record,
            event(
                type=EventType.COMPLETED,
                score=None,
                occurred_at=NOW - timedelta(minutes=60 - 20 * n),
            ),
        )
    assert record.weeks[MONDAY].items_finished == 1
    assert record.totals.goal_weeks == ()

    for n, item_id in enumerate(("b", "c")):
        apply(
            record,
            event(
                type=EventType.COMPLETED,
                score=None,
                content_id=item_id,
                occurred_at=NOW - timedelta(minutes=10 - 5 * n),
            ),
            content_item(id=item_id),
        )
    assert list(record.totals.goal_weeks) == [MONDAY]


def test_a_goal_holds_from_the_week_it_was_set_for_until_replaced() -> None:
    first = minutes_goal(60, MONDAY - timedelta(weeks=2))
    second = minutes_goal(90, MONDAY)
    goals = with_goal(with_goal((), second), first)
    assert goal_for(goals, MONDAY - timedelta(weeks=3)) is None
    assert goal_for(goals, MONDAY - timedelta(weeks=1)) == first
    assert goal_for(goals, MONDAY + timedelta(weeks=5)) == second
    # A second setting for the same week replaces the first.
    assert goal_for(with_goal(goals, minutes_goal(45, MONDAY)), MONDAY).target == 45  # type: ignore[union-attr]


def test_goal_targets_are_bounded_by_a_week() -> None:
    assert check_target(GoalKind.MINUTES, 10_080) == 10_080
    for kind, bad in ((GoalKind.MINUTES, 10_081), (GoalKind.MINUTES, 0), (GoalKind.ITEMS, 1001)):
        try:
            check_target(kind, bad)
        except Exception as error:
            assert "target" in str(error)
        else:
            raise AssertionError(f"{kind} {bad} accepted")


def test_goal_week_reports_progress_and_percent() -> None:
    rollup = DailyRollup(learner_id="ada", day=MONDAY)
    status = goal_week((minutes_goal(60),), MONDAY, rollup)
    assert (status.achieved, status.met, status.percent) == (0.0, False, 0.0)
    assert goal_week((), MONDAY, rollup).goal is None


def test_a_perfect_week_needs_every_days_share() -> None:
    goal = minutes_goal(70)  # ten minutes a day
    days = {
        MONDAY + timedelta(days=n): _day_with_minutes(MONDAY + timedelta(days=n), 10)
        for n in range(7)
    }
    assert is_perfect_week(goal, days, MONDAY)
    days[MONDAY + timedelta(days=3)] = _day_with_minutes(MONDAY + timedelta(days=3), 9)
    assert not is_perfect_week(goal, days, MONDAY)


def test_the_perfect_week_badge_unlocks_when_the_last_day_carries_its_share() -> None:
    record = record_for(goals=(minutes_goal(70),))
    for n in range(6):
        record.days[MONDAY + timedelta(days=n)] = _day_with_minutes(MONDAY + timedelta(days=n), 10)
    record.weeks[MONDAY] = _day_with_minutes(MONDAY, 60)
    sunday_noon = datetime.combine(MONDAY + timedelta(days=6), NOW.timetz())
    item = content_item(id="long", estimated_minutes=60)
    outcome = apply(
        record,
        event(
            type=EventType.VIEWED,
            score=None,
            time_spent_seconds=600,
            occurred_at=sunday_noon,
            content_id="long",
            received_at=sunday_noon,
        ),
        item,
    )
    assert record.totals.perfect_weeks == (MONDAY,)
    assert "perfect-week" in [u.key for u in outcome.unlocks]


def _day_with_minutes(day: date, minutes: float) -> DailyRollup:
    from domain.activity import ActivityBucket

    return DailyRollup(
        learner_id="ada", day=day, total=ActivityBucket(events=1, time_spent_seconds=minutes * 60)
    )


# Freezes in the fold


def test_coming_back_after_a_missed_day_spends_a_held_freeze_and_notices_it() -> None:
    yesterday_but_one = NOW.date() - timedelta(days=2)
    record = record_for(
        active_days=((yesterday_but_one - timedelta(days=2), yesterday_but_one),), freezes_held=1
    )
    apply(record, event(type=EventType.VIEWED, score=None))

    assert record.totals.freezes_held == 0
    assert record.totals.frozen_days == ((NOW.date() - timedelta(days=1),) * 2,)
    assert NotificationKind.FREEZE_USED in kinds(record)


# Badges


def test_five_skills_mastered_in_one_day_make_a_quick_learner() -> None:
    skills = [f"s{n}" for n in range(5)]
    rules = Rules(achievements=DEFAULT_ACHIEVEMENTS, skill_params={s: EASY for s in skills})
    record = record_for()
    unlocked: list[str] = []
    for n, skill_id in enumerate(skills):
        item = content_item(id=f"q{n}", skill_ids=(skill_id,))
        outcome = apply(
            record,
            event(
                content_id=f"q{n}", score=1.0, correct=True, occurred_at=NOW - timedelta(minutes=n)
            ),
            item,
            rules,
        )
        unlocked += [u.key for u in outcome.unlocks]
    assert record.totals.best_mastery_day == 5
    assert "quick-learner" in unlocked


def test_mastering_every_skill_of_a_subject_makes_a_subject_master() -> None:
    rules = Rules(
        achievements=DEFAULT_ACHIEVEMENTS,
        skill_params={"ec2": EASY, "ebs": EASY},
        subjects={"category:EC2": frozenset({"ec2", "ebs"})},
        subjects_of_skill={"ec2": frozenset({"category:EC2"}), "ebs": frozenset({"category:EC2"})},
    )
    record = record_for()
    first = apply(record, event(score=1.0, correct=True), content_item(), rules)
    assert "subject-master" not in [u.key for u in first.unlocks]
    second = apply(
        record,
        event(content_id="ebs-1", score=1.0, correct=True, occurred_at=NOW + timedelta(minutes=1)),
        content_item(id="ebs-1", skill_ids=("ebs",)),
        rules,
    )
    assert record.totals.subjects_mastered == frozenset({"category:EC2"})
    assert "subject-master" in [u.key for u in second.unlocks]


def test_items_from_five_subjects_make_an_explorer() -> None:
    record = record_for()
    keys: list[str] = []
    for n in range(5):
        item = content_item(id=f"i{n}", category=f"subject-{n}")
        outcome = apply(
            record,
            event(
                type=EventType.VIEWED,
                score=None,
                content_id=f"i{n}",
                occurred_at=NOW - timedelta(minutes=n),
            ),
            item,
        )
        keys += [u.key for u in outcome.unlocks]
    assert len(record.totals.subjects_tried) == 5
    assert "explorer" in keys


def test_a_peer_help_event_makes_a_helper_and_a_repeat_counts_once() -> None:
    record = record_for()
    outcome = apply(record, event(type=EventType.HELPED, score=None))
    assert "helper" in [u.key for u in outcome.unlocks]
    apply(record, event(type=EventType.HELPED, score=None, occurred_at=NOW + timedelta(seconds=20)))
    assert record.totals.overall.helped == 1


# Notices


def test_unlocks_level_ups_and_milestones_become_notices_with_stable_keys() -> None:
    record = record_for(
        points=995, active_days=((NOW.date() - timedelta(days=6), NOW.date() - timedelta(days=1)),)
    )
    apply(record, event(type=EventType.STARTED, score=None))

    by_kind = {notice.kind: notice for notice in record.new_notices}
    assert by_kind[NotificationKind.MILESTONE].key in {
        "points:1000",
        f"streak:7:{(NOW.date() - timedelta(days=6)).isoformat()}",
    }
    assert {n.key for n in record.new_notices} >= {"points:1000", "level:4", "unlock:streak-7"}
    assert all(notice.user_id == "ada" for notice in record.new_notices)
    assert by_kind[NotificationKind.LEVEL_UP].data["name"] == "Expert"


def test_a_day_already_active_spends_nothing_and_earns_no_second_freeze() -> None:
    record = record_for(
        active_days=((NOW.date(), NOW.date()),),
        freezes_held=1,
        streak_point_days=add_day((), NOW.date()),
    )
    apply(record, event(type=EventType.VIEWED, score=None))
    assert record.totals.freezes_held == 1
    assert streak_points(record) == []


def test_notices_are_routed_to_the_channels_each_user_wants() -> None:
    notices = [
        Notice("ada", "a", NotificationKind.GOAL_MET, "t", "b", NOW),
        Notice("ada", "b", NotificationKind.LEVEL_UP, "t", "b", NOW),
        Notice("bob", "c", NotificationKind.GOAL_MET, "t", "b", NOW),
    ]
    preferences = {
        "ada": Preferences(
            "ada",
            {
                NotificationKind.GOAL_MET: frozenset({Channel.WEBHOOK}),
                NotificationKind.LEVEL_UP: frozenset(),
            },
        ),
        "bob": Preferences("bob"),
    }
    inbox, outbound = route(notices, preferences, NOW)
    assert [(n.user_id, n.kind) for n in inbox] == [("bob", NotificationKind.GOAL_MET)]
    assert [m.user_id for m in outbound] == ["ada", "bob"]
    assert outbound[1].id == inbox[0].id  # one notification, under one id, on both channels
