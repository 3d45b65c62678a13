"""The gamification use cases on the fast database: streaks, levels, achievements, points, the
dashboard and the live feeds, as recorded events leave them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest

from domain.access import Role
from domain.achievements import DEFAULT_ACHIEVEMENTS, AchievementDefinition, RuleType, Unlock
from domain.dashboard import RecommendationKind
from domain.errors import IdempotencyConflict, InvalidInput, NotFound
from domain.events import EventDraft, EventType
from domain.learners import Learner, LearnerChanges
from domain.levels import LevelBand
from domain.points import PointsEntry, PointsSource
from domain.progress import ProgressStatus
from domain.streaks import Streak
from persistence.feed import QUEUE_SIZE, Feed, Topic
from persistence.indexes import ensure_indexes
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.topics import PROGRESS_UPDATES, UNLOCKS_FEED
from resolvers.access import Access
from resolvers.gamification import (
    GamificationSettings,
    PointsAward,
    achievements_of,
    award_points,
    dashboard,
    follow_progress,
    follow_unlocks,
    install_default_achievements,
    level_of,
    points_history,
    streak_of,
    upsert_achievement,
)
from resolvers.learners import upsert_learner
from resolvers.recording import Recorder
from tests.factories import admin, content_item, draft, skill, viewer
from tests.fakes import mongomock_database

T = TypeVar("T")
SETTINGS = GamificationSettings()
ADA = Learner(id="ada")
TOKYO_ADA = Learner(id="ada", time_zone="Asia/Tokyo")
LATER = datetime(2026, 4, 1, tzinfo=UTC)  # receipt time for every recorded event


def on(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """`hour`:`minute` UTC on `day` March 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def loaders(repositories: Repositories) -> Loaders:
    """Fresh loaders, as each request gets: nothing cached from an earlier read."""
    return Loaders(repositories)


async def record(recorder: Recorder, *drafts: EventDraft) -> None:
    results = await recorder.record_many(drafts, received_at=LATER)
    assert all(result.error is None for result in results), results


def definition(
    key: str, rule: RuleType = RuleType.FIRST_EVENT, **overrides: Any
) -> AchievementDefinition:
    values: dict[str, Any] = {
        "key": key,
        "title": key.title(),
        "description": f"The {key} achievement",
        "icon": "*",
        "points": 0,
        "rule": rule,
        "threshold": 1,
    }
    values.update(overrides)
    return AchievementDefinition(**values)


@pytest.fixture(autouse=True)
async def catalog(repositories: Repositories) -> None:
    await repositories.skills.upsert_many([skill(), skill(id="s3", name="S3")])
    await repositories.content.upsert_many(
        [
            content_item(),  # saa-ec2-1
            content_item(id="saa-s3-1", skill_ids=("s3",), category="S3"),
            content_item(id="ccp-1", certification="CCP", skill_ids=()),
        ]
    )


@pytest.fixture
async def three_days(recorder: Recorder) -> None:
    """Ada studies on 8, 9 and 10 March (UTC): two answers at 50%, then she starts an item.

    Points: 10 (first steps) + 5 (started) + 30 (3-day streak) = 45.
    """
    await record(
        recorder,
        draft(score=0.5, time_spent_seconds=600, occurred_at=on(8)),
        draft(score=0.5, time_spent_seconds=600, occurred_at=on(9)),
        draft(
            type=EventType.STARTED,
            content_id="saa-s3-1",
            score=None,
            time_spent_seconds=600,
            occurred_at=on(10),
        ),
    )


# streak_of


async def test_a_learner_without_events_has_no_streak(repositories: Repositories) -> None:
    streak = await streak_of(
        admin(repositories), loaders(repositories), ADA, now=on(10), settings=SETTINGS
    )

    assert streak == Streak(current=0, longest=0, last_active=None, active_today=False)


@pytest.mark.usefixtures("three_days")
async def test_three_days_in_a_row_up_to_today_are_a_current_streak_not_at_risk(
    repositories: Repositories,
) -> None:
    streak = await streak_of(
        admin(repositories), loaders(repositories), ADA, now=on(10, 20), settings=SETTINGS
    )

    assert streak == Streak(
        current=3, longest=3, last_active=date(2026, 3, 10), active_today=True, at_risk=False
    )


