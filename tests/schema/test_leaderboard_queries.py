"""Leaderboards over GraphQL, as each role sees them: access, privacy, settings, arguments."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import Role, Viewer
from resolvers.leaderboards import LeaderboardSettings
from resolvers.services import Services
from tests.factories import viewer
from tests.schema.conftest import Execute

ADA = viewer("ada", Role.LEARNER)
BOB = viewer("bob", Role.LEARNER)
CY = viewer("cy", Role.LEARNER)
PAT = viewer("pat", Role.PARENT)  # ada's guardian
ED = viewer("ed", Role.EDUCATOR)  # teaches class-a
EVE = viewer("eve", Role.EDUCATOR)  # teaches no one here
SERVICE = viewer("ingest", Role.SERVICE)

BOARD = """
query($period: LeaderboardPeriod, $groupId: String, $week: Date, $first: Int, $around: Int) {
  leaderboard(period: $period, groupId: $groupId, week: $week, first: $first, around: $around) {
    period groupId weekStarting mode size
    top { rank points displayName learnerId isViewer }
    viewerRow { rank points displayName learnerId isViewer }
    neighbours { rank displayName learnerId }
  }
}
"""

SET_VISIBILITY = """
mutation($id: String!, $visibility: LeaderboardPrivacy) {
  upsertLearner(input: {id: $id, leaderboardVisibility: $visibility}) {
    learnerId leaderboardVisibility
  }
}
"""

SET_MODE = """
mutation($mode: LeaderboardPrivacy) {
  upsertGroup(input: {id: "class-a", leaderboardMode: $mode}) { groupId leaderboardMode }
}
"""

RANK = """
query($id: String!, $groupId: String, $period: LeaderboardPeriod) {
  learner(id: $id) {
    leaderboardRank(groupId: $groupId, period: $period) { rank points size groupId period }
  }
}
"""

POINTS = {"ada": 30, "bob": 50, "cy": 30, "dee": 10}
NAMES = {"ada": "Ada Lovelace", "bob": "Bob Moog", "cy": "Cy Twombly", "dee": "Dee Dee"}


@pytest.fixture(autouse=True)
async def cast(execute: Execute) -> None:
    """Four learners with points this week; ada, bob and cy in class-a (taught by ed); pat is
    ada's guardian."""
    for learner, points in POINTS.items():
        await execute(
            "mutation($id: String!, $name: String) { upsertLearner(input: {id: $id, "
            "displayName: $name}) { learnerId } }",
            id=learner,
            name=NAMES[learner],
        )
        await execute(
            'mutation($id: String!, $n: Int!) { awardPoints(input: {learnerId: $id, awardId: "a", '
            'amount: $n, reason: "seed"}) { totalPoints } }',
            id=learner,
            n=points,
        )
    await execute(
        'mutation { upsertGroup(input: {id: "class-a", name: "Class A", educatorIds: ["ed"]}) '
        "{ groupId } }"
    )
    await execute(
        'mutation { addGroupMembers(groupId: "class-a", learnerIds: ["ada", "bob", "cy"]) '
        "{ changed } }"
    )
    await execute('mutation { linkGuardian(parentId: "pat", learnerId: "ada") { changed } }')


async def board(execute: Execute, who: Viewer, **variables: Any) -> dict[str, Any]:
    result = await execute(BOARD, as_viewer=who, **variables)
    assert result["errors"] == [], result["errors"]
    found: dict[str, Any] = result["data"]["leaderboard"]
    return found


def codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result["errors"]]


def rows(found: dict[str, Any], part: str = "top") -> list[tuple[int, str, str | None]]:
    return [(row["rank"], row["displayName"], row["learnerId"]) for row in found[part]]


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [(ADA, True), (SERVICE, True), (PAT, False), (ED, False), (EVE, False)],
)
async def test_the_overall_board_is_for_learners_admins_and_services(
    execute: Execute, who: Viewer, allowed: bool
) -> None:
    result = await execute(BOARD, as_viewer=who)

    if allowed:
        assert result["errors"] == [] and result["data"]["leaderboard"]["size"] == 4
    else:
        assert codes(result) == ["FORBIDDEN"] and result["data"] == {"leaderboard": None}


async def test_a_group_board_for_a_learner_outside_the_group_is_forbidden(
    execute: Execute,
) -> None:
    result = await execute(BOARD, as_viewer=viewer("dee", Role.LEARNER), groupId="class-a")

    assert codes(result) == ["FORBIDDEN"]
    assert "leaderboard" in result["errors"][0]["message"]


async def test_an_unknown_group_is_null_for_an_admin_and_forbidden_to_others(
    execute: Execute,
) -> None:
    assert (await execute(BOARD, groupId="no-such-group"))["data"] == {"leaderboard": None}
    assert codes(await execute(BOARD, as_viewer=ADA, groupId="no-such-group")) == ["FORBIDDEN"]


# --- ranking and privacy ------------------------------------------------------------------------


