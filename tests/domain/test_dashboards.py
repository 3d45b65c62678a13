"""The dashboards' definitions: risk schedules, a group's overview, concept difficulty, the
member order, interventions and the system's metrics."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.activity import ActivityBucket, DailyRollup
from domain.dashboards import (
    Difficulty,
    GroupDay,
    GroupTotals,
    RosterEntry,
    SystemDay,
    SystemWeek,
    at_risk,
    hardest,
    member_standing,
    members_page,
    overview,
    system_metrics,
    window_days,
)
from domain.risk import (
    NEVER_ACTIVE,
    RiskSchedule,
    RiskSettings,
    assess_risk,
    risk_schedule,
)
from domain.streaks import add_day, streak_on
from domain.suggestions import (
    HardConcept,
    InterventionKind,
    LearnerAtRisk,
    intervene,
)
from domain.totals import LearnerTotals, Tally

TODAY = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def day_of(day: date, *, scored: int = 0, average: float = 0.0, events: int = 1) -> DailyRollup:
    bucket = ActivityBucket(
        events=events, time_spent_seconds=300, scored=scored, score_sum=scored * average
    )
    return DailyRollup("ada", day, total=bucket)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize("seed", range(12))
def test_a_schedule_says_what_assessing_each_day_would(zone: str, seed: int) -> None:
    rng = random.Random(seed)
    last = TODAY - timedelta(days=rng.randrange(0, 3))
    days = sorted(
        {last - timedelta(days=rng.randrange(0, 20)) for _ in range(rng.randrange(1, 12))} | {last}
    )
    runs: tuple[tuple[date, date], ...] = ()
    for day in days:
        runs = add_day(runs, day)
    recent = [
        day_of(day, scored=rng.randrange(0, 5), average=rng.choice([0.4, 0.6, 0.9]))
        for day in days
        if day >= last - timedelta(days=13)
    ]
    settings = RiskSettings(inactive_days=rng.choice([3, 7, 10]))
    # Streak freezes: some missed days covered, some held for the days to come.
    frozen: tuple[tuple[date, date], ...] = ()
    for day in {last - timedelta(days=rng.randrange(1, 20)) for _ in range(rng.randrange(0, 3))}:
        if day not in days:
            frozen = add_day(frozen, day)
    held = rng.randrange(0, 3)

    schedule = risk_schedule(
        active_days=runs,
        recent=recent,
        time_zone=zone,
        settings=settings,
        frozen_days=frozen,
        freezes_held=held,
    )

    for offset in range(0, 16):
        today = last + timedelta(days=offset)
        streak = streak_on(runs, today=today, local_hour=0, frozen=frozen, freezes_held=held)
        expected = bool(assess_risk(today=today, streak=streak, recent=recent, settings=settings))
        for hour in (0, 13, 23):
            local = datetime.combine(today, time(hour), tzinfo=ZoneInfo(zone))
            assert schedule.at_risk(local.astimezone(UTC)) == expected, (today, hour)


def test_held_freezes_keep_a_streak_from_counting_as_broken_until_they_are_spent() -> None:
    runs = ((TODAY - timedelta(days=4), TODAY - timedelta(days=1)),)  # four days, then none

    def at_risk(day: date, held: int) -> bool:
        schedule = risk_schedule(active_days=runs, recent=(), time_zone="UTC", freezes_held=held)
        return schedule.at_risk(datetime.combine(day, time(12), tzinfo=UTC))

    # Today can still extend it; tomorrow it is broken, unless a held freeze covers today.
    assert not at_risk(TODAY, held=0) and not at_risk(TODAY, held=1)
    assert at_risk(TODAY + timedelta(days=1), held=0)
    assert not at_risk(TODAY + timedelta(days=1), held=1)
    assert at_risk(TODAY + timedelta(days=2), held=1)


def test_a_learner_never_active_is_at_risk_from_the_start() -> None:
    schedule = risk_schedule(active_days=(), recent=(), time_zone="UTC")

    assert schedule.since == NEVER_ACTIVE and schedule.at_risk(NOW)


def test_falling_scores_make_a_window_before_inactivity() -> None:
    last = TODAY
    recent = [
        day_of(last - timedelta(days=10), scored=4, average=0.9),
        day_of(last, scored=4, average=0.5),
    ]
    runs = ((last - timedelta(days=10), last - timedelta(days=10)), (last, last))

    schedule = risk_schedule(active_days=runs, recent=recent, time_zone="UTC")

    # Until the good week leaves the earlier window (the 13th), then inactive from the 17th.
    assert schedule.windows == (
        (datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 14, tzinfo=UTC)),
    )
    assert schedule.since == datetime(2026, 3, 17, tzinfo=UTC)
    assert schedule.at_risk_since(NOW) == datetime(2026, 3, 10, tzinfo=UTC)
    assert schedule.at_risk_since(NOW + timedelta(days=4)) is None


def entry(learner_id: str, since: datetime, *windows: tuple[datetime, datetime]) -> RosterEntry:
    return RosterEntry(learner_id, RiskSchedule(since=since, windows=tuple(windows)))


def test_members_are_ordered_by_when_they_are_at_risk_and_paged_after_a_cursor() -> None:
    roster = [
        entry("ada", NOW + timedelta(days=5)),
        entry("bob", NOW - timedelta(days=3)),
        entry("cy", NEVER_ACTIVE),
        entry("dan", NOW - timedelta(days=3)),
    ]

    page, more = members_page(roster, after=None, limit=3)
    rest, none = members_page(roster, after=page[-1].order, limit=3)

    assert [e.learner_id for e in page] == ["cy", "bob", "dan"] and more
    assert [e.learner_id for e in rest] == ["ada"] and not none


def test_at_risk_members_include_those_in_a_window_with_when_it_began() -> None:
    started = NOW - timedelta(hours=6)
    roster = [
        entry("ada", NOW + timedelta(days=5), (started, NOW + timedelta(hours=6))),
        entry("bob", NOW - timedelta(days=3)),
        entry("cy", NOW + timedelta(days=1)),
    ]

    assert [(e.learner_id, since) for e, since in at_risk(roster, NOW)] == [
        ("bob", NOW - timedelta(days=3)),
        ("ada", started),
    ]


def test_the_overview_reads_the_last_seven_days_and_tomorrow() -> None:
    days = [
        GroupDay(TODAY + timedelta(days=1), events=2, ms=60_000, last_active=1),  # Tokyo
        GroupDay(TODAY, events=4, ms=180_000, active=2, last_active=1),
        GroupDay(TODAY - timedelta(days=6), events=1, ms=60_000, active=1, last_active=1),
        GroupDay(TODAY - timedelta(days=7), events=9, ms=600_000, active=1, last_active=2),
    ]
    totals = GroupTotals(members=5, scored=4, score_micros=3_000_000, completed=10, mastered=3)

    found = overview(totals, days, active_this_week=3, today=TODAY, catalog_items=20, at_risk=2)

    assert len(window_days(TODAY)) == 8
    assert found.active_last_7_days == 3
    assert found.minutes_last_7_days == 5.0
    assert found.events_last_7_days == 7
    assert found.average_minutes_per_active_member == pytest.approx(5 / 3)
    assert found.completion_rate == 10.0  # 10 of 5 members x 20 items
    assert found.average_score == 75.0
    assert (found.members, found.active_this_week, found.at_risk) == (5, 3, 2)


def test_an_empty_group_has_no_averages() -> None:
    found = overview(GroupTotals(), [], active_this_week=0, today=TODAY, catalog_items=0, at_risk=0)

    assert found.average_minutes_per_active_member is None
    assert found.average_score is None and found.completion_rate == 0.0


def test_the_hardest_concepts_come_first() -> None:
    entries = [
        Difficulty("easy", learners=4, answered_learners=4, answers=8, correct=8),
        Difficulty("hard", learners=3, answered_learners=3, answers=12, correct=3),
        Difficulty("tied", learners=2, answered_learners=2, answers=4, correct=1),
        Difficulty("lesson", learners=5, ms=600_000),
        Difficulty("nobody", learners=0),
    ]

    ranked = hardest(entries, 10)

    # hard and tied both 25 %: more attempts per learner first
    assert [d.key for d in ranked] == ["hard", "tied", "easy", "lesson"]
    assert ranked[0].average_attempts == 4.0
    assert ranked[-1].average_minutes == 2.0 and ranked[-1].success_rate is None
    assert [d.key for d in hardest(entries, 1)] == ["hard"]


def test_a_members_row_counts_their_own_last_seven_days() -> None:
    totals = LearnerTotals(
        "ada",
        overall=Tally(items_completed=3, scored=2, score_sum=1.6),
        active_days=((TODAY - timedelta(days=8), TODAY - timedelta(days=8)), (TODAY, TODAY)),
        mastered_skills=1,
        points=40,
    )
    recent = [day_of(TODAY - timedelta(days=8), events=5), day_of(TODAY, events=2)]

    row = member_standing(
        "ada", totals, recent, today=TODAY, catalog_items=12, at_risk_since=None, risk_reasons=()
    )

    assert (row.events_last_7_days, row.active_days_last_7_days) == (2, 1)
    assert row.minutes_last_7_days == 5.0
    assert row.completion_rate == 25.0 and row.average_score == pytest.approx(80.0)
    assert (row.current_streak, row.last_active, row.points) == (1, TODAY, 40)


def test_a_members_streak_counts_the_days_a_freeze_covered_as_their_own_streak_does() -> None:
    totals = LearnerTotals(
        "ada",
        active_days=((TODAY - timedelta(days=4), TODAY - timedelta(days=2)),),
        frozen_days=((TODAY - timedelta(days=1), TODAY - timedelta(days=1)),),
    )

    row = member_standing(
        "ada", totals, [], today=TODAY, catalog_items=12, at_risk_since=None, risk_reasons=()
    )

    # Three active days; yesterday's freeze keeps the streak alive (it counts active days).
    assert row.current_streak == 3


def test_interventions_put_the_class_first_then_the_learners_at_risk() -> None:
    found = intervene(
        members=10,
        active_last_7_days=3,
        hardest_item=HardConcept("q1", "EC2 types", 30.0, 20, 6),
        hardest_skill=HardConcept("s3", "S3", 55.0, 4, 2),  # too few answers to judge
        at_risk=[LearnerAtRisk("ada", "Ada", ("No activity for 9 days",))],
        limit=5,
    )

    assert [(i.rank, i.kind) for i in found] == [
        (1, InterventionKind.RE_ENGAGE),
        (2, InterventionKind.RETEACH_ITEM),
        (3, InterventionKind.REACH_OUT),
    ]
    assert found[1].message == "Go over “EC2 types” with the class: 30 % of 20 answers were right."
    assert found[1].content_id == "q1"
    assert found[2].message == "Check in with Ada: no activity for 9 days."
    assert (
        len(
            intervene(
                members=10,
                active_last_7_days=3,
                hardest_item=None,
                hardest_skill=None,
                at_risk=[],
                limit=0,
            )
        )
        == 0
    )


def test_system_metrics_define_dau_mau_sessions_retention_badges_and_rate() -> None:
    days = {
        TODAY: SystemDay(
            TODAY,
            active=4,
            last_active=3,
            sessions=5,
            session_ms=25 * 60_000,
            badges={"first-event": 2},
        ),
        TODAY - timedelta(days=1): SystemDay(
            TODAY - timedelta(days=1), active=2, last_active=1, sessions=1, session_ms=5 * 60_000
        ),
        TODAY - timedelta(days=29): SystemDay(TODAY - timedelta(days=29), active=1, last_active=2),
        TODAY - timedelta(days=30): SystemDay(TODAY - timedelta(days=30), active=7, last_active=7),
    }
    monday = date(2026, 3, 9)
    weeks = {
        monday: SystemWeek(monday, active=5, retained=2),
        monday - timedelta(days=7): SystemWeek(monday - timedelta(days=7), active=4, retained=3),
        monday - timedelta(days=14): SystemWeek(monday - timedelta(days=14), active=6),
    }
    minute = NOW.replace(second=0)
    minutes = {minute: 7, minute - timedelta(minutes=1): 30, minute - timedelta(minutes=61): 99}

    m = system_metrics(
        now=NOW + timedelta(seconds=20), span=7, days=days, weeks=weeks, minutes=minutes
    )

    assert m.dau == 4
    assert m.mau == 6  # last-active days in the last 30: 3 + 1 + 2, not the sum of DAUs
    assert [d.learners for d in m.daily_active] == [0, 0, 0, 0, 0, 2, 4]
    assert m.stickiness == pytest.approx((4 + 2 + 1) / 30 / 6 * 100)
    assert (m.sessions, m.average_session_minutes) == (6, 5.0)
    assert m.streak_retention == 50.0  # last week: 3 of the 6 active the week before
    assert m.weekly_retention[-1].rate == 50.0  # this week so far: 2 of 4
    assert [(b.key, b.awards, b.per_day) for b in m.badge_awards] == [("first-event", 2, 2 / 7)]
    assert m.events_per_minute.current_minute == 7
    assert m.events_per_minute.last_hour_average == 0.5