@pytest.mark.usefixtures("three_days")
async def test_the_next_evening_without_activity_the_streak_is_at_risk_from_the_chosen_hour(
    repositories: Repositories,
) -> None:
    default = await streak_of(
        admin(repositories), loaders(repositories), ADA, now=on(11, 19), settings=SETTINGS
    )
    later_hour = GamificationSettings(at_risk_hour=20)
    lenient = await streak_of(
        admin(repositories), loaders(repositories), ADA, now=on(11, 19), settings=later_hour
    )

    assert (default.current, default.active_today, default.at_risk) == (3, False, True)
    assert (lenient.current, lenient.at_risk) == (3, False)


@pytest.mark.usefixtures("three_days")
async def test_a_day_without_activity_ends_the_streak_but_not_the_longest(
    repositories: Repositories,
) -> None:
    streak = await streak_of(
        admin(repositories), loaders(repositories), ADA, now=on(12, 9), settings=SETTINGS
    )

    assert (streak.current, streak.longest, streak.last_active) == (0, 3, date(2026, 3, 10))


async def test_the_streak_follows_the_learners_local_days(
    repositories: Repositories, recorder: Recorder
) -> None:
    await upsert_learner(
        admin(repositories), repositories, LearnerChanges(id="ada", time_zone="Asia/Tokyo")
    )
    await record(recorder, draft(occurred_at=on(10, 9)))  # 18:00 on the 10th in Tokyo

    # 16:00 UTC on the 10th is 01:00 on the 11th in Tokyo: a new day, not yet at risk.
    streak = await streak_of(
        admin(repositories), loaders(repositories), TOKYO_ADA, now=on(10, 16), settings=SETTINGS
    )

    assert streak == Streak(
        current=1, longest=1, last_active=date(2026, 3, 10), active_today=False, at_risk=False
    )


# level_of


async def test_a_learner_without_points_is_at_the_first_level(repositories: Repositories) -> None:
    level = await level_of(admin(repositories), loaders(repositories), "ada", SETTINGS)

    assert (level.number, level.name, level.points, level.next_level_at) == (1, "Novice", 0, 101)


@pytest.mark.usefixtures("three_days")
async def test_the_level_follows_the_points_earned(
    repositories: Repositories, recorder: Recorder
) -> None:
    before = await level_of(admin(repositories), loaders(repositories), "ada", SETTINGS)
    await award(recorder, amount=500)
    after = await level_of(admin(repositories), loaders(repositories), "ada", SETTINGS)

    assert (before.name, before.points, before.points_to_next) == ("Novice", 45, 56)
    assert (after.number, after.name, after.points) == (3, "Scholar", 545)


@pytest.mark.usefixtures("three_days")
async def test_the_level_bands_come_from_the_settings(repositories: Repositories) -> None:
    bands = (LevelBand("Bronze", 0), LevelBand("Silver", 40))

    level = await level_of(
        admin(repositories), loaders(repositories), "ada", GamificationSettings(levels=bands)
    )

    assert (level.number, level.name, level.next_level_at) == (2, "Silver", None)


# achievements_of


async def test_a_new_learner_sees_every_achievement_locked_at_zero(
    repositories: Repositories,
) -> None:
    statuses = await achievements_of(admin(repositories), loaders(repositories), "ada")

    stored = await repositories.achievements.all()
    assert [status.definition for status in statuses] == stored
    assert len(stored) == len(DEFAULT_ACHIEVEMENTS)
    assert all(status.unlock is None for status in statuses)
    assert {status.progress.current for status in statuses} == {0.0}


@pytest.mark.usefixtures("three_days")
async def test_achievements_show_the_unlocks_and_the_progress_towards_the_rest(
    repositories: Repositories,
) -> None:
    statuses = {
        s.definition.key: s
        for s in await achievements_of(admin(repositories), loaders(repositories), "ada")
    }

    unlocked = {key: s.unlock for key, s in statuses.items() if s.unlock is not None}
    assert {key: unlock.seq for key, unlock in unlocked.items()} == {
        "first-event": 1,
        "streak-3": 2,
    }
    assert unlocked["streak-3"].unlocked_at == on(10)
    streak_7 = statuses["streak-7"].progress
    assert (streak_7.current, streak_7.target) == (3.0, 7.0)
    assert statuses["streak-7"].unlock is None
    assert statuses["completions-10"].progress.current == 0.0


