"""The demo as `make run` serves it: a parent reads their child's readiness and analytics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.access import Role
from tests.e2e.conftest import Service, start_service, stop_service
from tests.factories import bearer

pytestmark = [pytest.mark.e2e]

DASHBOARD = """
{ learner(id: "demo-ada") {
    dashboard {
      totalPoints
      certificationReadiness {
        certification { certificationId }
        readinessScore predictedPassProbability estimatedStudyHoursLeft confidenceLevel
        weakAreas { name mastery } strongAreas { name mastery }
        recommendedActions { kind message contentId }
      }
    }
    paths { path { pathId } percent nextUp { title } }
    nextItems(first: 3) { rank reason message content { title } }
    trends(period: WEEK) { label events }
    atRisk { atRisk }
} }
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    process, service = start_service(
        tmp_path_factory.mktemp("demo"),
        database=f"cairn_demo_{uuid.uuid4().hex[:8]}",
        args=("--seed-demo-if-empty",),
    )
    try:
        yield service
    finally:
        stop_service(process)


def ask(service: Service, query: str, subject: str, role: Role) -> dict[str, Any]:
    response = httpx.post(
        service.graphql,
        json={"query": query},
        headers={"Authorization": bearer(subject, role)},
        timeout=30,
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_demo_parent_sees_ada_ready_for_her_certifications(demo: Service) -> None:
    body = ask(demo, DASHBOARD, "demo-parent", Role.PARENT)

    assert "errors" not in body
    learner = body["data"]["learner"]
    blocks = {
        b["certification"]["certificationId"]: b
        for b in learner["dashboard"]["certificationReadiness"]
    }
    assert set(blocks) == {"SAA", "CCP"}
    saa = blocks["SAA"]
    assert 0 < saa["readinessScore"] <= 100 and 0 <= saa["predictedPassProbability"] <= 100
    assert saa["confidenceLevel"] in {"MEDIUM", "HIGH"}  # six weeks of daily study
    assert learner["paths"][0]["nextUp"]["title"]
    assert [item["rank"] for item in learner["nextItems"]] == [1, 2, 3]
    assert len(learner["trends"]) >= 12 and sum(w["events"] for w in learner["trends"]) > 0


def test_the_demo_parent_is_refused_a_child_who_is_not_theirs(demo: Service) -> None:
    body = ask(demo, '{ learner(id: "demo-alan") { learnerId } }', "demo-parent", Role.PARENT)

    assert body["data"] == {"learner": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


CLASS_BOARD = """
{ leaderboard(groupId: "demo-class", period: ALL_TIME) {
    mode size
    top { rank points displayName learnerId }
    viewerRow { rank displayName }
} }
"""


def test_the_demo_class_ranks_its_learners_and_keeps_the_shy_one_anonymous(
    demo: Service,
) -> None:
    body = ask(demo, CLASS_BOARD, "demo-ada", Role.LEARNER)
    child = ask(
        demo,
        '{ learner(id: "demo-ada") { leaderboardRank(period: ALL_TIME) { rank size } } }',
        "demo-parent",
        Role.PARENT,
    )

    assert "errors" not in body and "errors" not in child
    board = body["data"]["leaderboard"]
    assert (board["mode"], board["size"], len(board["top"])) == ("FULL_NAME", 4, 4)
    assert board["viewerRow"]["displayName"] == "Ada Lovelace"
    names = {row["displayName"] for row in board["top"]}
    assert "Alan Turing" not in names and any(n.startswith("Learner ") for n in names)
    assert [row["rank"] for row in board["top"]] == sorted(row["rank"] for row in board["top"])
    assert child["data"]["learner"]["leaderboardRank"]["size"] == 4
