from __future__ import annotations

from typing import Any

import pytest

from resolvers.services import Services
from tests.schema.conftest import Execute, seed_catalog

RECORD = """
mutation($input: RecordEventInput!) {
  recordEvent(input: $input) {
    status pointsEarned
    newAchievements { id key title description badgeIcon points }
  }
}
"""

DASHBOARD = """
{
  learner(id: "ada") {
    streak { current longest activeToday atRisk lastActiveDate }
    level { number name points pointsToNextLevel progressPercent }
    achievements(unlocked: false) {
      definition { key threshold } progress { current target percent }
    }
    pointsHistory(first: 6) { amount source reason }
    dashboard {
      overallAnalytics { questionsAnswered averageScore }
      activitySummary {
        studyStreakDays totalInteractions weeklyAverageMinutes mostActiveCertification
      }
      certificationProgress { certification completionRate }
      performanceTrend { date events }
      recentAchievements { key title badgeIcon points }
      totalPoints
      level { name }
      recommendations { kind message skillId contentId }
    }
  }
}
"""


def event(event_id: str, day: int, **overrides: object) -> dict[str, Any]:
    values: dict[str, Any] = {
        "learnerId": "ada",
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": "saa-ec2-1",
        "score": 0.5,
        "timeSpentSeconds": 600,
        "occurredAt": f"2026-03-{day:02}T09:00:00+00:00",
    }
    values.update(overrides)
    return values


@pytest.fixture(autouse=True)
async def catalog(services: Services) -> None:
    await seed_catalog(services)


async def test_events_on_three_days_unlock_a_streak_and_fill_the_dashboard(
    execute: Execute,
) -> None:
    first = await execute(RECORD, input=event("e1", 8))
    await execute(RECORD, input=event("e3", 10, contentId="saa-s3-1", type="STARTED"))
    # Late: the middle day arrives last and completes the run.
    late = await execute(RECORD, input=event("e2", 9))

    assert [a["key"] for a in first["data"]["recordEvent"]["newAchievements"]] == ["first-event"]
    assert first["data"]["recordEvent"]["pointsEarned"] == 10 + 5  # and the day's streak points
    unlocked = late["data"]["recordEvent"]["newAchievements"]
    assert [(a["key"], a["title"], a["badgeIcon"], a["points"]) for a in unlocked] == [
        ("streak-3", "3-Day Study Streak", "🔥", 30)
    ]

    result = await execute(DASHBOARD)

    assert result["errors"] == []
    learner = result["data"]["learner"]
    assert learner["streak"] == {
        "current": 3,
        "longest": 3,
        "activeToday": True,
        "atRisk": False,
        "lastActiveDate": "2026-03-10",
    }
    # 10 (first event) + 5 (started) + 30 (3-day streak) + 3 days of 5 streak points
    assert learner["level"] == {
        "number": 1,
        "name": "Novice",
        "points": 60,
        "pointsToNextLevel": 41,
        "progressPercent": pytest.approx(59.41),
    }
    locked = {a["definition"]["key"]: a["progress"] for a in learner["achievements"]}
    assert "streak-3" not in locked
    assert locked["streak-7"] == {"current": 3.0, "target": 7.0, "percent": pytest.approx(42.86)}
    # Dated when earned: the streak by the late event of the 9th, which arrived last.
    history = [(e["amount"], e["source"]) for e in learner["pointsHistory"]]
    assert sorted(history[:2]) == [(5, "EVENT"), (5, "STREAK")]  # the 10th
    assert sorted(history[2:4]) == [(5, "STREAK"), (30, "ACHIEVEMENT")]  # the 9th
    assert sorted(history[4:]) == [(5, "STREAK"), (10, "ACHIEVEMENT")]  # the 8th
    dashboard = learner["dashboard"]
    assert dashboard["activitySummary"] == {
        "studyStreakDays": 3,
        "totalInteractions": 3,
        "weeklyAverageMinutes": 7.5,
        "mostActiveCertification": "SAA",
    }
    assert len(dashboard["performanceTrend"]) == 30
    assert dashboard["performanceTrend"][-1] == {"date": "2026-03-10", "events": 1}
    assert [a["key"] for a in dashboard["recentAchievements"]] == ["streak-3", "first-event"]
    assert dashboard["totalPoints"] == 60
    kinds = [r["kind"] for r in dashboard["recommendations"]]
    assert kinds == ["EXTEND_STREAK", "PRACTISE_SKILL", "FINISH_ITEM", "FINISH_ITEM"]
    assert "Reach 7 days" in dashboard["recommendations"][0]["message"]
    assert dashboard["recommendations"][1]["skillId"] == "ec2"


async def test_a_replayed_event_returns_the_unlocks_of_its_first_recording(
    execute: Execute,
) -> None:
    first = await execute(RECORD, input=event("e1", 10))
    again = await execute(RECORD, input=event("e1", 10))

    assert again["data"]["recordEvent"]["status"] == "REPLAYED"
    assert (
        again["data"]["recordEvent"]["newAchievements"]
        == (first["data"]["recordEvent"]["newAchievements"])
    )


async def test_award_points_moves_the_level(execute: Execute) -> None:
    await execute(RECORD, input=event("e1", 10))

    result = await execute(AWARD, reason="Top of class")

    assert result["data"]["awardPoints"] == {
        "totalPoints": 515,  # 500, 10 for the first event and 5 for the day's streak
        "level": {"name": "Scholar"},
        "entry": {"amount": 500, "source": "MANUAL", "reason": "Top of class"},
        "replayed": False,
    }


AWARD = """
mutation($awardId: String! = "award-1", $amount: Int! = 500, $reason: String!) {
  awardPoints(input: {learnerId: "ada", awardId: $awardId, amount: $amount, reason: $reason}) {
    totalPoints level { name } entry { amount source reason } replayed
  }
}
"""


