"""The notification sweep: streaks at risk, weekly summaries for parents, interventions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.access import Role
from domain.events import EventType
from domain.groups import GroupChanges
from domain.learners import LearnerChanges
from domain.notifications import NotificationKind
from domain.risk import RiskSettings
from persistence.feed import Feed
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.gamification import GamificationSettings
from resolvers.groups import add_members, link_guardian, upsert_group
from resolvers.notifications import inbox
from resolvers.recording import Recorder
from resolvers.sweeps import NotificationSweep, SweepReport
from resolvers.webhooks import Outbox
from tests.factories import NOW, admin, content_item, draft, viewer

TUESDAY_EVENING = datetime(2026, 3, 10, 19, 0, tzinfo=UTC)  # NOW's day, past the at-risk hour


def sweep_for(repositories: Repositories, recorder: Recorder, now: datetime) -> NotificationSweep:
    return NotificationSweep(
        repositories,
        recorder.runner,
        recorder.feed,
        outbox=Outbox(),
        gamification=GamificationSettings(),
        risk=RiskSettings(),
        clock=lambda: now,
    )


async def kinds_for(repositories: Repositories, user_id: str) -> list[NotificationKind]:
    who = Access(viewer(user_id, Role.LEARNER), Loaders(repositories))
    page = await inbox(who, repositories, first=100, after=None, unread_only=False)
    return [n.kind for n in page.items]


@pytest.fixture(autouse=True)
async def catalog(repositories: Repositories) -> None:
    await repositories.content.upsert_many([content_item()])


async def studied(recorder: Recorder, learner_id: str, at: datetime, event_id: str) -> None:
    await recorder.record_one(
        draft(
            learner_id=learner_id,
            event_id=event_id,
            type=EventType.VIEWED,
            score=None,
            occurred_at=at,
        ),
        received_at=at,
    )


async def test_a_streak_alive_but_not_kept_today_is_at_risk_once_a_day(
    repositories: Repositories, recorder: Recorder
) -> None:
    for days in (1, 2):
        await studied(recorder, "ada", NOW - timedelta(days=days), f"e{days}")
    await studied(recorder, "bob", NOW - timedelta(hours=2), "b1")  # studied today: safe

    assert (await sweep_for(repositories, recorder, NOW).streaks_at_risk(NOW)) == 0  # noon
    sweep = sweep_for(repositories, recorder, TUESDAY_EVENING)
    assert await sweep.streaks_at_risk(TUESDAY_EVENING) == 1
    assert await sweep.streaks_at_risk(TUESDAY_EVENING + timedelta(hours=1)) == 0  # once a day

    assert NotificationKind.STREAK_AT_RISK in await kinds_for(repositories, "ada")
    assert NotificationKind.STREAK_AT_RISK not in await kinds_for(repositories, "bob")


async def test_parents_get_each_childs_last_week_once_from_monday_noon_utc(
    repositories: Repositories, recorder: Recorder
) -> None:
    await link_guardian(admin(repositories), repositories, "pat", "ada", now=NOW)
    await repositories.learners.update(LearnerChanges("ada", display_name="Ada"))
    await studied(recorder, "ada", NOW, "e1")  # Tuesday 10 March
    next_monday_morning = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    next_monday_noon = datetime(2026, 3, 16, 12, 30, tzinfo=UTC)

    assert await sweep_for(repositories, recorder, NOW).weekly_summaries(next_monday_morning) == 0
    sweep = sweep_for(repositories, recorder, next_monday_noon)
    assert await sweep.weekly_summaries(next_monday_noon) == 1
    assert await sweep.weekly_summaries(next_monday_noon + timedelta(hours=2)) == 0

    who = Access(viewer("pat", Role.PARENT), Loaders(repositories))
    [summary] = (await inbox(who, repositories, first=10, after=None, unread_only=False)).items
    assert summary.kind is NotificationKind.WEEKLY_SUMMARY
    assert summary.title == "Ada's week of 2026-03-09"
    assert summary.body.startswith("Ada studied 1 minutes on 1 day")
    assert summary.data["learnerId"] == "ada"


async def test_educators_are_told_of_members_at_risk_once_a_week(
    repositories: Repositories, recorder: Recorder
) -> None:
    system = admin(repositories)
    await upsert_group(
        system,
        repositories,
        GroupChanges("class", name="Class", educator_ids=frozenset({"ed"})),
        now=NOW,
    )
    await add_members(system, repositories, "class", ["ada", "bob"], now=NOW)
    await studied(recorder, "bob", NOW - timedelta(hours=1), "b1")  # active: not at risk

    sweep = sweep_for(repositories, recorder, NOW)
    report = await sweep.run_once()
    assert report.interventions == 1
    again = await sweep_for(repositories, recorder, NOW + timedelta(days=1)).interventions(
        NOW + timedelta(days=1)
    )
    assert again == 0  # the same learner, group and week

    who = Access(viewer("ed", Role.EDUCATOR), Loaders(repositories))
    [alert] = (await inbox(who, repositories, first=10, after=None, unread_only=False)).items
    assert alert.kind is NotificationKind.INTERVENTION
    assert alert.data["learnerId"] == "ada"
    assert alert.data["reasons"] == ["inactive"]


async def test_a_quiet_world_sweeps_to_nothing(
    repositories: Repositories, recorder: Recorder
) -> None:
    assert await sweep_for(repositories, recorder, NOW).run_once() == SweepReport()


async def test_the_sweep_task_starts_and_stops(
    repositories: Repositories, recorder: Recorder, feed: Feed
) -> None:
    sweep = sweep_for(repositories, recorder, NOW)
    sweep.start()
    await sweep.stop()
    await sweep.stop()  # twice is fine