async def test_an_achievement_added_by_an_admin_is_listed_for_every_learner(
    repositories: Repositories,
) -> None:
    await upsert_achievement(
        admin(repositories), repositories, definition("early-bird", threshold=2)
    )

    statuses = await achievements_of(admin(repositories), loaders(repositories), "grace")

    [added] = [s for s in statuses if s.definition.key == "early-bird"]
    assert (added.unlock, added.progress.target) == (None, 2)


# points_history


@pytest.mark.usefixtures("three_days")
async def test_the_points_history_is_the_ledger_newest_first_up_to_first(
    repositories: Repositories, recorder: Recorder
) -> None:
    await award(recorder, award_id="a-1", amount=7, now=on(20))
    await award(recorder, award_id="a-2", amount=9, now=on(21))

    everything = await points_history(admin(repositories), repositories, "ada", first=100)
    newest = await points_history(admin(repositories), repositories, "ada", first=2)

    assert [(e.amount, e.source, e.at) for e in everything] == [
        (9, PointsSource.MANUAL, on(21)),
        (7, PointsSource.MANUAL, on(20)),
        (30, PointsSource.ACHIEVEMENT, on(10)),
        (5, PointsSource.EVENT, on(10)),
        (10, PointsSource.ACHIEVEMENT, on(8)),
    ]
    assert newest == everything[:2]
    assert await points_history(admin(repositories), repositories, "grace", first=10) == []