async def test_an_award_sent_again_returns_its_first_outcome_and_credits_once(
    execute: Execute, services: Services
) -> None:
    await execute(RECORD, input=event("e1", 10))

    first = await execute(AWARD, reason="Top of class")
    again = await execute(AWARD, reason="Top of class")

    assert again["data"]["awardPoints"] == {**first["data"]["awardPoints"], "replayed": True}
    totals = await services.repositories.totals.find_by_ids(["ada"])
    assert totals["ada"].points == 515
    manual = [e for e in await services.repositories.points.recent("ada", 10) if e.amount == 500]
    assert len(manual) == 1


async def test_another_award_under_a_used_award_id_is_a_conflict(
    execute: Execute, services: Services
) -> None:
    await execute(RECORD, input=event("e1", 10))
    await execute(AWARD, reason="Top of class")

    result = await execute(AWARD, reason="Top of class", amount=900)

    assert result["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert result["errors"][0]["extensions"]["field"] == "awardId"
    assert (await services.repositories.totals.find_by_ids(["ada"]))["ada"].points == 515


@pytest.mark.parametrize(
    ("arguments", "code", "field"),
    [
        ('awardId: "a1", learnerId: "ada", amount: 0, reason: "x"', "BAD_USER_INPUT", "amount"),
        ('awardId: "a1", learnerId: "ada", amount: -5, reason: "x"', "BAD_USER_INPUT", "amount"),
        ('awardId: "a1", learnerId: "ada", amount: 5, reason: "  "', "BAD_USER_INPUT", "reason"),
        ('awardId: "a1", learnerId: "nobody", amount: 5, reason: "x"', "NOT_FOUND", "learnerId"),
        ('awardId: "a|1", learnerId: "ada", amount: 5, reason: "x"', "BAD_USER_INPUT", "awardId"),
    ],
)
async def test_bad_awards_are_refused_and_store_nothing(
    execute: Execute, services: Services, arguments: str, code: str, field: str
) -> None:
    await execute(RECORD, input=event("e1", 10))

    result = await execute(f"mutation {{ awardPoints(input: {{{arguments}}}) {{ totalPoints }} }}")

    assert result["errors"][0]["extensions"]["code"] == code
    assert result["errors"][0]["extensions"]["field"] == field
    assert await services.repositories.points.recent("ada", 10) != []
    assert all(
        e.source.value != "manual" for e in await services.repositories.points.recent("ada", 10)
    )


UPSERT = """
mutation($input: AchievementInput!) {
  upsertAchievement(input: $input) { key title threshold certification }
}
"""


def achievement(**overrides: object) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key": "saa-five",
        "title": "SAA Explorer",
        "description": "Completed 5 SAA items",
        "badgeIcon": "🧭",
        "points": 40,
        "rule": "COMPLETIONS",
        "threshold": 5,
        "certification": "SAA",
    }
    values.update(overrides)
    return values


async def test_an_admin_adds_an_achievement_definition(execute: Execute) -> None:
    result = await execute(UPSERT, input=achievement())

    assert result["data"]["upsertAchievement"]["certification"] == "SAA"
    keys = await execute("{ achievementDefinitions { key } }")
    assert "saa-five" in [d["key"] for d in keys["data"]["achievementDefinitions"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"threshold": 0}, "input.threshold"),
        ({"threshold": -3}, "input.threshold"),
        ({"rule": "AVERAGE_SCORE", "threshold": 120}, "input.threshold"),
        ({"rule": "STREAK_DAYS"}, "input.certification"),
        ({"certification": "NOPE"}, "input.certification"),
        ({"points": -1}, "input.points"),
        ({"title": " "}, "input.title"),
        ({"key": "bad key!"}, "input.key"),
    ],
)
async def test_invalid_achievement_definitions_are_refused(
    execute: Execute, overrides: dict[str, object], field: str
) -> None:
    result = await execute(UPSERT, input=achievement(**overrides))

    assert result["errors"][0]["extensions"]["field"] == field
    keys = await execute("{ achievementDefinitions { key } }")
    assert "saa-five" not in [d["key"] for d in keys["data"]["achievementDefinitions"]]


async def test_subscribing_after_an_unknown_unlock_id_is_refused(
    execute: Execute, services: Services, graphql_schema: Any
) -> None:
    from schema.context import new_context
    from tests.factories import ADMIN

    subscription = await graphql_schema.subscribe(
        'subscription { achievementUnlocked(learnerId: "ada", after: "bm9wZQ==") { key } }',
        context_value=new_context(services, ADMIN),
    )
    result = await anext(subscription)

    assert result.errors[0].extensions["field"] == "after"


async def test_unlocks_and_ledger_entries_are_dated_when_earned_and_when_recorded(
    execute: Execute,
) -> None:
    # Sent on the 10th (the services' clock), happened on the 8th: an offline client's event.
    await execute(RECORD, input=event("e1", 8))

    result = await execute(
        """{ learner(id: "ada") {
          achievements(unlocked: true) { unlock { key unlockedAt recordedAt } }
          pointsHistory { amount source at recordedAt }
        } }"""
    )

    learner = result["data"]["learner"]
    [first_steps] = [a["unlock"] for a in learner["achievements"]]
    assert first_steps["unlockedAt"].startswith("2026-03-08T09:00")
    assert first_steps["recordedAt"].startswith("2026-03-10T12:00")
    [entry] = [e for e in learner["pointsHistory"] if e["source"] == "ACHIEVEMENT"]
    assert entry["at"].startswith("2026-03-08T09:00")
    assert entry["recordedAt"].startswith("2026-03-10T12:00")
