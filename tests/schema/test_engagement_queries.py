"""Goals, freezes, the inbox and the parent dashboard as clients query them."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import Role
from resolvers.groups import link_guardian
from resolvers.services import Services
from tests.factories import NOW, admin, viewer
from tests.schema.conftest import Execute, seed_catalog

ADA = viewer("ada", Role.LEARNER)
PAT = viewer("pat", Role.PARENT)
RECORD = """
mutation($input: RecordEventInput!) { recordEvent(input: $input) { status pointsEarned } }
"""
GOAL = """
mutation($kind: GoalKind!, $target: Int!) {
  setWeeklyGoal(input: {learnerId: "ada", kind: $kind, target: $target}) {
    kind target weekStarting setBy earnsPoints
  }
}
"""
PARENT = """
{
  parentDashboard {
    parentId
    children {
      learner { learnerId }
      weekStarting minutes itemsFinished activeDays
      goal { met percent achieved goal { kind target } }
      achievements { key }
      streak { current freezesHeld frozenDates freezesPending }
      needsAttention { kind message skillId }
    }
  }
}
"""


def event(event_id: str, **overrides: object) -> dict[str, Any]:
    values: dict[str, Any] = {
        "learnerId": "ada",
        "eventId": event_id,
        "type": "VIEWED",
        "contentId": "saa-ec2-1",
        "timeSpentSeconds": 600,
        "occurredAt": "2026-03-10T09:00:00+00:00",
    }
    values.update(overrides)
    return values


@pytest.fixture(autouse=True)
async def world(services: Services) -> None:
    await seed_catalog(services)
    await link_guardian(admin(services.repositories), services.repositories, "pat", "ada", now=NOW)


async def test_a_learner_sets_a_goal_and_a_parent_sees_the_week_against_it(
    execute: Execute,
) -> None:
    goal = await execute(GOAL, as_viewer=ADA, kind="MINUTES", target=30)
    assert goal["errors"] == []
    assert goal["data"]["setWeeklyGoal"] == {
        "kind": "MINUTES",
        "target": 30,
        "weekStarting": "2026-03-09",
        "setBy": "ada",
        "earnsPoints": True,
    }
    await execute(RECORD, input=event("e1"))
    await execute(RECORD, input=event("e2", occurredAt="2026-03-10T10:00:00+00:00"))
    await execute(RECORD, input=event("e3", type="HELPED", occurredAt="2026-03-10T11:00:00+00:00"))

    result = await execute(PARENT, as_viewer=PAT)

    assert result["errors"] == []
    [child] = result["data"]["parentDashboard"]["children"]
    assert child["learner"] == {"learnerId": "ada"}
    assert child["weekStarting"] == "2026-03-09"
    assert child["activeDays"] == 1
    assert child["goal"]["met"] is True
    assert child["goal"]["goal"] == {"kind": "MINUTES", "target": 30}
    assert {"first-event", "helper", "goal-getter"} <= {a["key"] for a in child["achievements"]}
    assert child["streak"]["current"] == 1


async def test_the_parent_dashboard_is_for_parents_and_their_own_children_only(
    execute: Execute,
) -> None:
    refused = await execute(PARENT, as_viewer=ADA)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    nobody = await execute(PARENT, as_viewer=viewer("pam", Role.PARENT))
    assert nobody["data"]["parentDashboard"]["children"] == []
    bad = await execute("{ parentDashboard(weeksAgo: 99) { parentId } }", as_viewer=PAT)
    assert bad["errors"][0]["extensions"]["field"] == "weeksAgo"


async def test_a_goal_out_of_bounds_names_the_field_and_a_stranger_is_refused(
    execute: Execute,
) -> None:
    bad = await execute(GOAL, as_viewer=ADA, kind="MINUTES", target=20_000)
    assert bad["errors"][0]["extensions"]["field"] == "target"
    refused = await execute(GOAL, as_viewer=viewer("bob", Role.LEARNER), kind="ITEMS", target=3)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_grants_show_in_the_streak_and_a_retry_is_replayed(execute: Execute) -> None:
    grant = """
    mutation { grantStreakFreezes(input: {learnerId: "ada", grantId: "g1", reason: "flu"}) {
      granted freezesHeld grantedBy replayed } }
    """
    await execute(RECORD, input=event("e1"))
    first = await execute(grant, as_viewer=PAT)
    again = await execute(grant, as_viewer=PAT)
    assert first["data"]["grantStreakFreezes"] == {
        "granted": 1,
        "freezesHeld": 1,
        "grantedBy": "pat",
        "replayed": False,
    }
    assert again["data"]["grantStreakFreezes"]["replayed"] is True
    streak = await execute('{ learner(id: "ada") { streak { freezesHeld } } }', as_viewer=ADA)
    assert streak["data"]["learner"]["streak"]["freezesHeld"] == 1


async def test_the_inbox_pages_marks_read_and_keeps_preferences(execute: Execute) -> None:
    await execute(RECORD, input=event("e1", type="ANSWERED", score=1.0))
    inbox = await execute(
        "{ viewer { unreadNotificationCount notifications(first: 1) "
        "{ nodes { id kind title read } hasNextPage endCursor } } }",
        as_viewer=ADA,
    )
    viewer_data = inbox["data"]["viewer"]
    unread = viewer_data["unreadNotificationCount"]
    assert unread >= 2  # First Steps and Perfectionist at least
    page = viewer_data["notifications"]
    assert page["hasNextPage"] is True
    [first] = page["nodes"]
    assert first["read"] is False

    marked = await execute(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) { changed unreadCount } }",
        as_viewer=ADA,
        ids=[first["id"]],
    )
    assert marked["data"]["markNotificationsRead"] == {"changed": 1, "unreadCount": unread - 1}

    prefs = await execute(
        "mutation { setNotificationPreferences(input: [{kind: LEVEL_UP, channels: []}]) "
        "{ kind channels } }",
        as_viewer=ADA,
    )
    by_kind = {p["kind"]: p["channels"] for p in prefs["data"]["setNotificationPreferences"]}
    assert by_kind["LEVEL_UP"] == []
    assert by_kind["GOAL_MET"] == ["IN_APP", "WEBHOOK"]
