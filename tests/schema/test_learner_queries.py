from __future__ import annotations

import pytest

from resolvers.services import Services
from tests.schema.conftest import Execute, seed_catalog

RECORD = """
mutation($input: RecordEventInput!) {
  recordEvent(input: $input) {
    status eventId
    progress { id contentId status attempts bestScore content { title } }
  }
}
"""

LEARNER = """
query($id: String!, $first: Int, $after: String) {
  learner(id: $id) {
    id learnerId timeZone
    analytics { contentViewed questionsAnswered averageScore timeSpentHours completionRate }
    saa: analytics(certification: "SAA") { completionRate itemsCompleted }
    certifications { certification completionRate }
    contentProgress(first: $first, after: $after) {
      edges { cursor node { contentId status } }
      pageInfo { hasNextPage endCursor }
    }
    skills { skillId mastery level attempts correctAnswers skill { name } }
    dailyActivity(from: "2026-03-09", to: "2026-03-10") {
      date events answered averageScore byCategory { key events }
    }
  }
}
"""


def event(event_id: str, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "learnerId": "ada",
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": "saa-ec2-1",
        "score": 0.8,
        "timeSpentSeconds": 1800,
        "occurredAt": "2026-03-10T09:00:00+01:00",
    }
    values.update(overrides)
    return values


@pytest.fixture(autouse=True)
async def catalog(services: Services) -> None:
    await seed_catalog(services)


async def test_a_recorded_event_shows_in_the_learner_views(execute: Execute) -> None:
    recorded = await execute(RECORD, input=event("e1"))
    assert recorded["errors"] == []
    payload = recorded["data"]["recordEvent"]
    assert payload["status"] == "RECORDED"
    assert payload["progress"]["status"] == "IN_PROGRESS"
    assert payload["progress"]["bestScore"] == 80.0
    assert payload["progress"]["content"]["title"] == "EC2 instance types"
    await execute(RECORD, input=event("e2", type="COMPLETED", contentId="saa-s3-1", score=None))

    result = await execute(LEARNER, id="ada", first=1)

    assert result["errors"] == []
    learner = result["data"]["learner"]
    assert learner["analytics"] == {
        "contentViewed": 2,
        "questionsAnswered": 1,
        "averageScore": 80.0,
        "timeSpentHours": 1.0,
        "completionRate": pytest.approx(33.33),
    }
    assert learner["saa"] == {"completionRate": 50.0, "itemsCompleted": 1}
    assert [c["certification"] for c in learner["certifications"]] == ["CCP", "SAA"]
    page = learner["contentProgress"]
    assert [e["node"]["contentId"] for e in page["edges"]] == ["saa-ec2-1"]
    assert page["pageInfo"]["hasNextPage"] is True
    [ec2] = [s for s in learner["skills"] if s["skillId"] == "ec2"]
    assert ec2["attempts"] == 1 and ec2["correctAnswers"] == 1 and ec2["skill"]["name"] == "EC2"
    assert [d["date"] for d in learner["dailyActivity"]] == ["2026-03-09", "2026-03-10"]
    assert learner["dailyActivity"][0]["events"] == 0
    assert learner["dailyActivity"][1]["events"] == 2

    following = await execute(LEARNER, id="ada", first=5, after=page["pageInfo"]["endCursor"])
    edges = following["data"]["learner"]["contentProgress"]["edges"]
    assert [e["node"]["contentId"] for e in edges] == ["saa-s3-1"]


async def test_node_resolves_global_ids(execute: Execute) -> None:
    await execute(RECORD, input=event("e1"))
    learner = await execute('{ learner(id: "ada") { id } }')
    node_id = learner["data"]["learner"]["id"]

    result = await execute(
        "query($id: ID!) { node(id: $id) { id ... on Learner { learnerId } } }", id=node_id
    )

    assert result["data"]["node"] == {"id": node_id, "learnerId": "ada"}


async def test_bad_input_names_the_field_and_stores_nothing(execute: Execute) -> None:
    result = await execute(RECORD, input=event("e1", score=1.5))

    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.score"
    learner = await execute('{ learner(id: "ada") { id } }')
    assert learner["data"]["learner"] is None