async def test_the_overall_board_is_anonymous_by_default_save_the_viewers_own_row(
    execute: Execute,
) -> None:
    found = await board(execute, ADA)

    assert (found["period"], found["groupId"], found["mode"]) == ("WEEK", None, "ANONYMOUS")
    assert found["weekStarting"] == "2026-03-09"
    assert rows(found) == [
        (1, "Learner 1", None),
        (2, "Ada Lovelace", "ada"),  # ada and cy tie for second; the order within is fixed
        (2, "Learner 3", None),
        (4, "Learner 4", None),
    ] or rows(found) == [
        (1, "Learner 1", None),
        (2, "Learner 2", None),
        (2, "Ada Lovelace", "ada"),
        (4, "Learner 4", None),
    ]
    assert found["viewerRow"] == {
        "rank": 2,
        "points": 30,
        "displayName": "Ada Lovelace",
        "learnerId": "ada",
        "isViewer": True,
    }
    assert [row["rank"] for row in found["neighbours"]] == [1, 2, 2, 4]


async def test_admins_and_services_see_every_name(execute: Execute) -> None:
    found = await board(execute, SERVICE, period="ALL_TIME")

    assert [row["displayName"] for row in found["top"][:1]] == ["Bob Moog"]
    assert {row["learnerId"] for row in found["top"]} == set(POINTS)
    assert found["viewerRow"] is None and found["neighbours"] == []


async def test_a_class_with_names_shows_them_but_for_a_learner_who_chose_anonymity(
    execute: Execute,
) -> None:
    assert (await execute(SET_MODE, mode="FULL_NAME"))["errors"] == []
    changed = await execute(SET_VISIBILITY, as_viewer=CY, id="cy", visibility="ANONYMOUS")
    assert changed["data"] == {
        "upsertLearner": {"learnerId": "cy", "leaderboardVisibility": "ANONYMOUS"}
    }

    as_ada = await board(execute, ADA, groupId="class-a")
    as_cy = await board(execute, CY, groupId="class-a")
    as_ed = await board(execute, ED, groupId="class-a")

    assert as_ada["mode"] == "FULL_NAME"
    named = [(name, learner) for _, name, learner in rows(as_ada) if learner is not None]
    anonymous = [name for _, name, learner in rows(as_ada) if learner is None]
    assert named == [("Bob Moog", "bob"), ("Ada Lovelace", "ada")] or named == [("Bob Moog", "bob")]
    assert sorted(named + [(n, None) for n in anonymous])[0][0] != "Cy Twombly"
    assert len(anonymous) == 1 and anonymous[0] in ("Learner 2", "Learner 3")
    assert "Cy Twombly" not in str(as_ada)
    assert as_cy["viewerRow"]["displayName"] == "Cy Twombly"  # their own row, in full
    assert {name for _, name, _ in rows(as_ed)} == {"Bob Moog", "Ada Lovelace", "Cy Twombly"}


async def test_a_rank_only_board_gives_a_learner_their_neighbourhood_and_no_top(
    execute: Execute,
) -> None:
    await execute(SET_MODE, mode="RANK_ONLY")

    as_ada = await board(execute, ADA, groupId="class-a", around=1)
    as_ed = await board(execute, ED, groupId="class-a")

    assert as_ada["top"] == []
    assert as_ada["viewerRow"]["learnerId"] == "ada"
    assert all(row["learnerId"] in (None, "ada") for row in as_ada["neighbours"])
    assert len(as_ada["neighbours"]) >= 2
    assert len(as_ed["top"]) == 3


async def test_a_learner_who_chose_rank_only_sees_no_top_list(execute: Execute) -> None:
    await execute(SET_VISIBILITY, as_viewer=ADA, id="ada", visibility="RANK_ONLY")

    found = await board(execute, ADA)

    assert found["top"] == [] and found["viewerRow"]["rank"] == 2
    assert "Ada Lovelace" not in str(await board(execute, BOB))


async def test_a_hidden_group_board_is_nothing_to_its_learners_and_whole_to_its_educator(
    execute: Execute,
) -> None:
    await execute(SET_MODE, mode="HIDDEN")

    as_ada = await board(execute, ADA, groupId="class-a")
    as_ed = await board(execute, ED, groupId="class-a")

    assert as_ada == {
        "period": "WEEK",
        "groupId": "class-a",
        "weekStarting": "2026-03-09",
        "mode": "HIDDEN",
        "size": None,
        "top": [],
        "viewerRow": None,
        "neighbours": [],
    }
    assert rows(as_ed)[0] == (1, "Bob Moog", "bob") and as_ed["size"] == 3


