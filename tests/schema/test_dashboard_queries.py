"""The dashboards over GraphQL: the demo class as its educator sees it, the admin's view, and
the refusals and argument errors."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import Role
from resolvers.access import Access
from resolvers.demo import seed_demo
from resolvers.notifications import inbox, mark_read
from resolvers.services import Services
from tests.factories import NOW, viewer
from tests.schema.conftest import Execute

EDUCATOR = viewer("demo-educator", Role.EDUCATOR)
GROUP_DASHBOARD = """
query($first: Int!, $after: String) {
  groupDashboard(groupId: "demo-class", first: $first, after: $after) {
    group { groupId name }
    asOf
    overview {
      memberCount activeThisWeek activeLast7Days minutesLast7Days eventsLast7Days
      averageMinutesPerActiveMember completionRate averageScore masteredSkills atRiskCount
    }
    members {
      edges {
        cursor
        node {
          learner { learnerId displayName }
          progress { itemsCompleted completionRate averageScore masteredSkills points }
          engagement {
            minutesLast7Days eventsLast7Days activeDaysLast7Days currentStreak lastActiveDay
          }
          atRisk atRiskSince riskReasons { kind message }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
    atRiskLearners { learner { learnerId } atRiskSince reasons { kind message } }
    conceptDifficulty {
      items(first: 5) {
        contentId content { title } learners answeredLearners answers correctAnswers
        successRate averageAttempts averageMinutes
      }
      skills(first: 5) {
        skillId skill { name } learners answers successRate averageAttempts averageMinutes
      }
    }
    interventions { rank kind message learnerId contentId skillId }
  }
}
"""
ADMIN_DASHBOARD = """
query($days: Int!) {
  adminDashboard(days: $days) {
    asOf days dailyActiveLearners { date learners } dau mau stickiness
    sessions averageSessionMinutes streakRetention
    weeklyRetention { weekStart activeLearners retainedLearners rate }
    badgeAwards { key title awards perDay }
    eventsPerMinute { currentMinute lastHourAverage }
  }
}
"""


@pytest.fixture
async def demo(services: Services) -> None:
    await seed_demo(services.repositories, services.recorder, now=NOW, weeks=3)


@pytest.mark.usefixtures("demo")
async def test_the_demo_educator_sees_their_class_in_one_query(execute: Execute) -> None:
    result = await execute(GROUP_DASHBOARD, as_viewer=EDUCATOR, first=3)

    assert result["errors"] == []
    board: dict[str, Any] = result["data"]["groupDashboard"]
    assert board["group"]["groupId"] == "demo-class"
    overview = board["overview"]
    assert overview["memberCount"] == 4
    assert 0 < overview["activeLast7Days"] <= 4
    assert overview["minutesLast7Days"] > 0 and overview["averageScore"] is not None
    assert 0 < overview["completionRate"] < 100
    members = board["members"]
    assert len(members["edges"]) == 3 and members["pageInfo"]["hasNextPage"]
    for edge in members["edges"]:
        node = edge["node"]
        assert node["atRisk"] == bool(node["riskReasons"])
        assert node["progress"]["itemsCompleted"] >= 0
    at_risk = [e["node"]["learner"]["learnerId"] for e in members["edges"] if e["node"]["atRisk"]]
    assert [m["learner"]["learnerId"] for m in board["atRiskLearners"]][: len(at_risk)] == at_risk
    assert overview["atRiskCount"] == len(board["atRiskLearners"])
    items = board["conceptDifficulty"]["items"]
    rates = [i["successRate"] for i in items if i["successRate"] is not None]
    assert rates == sorted(rates) and items[0]["answers"] > 0
    assert all(i["content"]["title"] for i in items)
    assert board["conceptDifficulty"]["skills"][0]["skill"]["name"]
    assert [i["rank"] for i in board["interventions"]] == list(
        range(1, len(board["interventions"]) + 1)
    )

    rest = await execute(
        GROUP_DASHBOARD, as_viewer=EDUCATOR, first=3, after=members["pageInfo"]["endCursor"]
    )

    assert rest["errors"] == []
    last = rest["data"]["groupDashboard"]["members"]
    assert len(last["edges"]) == 1 and not last["pageInfo"]["hasNextPage"]
    seen = {e["node"]["learner"]["learnerId"] for e in members["edges"] + last["edges"]}
    assert seen == {"demo-ada", "demo-grace", "demo-alan", "demo-katherine"}


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("user_id", "role"),
    [
        ("other-educator", Role.EDUCATOR),
        ("demo-parent", Role.PARENT),
        ("demo-ada", Role.LEARNER),
    ],
)
async def test_others_may_not_open_the_class_dashboard(
    execute: Execute, user_id: str, role: Role
) -> None:
    result = await execute(GROUP_DASHBOARD, as_viewer=viewer(user_id, role), first=3)

    assert result["data"] == {"groupDashboard": None}
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ('{ groupDashboard(groupId: "demo-class", first: 101) { asOf } }', "first"),
        ('{ groupDashboard(groupId: "demo-class", after: "x") { asOf } }', "after"),
        ('{ groupDashboard(groupId: "not valid") { asOf } }', "groupId"),
        (
            '{ groupDashboard(groupId: "demo-class") { atRiskLearners(first: 51) { reasons '
            "{ kind } } } }",
            "first",
        ),
        ("{ adminDashboard(days: 367) { dau } }", "days"),
    ],
)
async def test_bad_arguments_name_the_argument_and_the_rule(
    execute: Execute, query: str, field: str
) -> None:
    result = await execute(query)

    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert error["extensions"]["rule"]


@pytest.mark.usefixtures("demo")
async def test_the_admin_sees_the_systems_activity(execute: Execute) -> None:
    result = await execute(ADMIN_DASHBOARD, days=14)

    assert result["errors"] == []
    board = result["data"]["adminDashboard"]
    assert board["days"] == 14 and len(board["dailyActiveLearners"]) == 14
    assert 0 < board["dau"] <= board["mau"] == 4
    assert board["averageSessionMinutes"] > 0
    assert len(board["weeklyRetention"]) == 8
    assert board["badgeAwards"] and all(b["title"] for b in board["badgeAwards"])
    assert board["eventsPerMinute"]["currentMinute"] > 0  # the demo was recorded at NOW


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("role", [Role.EDUCATOR, Role.PARENT, Role.LEARNER])
async def test_only_admins_and_services_see_the_systems_activity(
    execute: Execute, role: Role
) -> None:
    result = await execute(ADMIN_DASHBOARD, as_viewer=viewer("someone", role), days=30)

    assert result["data"] is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]


@pytest.mark.usefixtures("demo")
async def test_the_class_dashboard_holds_its_leaderboard_with_every_name(
    execute: Execute,
) -> None:
    result = await execute(
        """{ groupDashboard(groupId: "demo-class") {
          leaderboard(period: ALL_TIME, first: 4) { groupId top { rank points learnerId } } } }""",
        as_viewer=EDUCATOR,
    )

    assert result["errors"] == []
    board = result["data"]["groupDashboard"]["leaderboard"]
    assert board["groupId"] == "demo-class"
    top = board["top"]
    assert len(top) == 4
    # The educator sees every listed learner by id, Alan's anonymity notwithstanding.
    assert {row["learnerId"] for row in top} == {
        "demo-ada",
        "demo-grace",
        "demo-alan",
        "demo-katherine",
    }
    points = [row["points"] for row in top]
    assert points == sorted(points, reverse=True) and top[0]["rank"] == 1


@pytest.mark.usefixtures("demo")
async def test_the_admin_sees_how_notifications_are_read(
    execute: Execute, services: Services
) -> None:
    ada = Access(viewer("demo-ada", Role.LEARNER), services.new_loaders())
    page = await inbox(ada, services.repositories, first=3, after=None, unread_only=False)
    await mark_read(
        ada, services.repositories, ids=[n.id for n in page.items], everything=False, now=NOW
    )

    result = await execute(
        "{ adminDashboard(days: 30) { notificationEngagement { kind sent read readRate } } }"
    )

    assert result["errors"] == []
    rows = result["data"]["adminDashboard"]["notificationEngagement"]
    assert rows and sum(row["read"] for row in rows) == 3
    assert all(row["sent"] >= row["read"] for row in rows)
    sent = [row["sent"] for row in rows]
    assert sent == sorted(sent, reverse=True)
    unlocked = next(row for row in rows if row["kind"] == "ACHIEVEMENT_UNLOCKED")
    assert unlocked["sent"] > 0
