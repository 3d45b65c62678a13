"""Weekly goals, streak freezes and the notification inbox, through their use cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest

from domain.access import Forbidden, Role
from domain.catalog import ContentKind
from domain.errors import IdempotencyConflict, InvalidInput, NotFound
from domain.events import EventType
from domain.goals import GOAL_POINTS, GoalKind
from domain.groups import GroupChanges
from domain.learners import Learner
from domain.notifications import Channel, NotificationKind
from domain.points import PointsSource
from domain.streaks import MAX_FREEZES
from domain.webhooks import OutboxMessage
from persistence.feed import Feed
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.unit_of_work import UnitOfWork
from resolvers.access import Access
from resolvers.engagement import goal_weeks, grant_freezes, set_weekly_goal
from resolvers.groups import add_members, link_guardian, upsert_group
from resolvers.notifications import inbox, mark_read, preferences, set_preferences, unread_count
from resolvers.recording import Recorder
from resolvers.webhooks import Outbox
from tests.factories import NOW, admin, content_item, draft, viewer

ADA = viewer("ada", Role.LEARNER)
BOB = viewer("bob", Role.LEARNER)
ED = viewer("ed", Role.EDUCATOR)
PAT = viewer("pat", Role.PARENT)
MONDAY = NOW.date() - timedelta(days=NOW.weekday())


def access(repositories: Repositories, who: object) -> Access:
    return Access(who, Loaders(repositories))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
async def world(repositories: Repositories) -> None:
    """ada in ed's class, pat her parent; bob elsewhere; a lesson to study."""
    system = admin(repositories)
    await repositories.learners.create_missing([Learner("ada"), Learner("bob")])
    await repositories.content.upsert_many(
        [content_item(), content_item(id="lesson", kind=ContentKind.LESSON, estimated_minutes=60)]
    )
    await upsert_group(
        system,
        repositories,
        GroupChanges("class", name="Class", educator_ids=frozenset({"ed"})),
        now=NOW,
    )
    await add_members(system, repositories, "class", ["ada"], now=NOW)
    await link_guardian(system, repositories, "pat", "ada", now=NOW)


# Weekly goals


async def test_the_learner_and_their_educator_set_goals_others_may_not(
    repositories: Repositories,
) -> None:
    goal = await set_weekly_goal(
        access(repositories, ADA),
        repositories,
        learner_id="ada",
        kind=GoalKind.MINUTES,
        target=90,
        now=NOW,
    )
    assert (goal.week, goal.set_by) == (MONDAY, "ada")
    await set_weekly_goal(
        access(repositories, ED),
        repositories,
        learner_id="ada",
        kind=GoalKind.ITEMS,
        target=5,
        now=NOW,
    )
    for who in (BOB, PAT):
        with pytest.raises(Forbidden):
            await set_weekly_goal(
                access(repositories, who),
                repositories,
                learner_id="ada",
                kind=GoalKind.MINUTES,
                target=60,
                now=NOW,
            )
    # The same week's setting was replaced: one goal for this week, the educator's.
    stored = (await repositories.goals.for_learners(["ada"]))["ada"]
    assert [(g.kind, g.target, g.set_by) for g in stored] == [(GoalKind.ITEMS, 5, "ed")]


async def test_a_goal_target_out_of_bounds_is_refused_by_name(repositories: Repositories) -> None:
    with pytest.raises(InvalidInput) as refused:
        await set_weekly_goal(
            admin(repositories),
            repositories,
            learner_id="ada",
            kind=GoalKind.MINUTES,
            target=0,
            now=NOW,
        )
    assert refused.value.field == "target"
    with pytest.raises(NotFound):
        await set_weekly_goal(
            admin(repositories),
            repositories,
            learner_id="nobody",
            kind=GoalKind.MINUTES,
            target=60,
            now=NOW,
        )


async def test_meeting_the_goal_through_recorded_events_credits_fifty_points_once(
    repositories: Repositories, recorder: Recorder
) -> None:
    await set_weekly_goal(
        admin(repositories),
        repositories,
        learner_id="ada",
        kind=GoalKind.MINUTES,
        target=30,
        now=NOW,
    )
    for n in range(3):
        await recorder.record_one(
            draft(
                event_id=f"v{n}",
                type=EventType.VIEWED,
                content_id="lesson",
                score=None,
                time_spent_seconds=15 * 60,
                occurred_at=NOW - timedelta(minutes=60 - 20 * n),
            ),
            received_at=NOW,
        )
    entries = await repositories.points.recent("ada", 50)
    goal_entries = [e for e in entries if e.source is PointsSource.GOAL]
    assert [(e.amount, e.reference) for e in goal_entries] == [(GOAL_POINTS, f"goal:{MONDAY}")]

    history = await goal_weeks(
        access(repositories, PAT), Loaders(repositories), Learner("ada"), now=NOW, weeks=3
    )
    assert [(w.week, w.met) for w in history] == [
        (MONDAY, True),
        (MONDAY - timedelta(weeks=1), False),
        (MONDAY - timedelta(weeks=2), False),
    ]
    assert history[0].achieved == 45.0
    assert history[1].goal is None  # set this week: earlier weeks had none

    # The learner is told, once.
    page = await inbox(
        access(repositories, ADA), repositories, first=50, after=None, unread_only=False
    )
    assert [n.kind for n in page.items].count(NotificationKind.GOAL_MET) == 1