@pytest.mark.parametrize("first", [101, -1])
async def test_the_points_history_refuses_a_size_outside_0_to_100_naming_first(
    repositories: Repositories, first: int
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await points_history(admin(repositories), repositories, "ada", first=first)

    assert raised.value.field == "first"


# award_points

AWARDED_AT = on(15, 12)


async def award(recorder: Recorder, **overrides: Any) -> PointsAward:
    values: dict[str, Any] = {
        "learner_id": "ada",
        "award_id": "award-1",
        "amount": 50,
        "reason": "helped a peer",
        "now": AWARDED_AT,
    }
    values.update(overrides)
    coach = viewer(values.pop("awarded_by", "coach"), Role.ADMIN)
    return await award_points(
        Access(coach, Loaders(recorder.repositories)), recorder.runner, **values
    )


async def points_of(repositories: Repositories, learner_id: str = "ada") -> int | None:
    totals = (await repositories.totals.find_by_ids([learner_id])).get(learner_id)
    return None if totals is None else totals.points


async def manual_entries(repositories: Repositories, learner_id: str = "ada") -> list[PointsEntry]:
    ledger = await repositories.points.recent(learner_id, 100)
    return [entry for entry in ledger if entry.source is PointsSource.MANUAL]


@pytest.mark.usefixtures("three_days")
async def test_an_award_credits_the_learner_and_adds_one_ledger_entry(
    repositories: Repositories, recorder: Recorder
) -> None:
    result = await award(recorder, reason="  helped a peer ")

    assert (result.total, result.replayed) == (95, False)
    entry = result.entry
    assert (entry.learner_id, entry.amount, entry.reason) == ("ada", 50, "helped a peer")
    assert (entry.source, entry.reference, entry.at) == (PointsSource.MANUAL, "coach", AWARDED_AT)
    assert await points_of(repositories) == 95
    assert await manual_entries(repositories) == [entry]


@pytest.mark.usefixtures("three_days")
async def test_an_award_sent_again_returns_its_first_outcome_and_credits_once(
    repositories: Repositories, recorder: Recorder
) -> None:
    first = await award(recorder)

    again = await award(recorder, now=AWARDED_AT + timedelta(hours=1), awarded_by="other")

    assert again == replace(first, replayed=True)
    assert await points_of(repositories) == 95
    assert await manual_entries(repositories) == [first.entry]


@pytest.mark.usefixtures("three_days")
@pytest.mark.parametrize(
    "other", [{"amount": 60}, {"reason": "helped two peers"}], ids=["amount", "reason"]
)
async def test_another_award_under_a_used_award_id_is_a_conflict_and_changes_nothing(
    repositories: Repositories, recorder: Recorder, other: dict[str, Any]
) -> None:
    first = await award(recorder)

    with pytest.raises(IdempotencyConflict) as raised:
        await award(recorder, **other)

    assert (raised.value.field, raised.value.key) == ("awardId", "award-1")
    assert await points_of(repositories) == 95
    assert await manual_entries(repositories) == [first.entry]


async def test_an_award_to_an_unknown_learner_is_not_found_and_stores_nothing(
    repositories: Repositories, recorder: Recorder
) -> None:
    with pytest.raises(NotFound) as raised:
        await award(recorder, learner_id="nobody")

    assert (raised.value.kind, raised.value.ident, raised.value.field) == (
        "learner",
        "nobody",
        "learnerId",
    )
    assert await points_of(repositories, "nobody") is None
    assert await repositories.points.recent("nobody", 10) == []
    assert (await repositories.learners.find_by_ids(["nobody"])) == {}
    # The refused award left its id free: once the learner exists, it is a first award.
    await upsert_learner(admin(repositories), repositories, LearnerChanges(id="nobody"))
    assert not (await award(recorder, learner_id="nobody")).replayed


@pytest.mark.usefixtures("three_days")
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 100_001}, "amount"),
        ({"reason": "   "}, "reason"),
        ({"award_id": "a|b"}, "awardId"),
    ],
)
async def test_a_bad_award_is_refused_naming_the_field_and_stores_nothing(
    repositories: Repositories, recorder: Recorder, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await award(recorder, **overrides)

    assert raised.value.field == field
    assert await points_of(repositories) == 45
    assert await manual_entries(repositories) == []


async def test_an_award_to_a_learner_without_events_starts_their_points(
    repositories: Repositories, recorder: Recorder
) -> None:
    await upsert_learner(admin(repositories), repositories, LearnerChanges(id="grace"))

    result = await award(recorder, learner_id="grace", amount=120)

    assert result.total == 120
    assert await points_of(repositories, "grace") == 120
    level = await level_of(admin(repositories), loaders(repositories), "grace", SETTINGS)
    assert (level.name, level.points) == ("Apprentice", 120)


async def test_award_ids_are_per_learner_and_different_ids_add_up(
    repositories: Repositories, recorder: Recorder
) -> None:
    for learner_id in ("ada", "grace"):
        await upsert_learner(admin(repositories), repositories, LearnerChanges(id=learner_id))

    await award(recorder, learner_id="ada", award_id="a-1", amount=10)
    await award(recorder, learner_id="ada", award_id="a-2", amount=20)
    grace = await award(recorder, learner_id="grace", award_id="a-1", amount=30)

    assert not grace.replayed
    assert (await points_of(repositories, "ada"), await points_of(repositories, "grace")) == (
        30,
        30,
    )


# upsert_achievement and install_default_achievements


async def test_a_new_achievement_is_stored_trimmed_and_returned_as_stored(
    repositories: Repositories,
) -> None:
    returned = await upsert_achievement(
        admin(repositories),
        repositories,
        definition("saa-five", RuleType.COMPLETIONS, title="  SAA Explorer ", certification="SAA"),
    )

    assert (returned.title, returned.certification) == ("SAA Explorer", "SAA")
    stored = {d.key: d for d in await repositories.achievements.all()}
    assert stored["saa-five"] == returned


async def test_an_achievement_for_a_certification_without_content_is_refused_and_not_stored(
    repositories: Repositories,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await upsert_achievement(
            admin(repositories),
            repositories,
            definition("dva-five", RuleType.COMPLETIONS, certification="DVA"),
        )

    assert raised.value.field == "input.certification"
    assert "'DVA'" in raised.value.rule
    assert "dva-five" not in {d.key for d in await repositories.achievements.all()}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"threshold": 0}, "input.threshold"),
        ({"rule": RuleType.STREAK_DAYS, "certification": "SAA"}, "input.certification"),
        ({"points": -1}, "input.points"),
    ],
)
async def test_an_invalid_achievement_is_refused_naming_the_field_and_not_stored(
    repositories: Repositories, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await upsert_achievement(
            admin(repositories), repositories, definition("broken", **overrides)
        )

    assert raised.value.field == field
    assert "broken" not in {d.key for d in await repositories.achievements.all()}


async def test_an_edited_achievement_replaces_the_old_definition_and_survives_reinstalling(
    repositories: Repositories,
) -> None:
    edited = definition("first-event", title="Hello!", points=25)

    await upsert_achievement(admin(repositories), repositories, edited)
    await install_default_achievements(repositories)

    stored = {d.key: d for d in await repositories.achievements.all()}
    assert stored["first-event"] == edited
    assert len(stored) == len(DEFAULT_ACHIEVEMENTS)


async def test_installing_the_default_achievements_adds_the_29_built_in_ones() -> None:
    database = mongomock_database("empty")
    await ensure_indexes(database)
    empty = Repositories.over(database)

    await install_default_achievements(empty)
    await install_default_achievements(empty)

    keys = [d.key for d in await empty.achievements.all()]
    assert len(keys) == len(DEFAULT_ACHIEVEMENTS) == 29
    assert {"first-event", "perfect-score", "streak-3", "completions-10", "mastery-1"} <= set(keys)


async def test_a_learner_who_meets_a_new_achievement_unlocks_it_with_the_next_event(
    repositories: Repositories, recorder: Recorder
) -> None:
    await record(
        recorder, draft(type=EventType.COMPLETED, content_id="saa-s3-1", occurred_at=on(8))
    )
    await upsert_achievement(
        admin(repositories),
        repositories,
        definition("saa-one", RuleType.COMPLETIONS, points=20, certification="SAA"),
    )

    result = await recorder.record_one(
        draft(content_id="ccp-1", occurred_at=on(9)), received_at=LATER
    )

    assert [unlock.key for unlock in result.unlocks] == ["saa-one"]
    [status] = [
        s
        for s in await achievements_of(admin(repositories), loaders(repositories), "ada")
        if s.definition.key == "saa-one"
    ]
    assert status.unlock is not None and status.unlock.certification == "SAA"


# dashboard


@pytest.mark.usefixtures("three_days")
async def test_the_dashboard_of_a_learner_with_three_days_of_events(
    repositories: Repositories,
) -> None:
    now = on(10, 20)

    board = await dashboard(
        admin(repositories), loaders(repositories), ADA, now=now, settings=SETTINGS
    )

    assert (board.learner, board.generated_at) == (ADA, now)
    overall = board.overall
    assert (overall.content_viewed, overall.questions_answered, overall.total_events) == (2, 2, 3)
    assert overall.average_score == pytest.approx(50.0)
    assert overall.time_spent_seconds == 1800
    activity = board.activity
    assert (activity.streak.current, activity.streak.active_today) == (3, True)
    assert activity.total_interactions == 3
    assert activity.weekly_average_minutes == pytest.approx(7.5)  # 30 minutes over 4 weeks
    assert activity.most_active_certification == "SAA"
    assert [(a.certification, a.content_viewed) for a in board.certifications] == [
        ("CCP", 0),
        ("SAA", 2),
    ]
    assert len(board.trend) == 30
    assert (board.trend[0].day, board.trend[-1].day) == (date(2026, 2, 9), date(2026, 3, 10))
    assert [day.total.events for day in board.trend[-4:]] == [0, 1, 1, 1]
    assert [(u.key, u.seq) for u in board.recent_achievements] == [
        ("streak-3", 2),
        ("first-event", 1),
    ]
    assert (board.level.name, board.level.points) == ("Novice", 45)
    advice = [(r.kind, r.skill_id, r.content_id) for r in board.recommendations]
    assert advice == [
        (RecommendationKind.EXTEND_STREAK, None, None),
        (RecommendationKind.PRACTISE_SKILL, "ec2", None),
        (RecommendationKind.FINISH_ITEM, None, "saa-ec2-1"),
        (RecommendationKind.FINISH_ITEM, None, "saa-s3-1"),
    ]
    assert "Reach 7 days" in board.recommendations[0].message


async def test_the_dashboard_of_a_new_learner_is_empty_and_suggests_starting_a_streak(
    repositories: Repositories,
) -> None:
    late_evening_utc = on(10, 23, 30)  # already the 11th in Tokyo

    board = await dashboard(
        admin(repositories),
        loaders(repositories),
        TOKYO_ADA,
        now=late_evening_utc,
        settings=SETTINGS,
    )

    assert (board.overall.total_events, board.overall.average_score) == (0, None)
    assert (board.activity.streak.current, board.activity.weekly_average_minutes) == (0, 0.0)
    assert board.activity.most_active_certification is None
    assert board.trend[-1].day == date(2026, 3, 11)
    assert {day.total.events for day in board.trend} == {0}
    assert board.recent_achievements == []
    assert (board.level.number, board.level.points) == (1, 0)
    assert [r.kind for r in board.recommendations] == [RecommendationKind.START_STREAK]


async def test_the_dashboard_shows_the_five_most_recent_achievements_newest_first(
    repositories: Repositories, recorder: Recorder
) -> None:
    for n in range(2, 8):
        await upsert_achievement(
            admin(repositories), repositories, definition(f"events-{n}", threshold=n)
        )
    views = [
        draft(type=EventType.VIEWED, score=None, occurred_at=on(10, 9, minute))
        for minute in range(7)
    ]
    await record(recorder, *views)

    board = await dashboard(
        admin(repositories), loaders(repositories), ADA, now=on(10, 20), settings=SETTINGS
    )

    assert [(u.key, u.seq) for u in board.recent_achievements] == [
        ("events-7", 7),
        ("events-6", 6),
        ("events-5", 5),
        ("events-4", 4),
        ("events-3", 3),
    ]


@pytest.mark.usefixtures("three_days")
async def test_a_dashboard_without_trend_detail_keeps_the_daily_totals_only(
    repositories: Repositories,
) -> None:
    detailed = await dashboard(
        admin(repositories), loaders(repositories), ADA, now=on(10, 20), settings=SETTINGS
    )
    plain = await dashboard(
        admin(repositories),
        loaders(repositories),
        ADA,
        now=on(10, 20),
        settings=SETTINGS,
        trend_detail=False,
    )

    assert set(detailed.trend[-1].by_category) == {"S3"}
    assert plain.trend[-1].by_category == {}
    assert [d.total for d in plain.trend] == [d.total for d in detailed.trend]


# follow_unlocks and follow_progress


async def next_of(items: AsyncIterator[T]) -> T:
    return await asyncio.wait_for(anext(items), timeout=2)


async def subscribed(feed: Feed, topic: Topic[Any], key: str) -> None:
    for _ in range(100):
        if feed.subscriber_count(topic, key):
            return
        await asyncio.sleep(0)
    raise AssertionError("the follower never subscribed")


@pytest.fixture
async def counting_events(repositories: Repositories) -> None:
    """Extra achievements that unlock one by one: the n-th event unlocks `events-n`."""
    for n in range(2, 10):
        await upsert_achievement(
            admin(repositories), repositories, definition(f"events-{n}", threshold=n)
        )


def view(minute: int, learner_id: str = "ada") -> EventDraft:
    return draft(
        learner_id=learner_id, type=EventType.VIEWED, score=None, occurred_at=on(10, 9, minute)
    )


@pytest.mark.usefixtures("counting_events")
async def test_a_resuming_follower_gets_the_missed_unlocks_in_order_then_live_ones(
    repositories: Repositories, recorder: Recorder, feed: Feed
) -> None:
    await record(recorder, view(0), view(1), view(2))  # first-event, events-2, events-3

    async with contextlib.aclosing(
        follow_unlocks(admin(repositories), repositories, feed, "ada", after=1)
    ) as follower:
        missed = [await next_of(follower), await next_of(follower)]
        await record(recorder, view(3))
        live = await next_of(follower)

    assert [(u.key, u.seq) for u in missed] == [("events-2", 2), ("events-3", 3)]
    assert (live.key, live.seq) == ("events-4", 4)
    assert feed.subscriber_count(UNLOCKS_FEED, "ada") == 0


@pytest.mark.usefixtures("counting_events")
async def test_an_unlock_seen_both_in_the_catch_up_and_live_is_delivered_once(
    repositories: Repositories, recorder: Recorder, feed: Feed
) -> None:
    await record(recorder, view(0), view(1), view(2))
    stored = sorted((await repositories.unlocks.for_learners(["ada"]))["ada"], key=lambda u: u.seq)

    async with contextlib.aclosing(
        follow_unlocks(admin(repositories), repositories, feed, "ada", after=0)
    ) as follower:
        received = [await next_of(follower)]  # the live subscription is open from here on
        for unlock in stored:  # as if each had committed while the catch-up was read
            feed.publish(UNLOCKS_FEED, "ada", unlock)
        await record(recorder, view(3))
        received += [await next_of(follower) for _ in range(3)]

    assert [u.seq for u in received] == [1, 2, 3, 4]
    assert [u.key for u in received] == ["first-event", "events-2", "events-3", "events-4"]


@pytest.mark.usefixtures("counting_events")
async def test_a_follower_without_after_gets_only_live_unlocks_of_its_learner(
    repositories: Repositories, recorder: Recorder, feed: Feed
) -> None:
    await record(recorder, view(0), view(1))

    async with contextlib.aclosing(
        follow_unlocks(admin(repositories), repositories, feed, "ada", after=None)
    ) as follower:
        first = asyncio.create_task(next_of(follower))
        await subscribed(feed, UNLOCKS_FEED, "ada")
        await record(recorder, view(0, learner_id="grace"), view(2))
        unlock = await first

    assert (unlock.learner_id, unlock.key, unlock.seq) == ("ada", "events-3", 3)


async def test_a_follower_that_falls_behind_is_refused_naming_after(
    repositories: Repositories, recorder: Recorder, feed: Feed
) -> None:
    await record(recorder, view(0))  # first-event, seq 1
    [stored] = (await repositories.unlocks.for_learners(["ada"]))["ada"]
    too_many: list[Unlock] = [replace(stored, seq=n) for n in range(2, QUEUE_SIZE + 20)]

    received: list[int] = []
    async with contextlib.aclosing(
        follow_unlocks(admin(repositories), repositories, feed, "ada", after=0)
    ) as follower:
        received.append((await next_of(follower)).seq)
        for unlock in too_many:
            feed.publish(UNLOCKS_FEED, "ada", unlock)
        with pytest.raises(InvalidInput) as raised:
            while True:
                received.append((await next_of(follower)).seq)

    assert raised.value.field == "after"
    assert received == list(range(1, QUEUE_SIZE + 2))  # what it had, then let go


async def test_a_progress_follower_gets_each_change_to_the_learners_progress(
    recorder: Recorder, feed: Feed
) -> None:
    async with contextlib.aclosing(
        follow_progress(admin(recorder.repositories), feed, "ada")
    ) as follower:
        first = asyncio.create_task(next_of(follower))
        await subscribed(feed, PROGRESS_UPDATES, "ada")
        await record(recorder, draft(learner_id="grace", occurred_at=on(10, 8)))
        await record(recorder, draft(score=0.6, occurred_at=on(10, 9)))
        started = await first
        await record(recorder, draft(type=EventType.COMPLETED, score=None, occurred_at=on(10, 10)))
        finished = await next_of(follower)

    assert (started.learner_id, started.content_id, started.status) == (
        "ada",
        "saa-ec2-1",
        ProgressStatus.IN_PROGRESS,
    )
    assert started.best_score == 0.6
    assert (finished.status, finished.events) == (ProgressStatus.COMPLETED, 2)
    assert feed.subscriber_count(PROGRESS_UPDATES, "ada") == 0


async def test_a_batch_touching_an_item_twice_sends_its_final_state_once(
    recorder: Recorder, feed: Feed
) -> None:
    async with contextlib.aclosing(
        follow_progress(admin(recorder.repositories), feed, "ada")
    ) as follower:
        first = asyncio.create_task(next_of(follower))
        await subscribed(feed, PROGRESS_UPDATES, "ada")
        await record(
            recorder,
            draft(type=EventType.COMPLETED, score=None, occurred_at=on(10, 10)),
            draft(score=0.4, occurred_at=on(10, 9)),  # earlier, sent second
        )
        await record(recorder, draft(content_id="ccp-1", occurred_at=on(10, 11)))
        batch = await first
        after = await next_of(follower)

    assert (batch.content_id, batch.events, batch.status) == (
        "saa-ec2-1",
        2,
        ProgressStatus.COMPLETED,
    )
    assert after.content_id == "ccp-1"
