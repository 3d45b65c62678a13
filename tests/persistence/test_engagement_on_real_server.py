"""Engagement on the real server: notifications, outbox messages and goal points are written in
the same transaction as the events that cause them, and a unit that fails leaves none of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.catalog import ContentKind
from domain.events import EventType
from domain.goals import GoalKind, WeeklyGoal, with_goal
from domain.notifications import NotificationKind
from domain.points import PointsSource
from persistence.indexes import NOTIFICATIONS, OUTBOX
from resolvers.recording import Recorder
from resolvers.webhooks import Outbox, WebhookDispatcher, WebhookSettings
from tests.factories import NOW, content_item, draft
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

SECRET = "webhook-tests-only-secret-0123456789abcdef"
MONDAY = NOW.date() - timedelta(days=NOW.weekday())


class Broken(Exception):
    pass


def outbound(real: RealServer) -> Recorder:
    """A recorder whose outbox is on (its dispatcher never started: nothing is sent)."""
    settings = WebhookSettings(url="http://127.0.0.1:9/hooks", secret=SECRET)
    dispatcher = WebhookDispatcher(real.repositories.outbox, settings)
    return Recorder(real.repositories, real.feed, outbox=Outbox(dispatcher))


async def prepare(real: RealServer) -> None:
    await real.repositories.content.upsert_many(
        [content_item(id="lesson", kind=ContentKind.LESSON, estimated_minutes=60)]
    )
    goal = WeeklyGoal(GoalKind.MINUTES, 30, MONDAY, set_by="ada", set_at=NOW)
    await real.repositories.goals.update("ada", lambda goals: with_goal(goals, goal))


def lesson_view(event_id: str, minutes_ago: int) -> object:
    return draft(
        event_id=event_id,
        type=EventType.VIEWED,
        content_id="lesson",
        score=None,
        time_spent_seconds=40 * 60,
        occurred_at=NOW - timedelta(minutes=minutes_ago),
    )


async def test_the_goal_its_points_its_notification_and_its_message_commit_together(
    real: RealServer,
) -> None:
    await prepare(real)
    recorder = outbound(real)

    result = await recorder.record_one(lesson_view("e1", 60), received_at=NOW)  # type: ignore[arg-type]

    kinds = {n.kind for n in result.notifications}
    assert {NotificationKind.GOAL_MET, NotificationKind.ACHIEVEMENT_UNLOCKED} <= kinds
    stored = {doc["_id"] async for doc in real.database[NOTIFICATIONS].find({"userId": "ada"})}
    assert stored == {n.id for n in result.notifications}
    messages = {doc["_id"] async for doc in real.database[OUTBOX].find({})}
    assert messages == stored  # every notification also goes out, under the same id
    points = await real.repositories.points.recent("ada", 20)
    assert [p.amount for p in points if p.source is PointsSource.GOAL] == [50]


async def test_a_unit_that_fails_leaves_no_notification_message_or_points(
    real: RealServer,
) -> None:
    await prepare(real)
    recorder = outbound(real)
    original = real.repositories.outbox.add

    async def broken(*args: object, **kwargs: object) -> None:
        # The last write of the unit: events, totals, points and notifications are written
        # (inside the transaction) by the time it fails.
        raise Broken("the disk is full")

    real.repositories.outbox.add = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(Broken):
            await recorder.record_one(lesson_view("e1", 60), received_at=NOW)  # type: ignore[arg-type]
    finally:
        real.repositories.outbox.add = original  # type: ignore[method-assign]

    assert await real.database[NOTIFICATIONS].count_documents({}) == 0
    assert await real.database[OUTBOX].count_documents({}) == 0
    assert await real.repositories.points.recent("ada", 20) == []
    assert await real.repositories.events.find_by_keys([("ada", "e1")], None) == {}