async def test_goal_history_is_readable_as_the_learner_is_and_bounded(
    repositories: Repositories,
) -> None:
    with pytest.raises(Forbidden):
        await goal_weeks(
            access(repositories, BOB), Loaders(repositories), Learner("ada"), now=NOW, weeks=4
        )
    with pytest.raises(InvalidInput) as refused:
        await goal_weeks(
            access(repositories, ADA), Loaders(repositories), Learner("ada"), now=NOW, weeks=0
        )
    assert refused.value.field == "weeks"


# Streak freezes


async def test_educators_guardians_and_admins_grant_freezes_up_to_the_cap(
    repositories: Repositories,
) -> None:
    aggregation = Recorder(repositories, Feed(repositories.database, [])).aggregation
    grant, replayed = await grant_freezes(
        access(repositories, PAT),
        aggregation,
        learner_id="ada",
        grant_id="g1",
        count=1,
        reason="sick day",
        now=NOW,
    )
    assert (grant.granted, grant.held, grant.granted_by, replayed) == (1, 1, "pat", False)
    grant, _ = await grant_freezes(
        access(repositories, ED),
        aggregation,
        learner_id="ada",
        grant_id="g2",
        count=MAX_FREEZES,
        reason="holiday",
        now=NOW,
    )
    assert (grant.granted, grant.held) == (MAX_FREEZES - 1, MAX_FREEZES)
    for who in (ADA, BOB):
        with pytest.raises(Forbidden):
            await grant_freezes(
                access(repositories, who),
                aggregation,
                learner_id="ada",
                grant_id="g3",
                count=1,
                reason="self-service",
                now=NOW,
            )


async def test_a_grant_sent_again_is_replayed_and_another_under_its_id_conflicts(
    repositories: Repositories,
) -> None:
    aggregation = Recorder(repositories, Feed(repositories.database, [])).aggregation
    first, _ = await grant_freezes(
        admin(repositories),
        aggregation,
        learner_id="ada",
        grant_id="g1",
        count=1,
        reason="r",
        now=NOW,
    )
    again, replayed = await grant_freezes(
        admin(repositories),
        aggregation,
        learner_id="ada",
        grant_id="g1",
        count=1,
        reason="r",
        now=NOW + timedelta(minutes=1),
    )
    assert replayed and again == first
    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.freezes_held == 1
    with pytest.raises(IdempotencyConflict):
        await grant_freezes(
            admin(repositories),
            aggregation,
            learner_id="ada",
            grant_id="g1",
            count=2,
            reason="r",
            now=NOW,
        )
    with pytest.raises(InvalidInput) as refused:
        await grant_freezes(
            admin(repositories),
            aggregation,
            learner_id="ada",
            grant_id="g9",
            count=MAX_FREEZES + 1,
            reason="r",
            now=NOW,
        )
    assert refused.value.field == "count"


async def test_a_granted_freeze_is_spent_on_a_missed_day_and_the_learner_told(
    repositories: Repositories, recorder: Recorder
) -> None:
    three_days_ago = NOW - timedelta(days=3)
    await recorder.record_one(
        draft(event_id="old", type=EventType.VIEWED, score=None, occurred_at=three_days_ago),
        received_at=three_days_ago,
    )
    await recorder.record_one(
        draft(
            event_id="older",
            type=EventType.VIEWED,
            score=None,
            occurred_at=three_days_ago - timedelta(days=1),
        ),
        received_at=three_days_ago,
    )
    await grant_freezes(
        admin(repositories),
        recorder.aggregation,
        learner_id="ada",
        grant_id="g",
        count=2,
        reason="r",
        now=NOW,
    )
    await recorder.record_one(
        draft(event_id="back", type=EventType.VIEWED, score=None), received_at=NOW
    )

    totals = (await repositories.totals.find_by_ids(["ada"]))["ada"]
    assert totals.freezes_held == 0
    assert len(totals.frozen_days) == 1  # one run: the two missed days
    page = await inbox(
        access(repositories, ADA), repositories, first=50, after=None, unread_only=False
    )
    assert NotificationKind.FREEZE_USED in [n.kind for n in page.items]


# The inbox