async def test_a_different_payload_under_a_used_event_id_is_a_conflict(execute: Execute) -> None:
    await execute(RECORD, input=event("e1"))

    result = await execute(RECORD, input=event("e1", score=0.2))

    assert result["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"


async def test_a_batch_reports_each_event(execute: Execute) -> None:
    result = await execute(
        """mutation($inputs: [RecordEventInput!]!) {
          recordEvents(inputs: $inputs) {
            recorded replayed failed
            results { index status error { code field } }
          }
        }""",
        inputs=[event("a"), event("b", contentId="missing"), event("a"), event("a", score=0.1)],
    )

    payload = result["data"]["recordEvents"]
    # The same event twice is a replay; the same id with another payload, a conflict.
    assert (payload["recorded"], payload["replayed"], payload["failed"]) == (1, 1, 2)
    assert payload["results"][2]["status"] == "REPLAYED"
    assert payload["results"][3]["error"] == {
        "code": "IDEMPOTENCY_CONFLICT",
        "field": "inputs[3].eventId",
    }
    assert payload["results"][1]["error"] == {
        "code": "BAD_USER_INPUT",
        "field": "inputs[1].contentId",
    }


async def test_page_size_is_capped(execute: Execute) -> None:
    await execute(RECORD, input=event("e1"))
    result = await execute(LEARNER, id="ada", first=101)

    assert result["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "first",
        "rule": "must be between 0 and 100",
    }


async def test_an_invalid_time_zone_is_rejected(execute: Execute) -> None:
    result = await execute(
        'mutation { upsertLearner(input: {id: "ada", timeZone: "Mars/Olympus"}) { id } }'
    )

    assert result["errors"][0]["extensions"]["field"] == "input.timeZone"


async def test_unexpected_errors_are_masked(
    execute: Execute, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(services.repositories.learners, "find_by_ids", broken)

    result = await execute('{ learner(id: "ada") { id } }')

    [error] = result["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert set(error["extensions"]) == {"code", "requestId"}  # nothing of the cause leaks


async def test_breakdowns_are_read_when_asked_for_through_a_fragment(execute: Execute) -> None:
    await execute(RECORD, input=event("e1"))
    query = """
    fragment Slices on DailyActivity { byCategory { key events } }
    query {
      learner(id: "ada") {
        plain: dailyActivity(from: "2026-03-10", to: "2026-03-10") { events byHour { key } }
        detailed: dailyActivity(from: "2026-03-10", to: "2026-03-10") { events ...Slices }
        dashboard { performanceTrend { ... on DailyActivity { byDifficulty { key } } } }
      }
    }
    """

    result = await execute(query)

    learner = result["data"]["learner"]
    assert learner["plain"] == [{"events": 1, "byHour": [{"key": "8"}]}]
    assert learner["detailed"] == [{"events": 1, "byCategory": [{"key": "EC2", "events": 1}]}]
    assert learner["dashboard"]["performanceTrend"][-1] == {
        "byDifficulty": [{"key": "intermediate"}]
    }


async def test_days_without_breakdowns_still_carry_their_totals(execute: Execute) -> None:
    await execute(RECORD, input=event("e1"))

    result = await execute(
        '{ learner(id: "ada") { dailyActivity(from: "2026-03-10", to: "2026-03-10")'
        " { events answered averageScore timeSpentSeconds } } }"
    )

    assert result["data"]["learner"]["dailyActivity"] == [
        {"events": 1, "answered": 1, "averageScore": 80.0, "timeSpentSeconds": 1800.0}
    ]


async def test_a_raw_score_is_scaled_and_metadata_kept_through_a_batch(execute: Execute) -> None:
    raw = event("raw-1", rawScore={"raw": 8, "min": 0, "max": 10}, metadata={"attempt": 2})
    del raw["score"]

    result = await execute(
        """mutation($inputs: [RecordEventInput!]!) {
          recordEvents(inputs: $inputs) { results { status progress { bestScore } } }
        }""",
        inputs=[raw],
    )

    [outcome] = result["data"]["recordEvents"]["results"]
    assert outcome == {"status": "RECORDED", "progress": {"bestScore": 80.0}}


UPSERT_LEARNER = """
mutation($input: LearnerInput!) { upsertLearner(input: $input) { learnerId displayName timeZone } }
"""


async def test_upsert_learner_changes_only_the_fields_given(execute: Execute) -> None:
    created = await execute(
        UPSERT_LEARNER, input={"id": "ada", "displayName": "Ada", "timeZone": "Europe/London"}
    )
    assert created["data"]["upsertLearner"]["timeZone"] == "Europe/London"

    renamed = await execute(UPSERT_LEARNER, input={"id": "ada", "displayName": "Ada L."})
    moved = await execute(UPSERT_LEARNER, input={"id": "ada", "timeZone": "Asia/Tokyo"})
    cleared = await execute(UPSERT_LEARNER, input={"id": "ada", "displayName": None})

    assert renamed["data"]["upsertLearner"] == {
        "learnerId": "ada",
        "displayName": "Ada L.",
        "timeZone": "Europe/London",
    }
    assert moved["data"]["upsertLearner"]["displayName"] == "Ada L."
    assert cleared["data"]["upsertLearner"] == {
        "learnerId": "ada",
        "displayName": None,
        "timeZone": "Asia/Tokyo",
    }


async def test_a_new_learner_from_a_partial_input_gets_the_defaults(execute: Execute) -> None:
    result = await execute(UPSERT_LEARNER, input={"id": "grace"})
    assert result["data"]["upsertLearner"] == {
        "learnerId": "grace",
        "displayName": None,
        "timeZone": "UTC",
    }


async def test_a_null_time_zone_is_refused_by_name(execute: Execute) -> None:
    result = await execute(UPSERT_LEARNER, input={"id": "ada", "timeZone": None})
    assert result["errors"][0]["extensions"]["field"] == "input.timeZone"


NOT_STARTED = """
query($first: Int, $after: String, $certification: String) {
  learner(id: "ada") {
    contentProgress(
      status: NOT_STARTED, first: $first, after: $after, certification: $certification
    ) {
      edges { node { contentId status attempts } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def test_not_started_lists_the_catalog_items_the_learner_has_not_touched(
    execute: Execute,
) -> None:
    await execute(RECORD, input=event("e1"))  # saa-ec2-1

    everything = await execute(NOT_STARTED)
    first_page = await execute(NOT_STARTED, first=1)
    cursor = first_page["data"]["learner"]["contentProgress"]["pageInfo"]["endCursor"]
    following = await execute(NOT_STARTED, first=5, after=cursor)
    in_saa = await execute(NOT_STARTED, certification="SAA")

    def ids(result: dict[str, object]) -> list[str]:
        edges = result["data"]["learner"]["contentProgress"]["edges"]  # type: ignore[index]
        return [edge["node"]["contentId"] for edge in edges]

    assert ids(everything) == ["ccp-1", "saa-s3-1"]
    node = everything["data"]["learner"]["contentProgress"]["edges"][0]["node"]
    assert node == {"contentId": "ccp-1", "status": "NOT_STARTED", "attempts": 0}
    assert ids(first_page) == ["ccp-1"]
    assert first_page["data"]["learner"]["contentProgress"]["pageInfo"]["hasNextPage"] is True
    assert ids(following) == ["saa-s3-1"]
    assert ids(in_saa) == ["saa-s3-1"]


async def test_mastery_is_shown_unrounded_with_when_it_was_reached(execute: Execute) -> None:
    for n in range(5):
        answer = event(f"a{n}", correct=True, occurredAt=f"2026-03-10T0{n}:00:00+01:00")
        await execute(RECORD, input=answer)

    result = await execute(
        '{ learner(id: "ada") { skills { skillId mastery mastered masteredAt } } }'
    )

    [ec2] = [s for s in result["data"]["learner"]["skills"] if s["skillId"] == "ec2"]
    assert ec2["mastered"] is True
    assert ec2["mastery"] != round(ec2["mastery"], 4)
    assert ec2["masteredAt"] is not None


async def test_a_result_says_what_the_reward_guard_held_back(execute: Execute) -> None:
    first = await execute(
        "mutation($input: RecordEventInput!) { recordEvent(input: $input) "
        "{ status guarded creditedSeconds pointsEarned } }",
        input=event("a1", timeSpentSeconds=86_400),
    )
    again = await execute(
        "mutation($input: RecordEventInput!) { recordEvent(input: $input) "
        "{ status guarded creditedSeconds pointsEarned } }",
        input=event("a2", timeSpentSeconds=0, occurredAt="2026-03-10T09:01:00+01:00"),
    )

    assert first["data"]["recordEvent"]["guarded"] == ["TIME_CAPPED"]
    assert first["data"]["recordEvent"]["creditedSeconds"] == 10 * 60 * 3  # 3 x its estimate
    assert again["data"]["recordEvent"] == {
        "status": "RECORDED",  # stored whole
        "guarded": ["REPEAT"],
        "creditedSeconds": None,
        "pointsEarned": 0,
    }