async def test_a_learner_who_hides_is_on_no_board_and_in_no_ones_rank(execute: Execute) -> None:
    await execute(SET_VISIBILITY, as_viewer=BOB, id="bob", visibility="HIDDEN")

    as_bob = await board(execute, BOB)
    as_ada = await board(execute, ADA)
    as_admin = await board(execute, viewer("root", Role.ADMIN), groupId="class-a")

    assert as_bob["viewerRow"] is None and as_bob["neighbours"] == []
    assert as_bob["size"] == 3 and len(as_bob["top"]) == 3  # they still see the board
    assert as_ada["viewerRow"]["rank"] == 1
    assert "bob" not in {row["learnerId"] for row in as_admin["top"]}  # for admins too


async def test_a_group_mode_can_be_cleared_back_to_the_overall_setting(execute: Execute) -> None:
    assert (await execute(SET_MODE, mode="FULL_NAME"))["data"]["upsertGroup"] == {
        "groupId": "class-a",
        "leaderboardMode": "FULL_NAME",
    }
    cleared = await execute(SET_MODE, mode=None)

    assert cleared["data"]["upsertGroup"]["leaderboardMode"] is None
    assert (await board(execute, ADA, groupId="class-a"))["mode"] == "ANONYMOUS"


# --- changing one's own visibility --------------------------------------------------------------


async def test_a_learner_may_set_only_their_own_visibility(execute: Execute) -> None:
    others = await execute(SET_VISIBILITY, as_viewer=ADA, id="bob", visibility="HIDDEN")
    more = await execute(
        'mutation { upsertLearner(input: {id: "ada", displayName: "A", '
        "leaderboardVisibility: HIDDEN}) { learnerId } }",
        as_viewer=ADA,
    )
    parent = await execute(SET_VISIBILITY, as_viewer=PAT, id="ada", visibility="HIDDEN")

    assert codes(others) == codes(more) == codes(parent) == ["FORBIDDEN"]
    assert "leaderboardVisibility" in others["errors"][0]["message"]


async def test_a_null_visibility_is_refused(execute: Execute) -> None:
    result = await execute(SET_VISIBILITY, as_viewer=ADA, id="ada", visibility=None)

    assert result["errors"][0]["extensions"]["field"] == "input.leaderboardVisibility"


# --- a learner's place ---------------------------------------------------------------------------


async def test_a_parent_sees_their_childs_place_on_the_overall_board(execute: Execute) -> None:
    result = await execute(RANK, as_viewer=PAT, id="ada")

    assert result["data"]["learner"]["leaderboardRank"] == {
        "rank": 2,
        "points": 30,
        "size": 4,
        "groupId": None,
        "period": "WEEK",
    }


async def test_a_group_place_is_for_those_who_may_see_the_learner_in_it(
    execute: Execute,
) -> None:
    as_pat = await execute(RANK, as_viewer=PAT, id="ada", groupId="class-a")
    as_ed = await execute(RANK, as_viewer=ED, id="ada", groupId="class-a")
    as_ada = await execute(RANK, as_viewer=ADA, id="ada", groupId="class-a")

    assert as_pat["data"]["learner"]["leaderboardRank"] is None
    assert as_ed["data"]["learner"]["leaderboardRank"]["rank"] == 2
    assert as_ada["data"]["learner"]["leaderboardRank"]["size"] == 3


async def test_no_place_on_a_hidden_board_but_for_those_who_oversee_it(execute: Execute) -> None:
    await execute(SET_MODE, mode="HIDDEN")

    as_ada = await execute(RANK, as_viewer=ADA, id="ada", groupId="class-a")
    as_ed = await execute(RANK, as_viewer=ED, id="ada", groupId="class-a")

    assert as_ada["data"]["learner"]["leaderboardRank"] is None
    assert as_ed["data"]["learner"]["leaderboardRank"]["rank"] == 2


async def test_no_place_for_a_learner_without_points_in_the_period(execute: Execute) -> None:
    result = await execute(RANK, id="ada", period="ALL_TIME")
    other_week = await execute(
        'query { learner(id: "ada") { leaderboardRank(week: "2026-01-05") { rank } } }'
    )

    assert result["data"]["learner"]["leaderboardRank"]["rank"] == 2
    assert other_week["data"]["learner"]["leaderboardRank"] is None


# --- arguments and cost --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"around": -1}, "around"),
        ({"around": 11}, "around"),
        ({"period": "ALL_TIME", "week": "2026-03-02"}, "week"),
    ],
)
async def test_arguments_out_of_bounds_are_refused_by_name(
    execute: Execute, variables: dict[str, Any], field: str
) -> None:
    result = await execute(BOARD, as_viewer=ADA, **variables)

    assert codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == field


async def test_first_defaults_to_the_configured_size(execute: Execute, services: Services) -> None:
    object.__setattr__(services, "leaderboards", LeaderboardSettings(size=2))

    assert len((await board(execute, SERVICE))["top"]) == 2
    assert len((await board(execute, SERVICE, first=3))["top"]) == 3


async def test_another_week_has_its_own_board(execute: Execute) -> None:
    found = await board(execute, ADA, week="2026-03-04")

    assert found["weekStarting"] == "2026-03-02"
    assert (found["size"], found["top"], found["viewerRow"]) == (0, [], None)