async def test_the_inbox_is_the_viewers_own_paged_newest_first(
    repositories: Repositories, recorder: Recorder
) -> None:
    for n in range(3):
        await recorder.record_one(
            draft(
                event_id=f"e{n}",
                learner_id="bob",
                type=EventType.VIEWED,
                score=None,
                occurred_at=NOW - timedelta(days=n),
            ),
            received_at=NOW + timedelta(seconds=n),
        )
    bobs = access(repositories, BOB)
    everything = await inbox(bobs, repositories, first=100, after=None, unread_only=False)
    assert everything.items, "bob's first event unlocks First Steps at least"
    assert all(n.user_id == "bob" for n in everything.items)
    times = [n.recorded_at for n in everything.items]
    assert times == sorted(times, reverse=True)

    first = await inbox(bobs, repositories, first=1, after=None, unread_only=False)
    rest = await inbox(bobs, repositories, first=100, after=first.items[0].id, unread_only=False)
    assert first.has_next
    assert [n.id for n in first.items + rest.items] == [n.id for n in everything.items]

    # ada sees none of bob's, and may not page from one of his.
    adas = access(repositories, ADA)
    assert (await inbox(adas, repositories, first=10, after=None, unread_only=False)).items == []
    with pytest.raises(InvalidInput):
        await inbox(adas, repositories, first=10, after=first.items[0].id, unread_only=False)
    with pytest.raises(InvalidInput) as refused:
        await inbox(adas, repositories, first=0, after=None, unread_only=False)
    assert refused.value.field == "first"


async def test_marking_read_changes_only_the_viewers_unread_ones(
    repositories: Repositories, recorder: Recorder
) -> None:
    await recorder.record_one(
        draft(event_id="a", type=EventType.VIEWED, score=None), received_at=NOW
    )
    await recorder.record_one(
        draft(event_id="b", learner_id="bob", type=EventType.VIEWED, score=None), received_at=NOW
    )
    adas, bobs = access(repositories, ADA), access(repositories, BOB)
    unread = await unread_count(adas, repositories)
    assert unread >= 1
    [one, *_] = (await inbox(adas, repositories, first=10, after=None, unread_only=True)).items

    # bob cannot mark ada's.
    assert await mark_read(bobs, repositories, ids=[one.id], everything=False, now=NOW) == 0
    assert await mark_read(adas, repositories, ids=[one.id], everything=False, now=NOW) == 1
    assert await mark_read(adas, repositories, ids=[one.id], everything=False, now=NOW) == 0
    assert await unread_count(adas, repositories) == unread - 1
    await mark_read(adas, repositories, ids=None, everything=True, now=NOW)
    assert await unread_count(adas, repositories) == 0
    assert await unread_count(bobs, repositories) >= 1
    with pytest.raises(InvalidInput):
        await mark_read(adas, repositories, ids=[one.id], everything=True, now=NOW)


async def test_preferences_decide_which_notifications_reach_the_inbox_and_the_outbox(
    repositories: Repositories, feed: Feed
) -> None:
    written: list[OutboxMessage] = []

    class Recording(Outbox):
        """An outbox that keeps what it is given (as one with a notification service would)."""

        def write(self, unit: UnitOfWork, messages: Iterable[OutboxMessage]) -> None:
            written.extend(messages)

    recorder = Recorder(repositories, feed, outbox=Recording())
    adas = access(repositories, ADA)
    assert (await preferences(adas, repositories)).channels_for(
        NotificationKind.ACHIEVEMENT_UNLOCKED
    ) == frozenset(Channel)
    await set_preferences(
        adas, repositories, [(NotificationKind.ACHIEVEMENT_UNLOCKED, [Channel.WEBHOOK])]
    )
    await recorder.record_one(
        draft(event_id="a", type=EventType.VIEWED, score=None), received_at=NOW
    )

    page = await inbox(adas, repositories, first=50, after=None, unread_only=False)
    assert NotificationKind.ACHIEVEMENT_UNLOCKED not in [n.kind for n in page.items]
    assert [m.kind for m in written] == [NotificationKind.ACHIEVEMENT_UNLOCKED.value]
    assert written[0].user_id == "ada"
    assert written[0].payload["title"] == "Achievement unlocked: First Steps"
    with pytest.raises(InvalidInput):
        await set_preferences(
            adas,
            repositories,
            [(NotificationKind.GOAL_MET, []), (NotificationKind.GOAL_MET, [Channel.IN_APP])],
        )


async def test_a_replayed_event_makes_no_second_notification(
    repositories: Repositories, recorder: Recorder
) -> None:
    event = draft(event_id="a", type=EventType.VIEWED, score=None)
    await recorder.record_one(event, received_at=NOW)
    before = await unread_count(access(repositories, ADA), repositories)
    again = await recorder.record_one(event, received_at=NOW)
    assert again.replayed and again.notifications == ()
    assert await unread_count(access(repositories, ADA), repositories) == before
