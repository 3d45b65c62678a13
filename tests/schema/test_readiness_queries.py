"""Readiness over GraphQL, for a demo learner, as their parent would ask for it."""

from __future__ import annotations

from typing import Any

from domain.access import Role
from resolvers.demo import seed_demo
from resolvers.services import Services
from tests.factories import NOW, viewer
from tests.schema.conftest import Execute

PARENT = viewer("demo-parent", Role.PARENT)
READINESS = """
  certification { certificationId name passMark examItems studyHours { least most }
                  domains { domainId weight } }
  readinessScore predictedPassProbability estimatedStudyHoursLeft confidenceLevel assessedAt
  weakAreas { domainId name mastery correctChance answers }
  strongAreas { domainId mastery }
  domains { domainId weight mastery answers }
  recommendedActions { kind message domainId contentId estimatedMinutes }
"""


async def test_a_demo_learners_dashboard_carries_readiness_for_each_certification(
    services: Services, execute: Execute
) -> None:
    await seed_demo(services.repositories, services.recorder, now=NOW, weeks=2)

    result = await execute(
        f"""{{ learner(id: "demo-ada") {{
              dashboard {{ certificationReadiness {{ {READINESS} }} }}
              readiness(certification: "SAA") {{ {READINESS} }}
              unknown: readiness(certification: "DVA") {{ readinessScore }}
            }} }}""",
        as_viewer=PARENT,
    )

    assert result["errors"] == []
    learner: dict[str, Any] = result["data"]["learner"]
    blocks = learner["dashboard"]["certificationReadiness"]
    assert [b["certification"]["certificationId"] for b in blocks] == ["CCP", "SAA"]
    saa = learner["readiness"]
    assert saa == next(b for b in blocks if b["certification"]["certificationId"] == "SAA")
    assert saa["certification"]["passMark"] == 72
    assert sum(d["weight"] for d in saa["certification"]["domains"]) == 100
    assert 0 <= saa["readinessScore"] <= 100
    assert 0 <= saa["predictedPassProbability"] <= 100
    assert saa["confidenceLevel"] in {"LOW", "MEDIUM", "HIGH"}
    assert sum(d["answers"] for d in saa["domains"]) > 0  # two weeks of study
    assert 0 < saa["estimatedStudyHoursLeft"] < 100
    for action in saa["recommendedActions"]:
        assert action["message"]
        assert action["kind"] in {"STUDY_ITEM", "PRACTISE_DOMAIN", "BOOK_EXAM"}
    assert learner["unknown"] is None


async def test_a_parent_of_someone_else_gets_no_readiness(
    services: Services, execute: Execute
) -> None:
    await seed_demo(services.repositories, services.recorder, now=NOW, weeks=1)

    result = await execute(
        '{ learner(id: "demo-alan") { readiness(certification: "SAA") { readinessScore } } }',
        as_viewer=PARENT,
    )

    assert result["data"] == {"learner": None}
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]


async def test_a_demo_learners_paths_modules_reviews_next_items_and_risk(
    services: Services, execute: Execute
) -> None:
    await seed_demo(services.repositories, services.recorder, now=NOW, weeks=2)

    result = await execute(
        """{ learner(id: "demo-ada") {
              paths(certification: "SAA") {
                path { pathId certification } done total percent remainingMinutes
                nextUp { contentId title }
                steps { itemId status locked missing }
              }
              modules(certification: "SAA") {
                module items completed completionPercent averageScore band
              }
              dueForReview(first: 5) { content { contentId } dueAt recallProbability }
              nextItems(first: 5) { rank reason message estimatedMinutes content { contentId } }
              atRisk { atRisk reasons { kind message } }
            } }""",
        as_viewer=PARENT,
    )

    assert result["errors"] == []
    learner: dict[str, Any] = result["data"]["learner"]
    [path] = learner["paths"]
    assert path["path"] == {"pathId": "saa-path", "certification": "SAA"}
    assert 0 < path["done"] < path["total"] == len(path["steps"])
    steps = path["steps"]
    first_open = next(s for s in steps if s["status"] not in {"COMPLETED", "MASTERED"})
    assert path["nextUp"]["contentId"] == first_open["itemId"]
    assert not first_open["locked"]
    assert all(s["locked"] for s in steps[steps.index(first_open) + 1 :])
    assert sum(m["items"] for m in learner["modules"]) == path["total"]
    assert all(
        m["band"] in {"BEGINNER", "DEVELOPING", "PROFICIENT", "ADVANCED"}
        for m in learner["modules"]
    )
    assert [n["rank"] for n in learner["nextItems"]] == list(
        range(1, len(learner["nextItems"]) + 1)
    )
    assert learner["nextItems"]
    for due in learner["dueForReview"]:
        assert 0 <= due["recallProbability"] <= 1
    risk = learner["atRisk"]
    assert risk["atRisk"] is bool(risk["reasons"])
    kinds = {reason["kind"] for reason in risk["reasons"]}
    assert "INACTIVE" not in kinds and "STREAK_BROKEN" not in kinds  # Ada studies every day


async def test_a_demo_learners_trends_patterns_charts_and_curve(
    services: Services, execute: Execute
) -> None:
    await seed_demo(services.repositories, services.recorder, now=NOW, weeks=3)

    result = await execute(
        """{ learner(id: "demo-ada") {
              weeks: trends(period: WEEK, from: "2025-03-10", to: "2026-03-10") {
                label start end events completions averageScore activeDays
                byCertification { key events }
              }
              months: trends(period: MONTH, certification: "SAA") {
                label events byCategory { key }
              }
              learningPatterns { peakHours activeShare regularity suggestions
                                 hours { hour minutes } weekdays { weekday events } }
              heatmap { day minutes band }
              progressAgainstTarget(goal: 40, targetDate: "2026-05-01") { day completed target }
              completionForecast(certification: "SAA") {
                remaining pacePerDay expected earliest latest
              }
              learningCurve { points { day value } fit { start ceiling rate } improvementPerWeek }
              skills {
                skillId mastery attemptsToMastery minutesToMastery
                curve(last: 5) { points { at mastery } fit { ceiling } improvementPerAnswer }
              }
              analytics { itemsCompleted totalEvents }
            } }""",
        as_viewer=PARENT,
    )

    assert result["errors"] == []
    learner: dict[str, Any] = result["data"]["learner"]
    weeks = learner["weeks"]
    assert len(weeks) == 53 and weeks[0]["label"] == "2025-W11"  # a year of ISO weeks
    assert sum(w["events"] for w in weeks) == learner["analytics"]["totalEvents"]
    assert all(w["byCertification"] == [] or w["events"] for w in weeks)
    assert sum(m["events"] for m in learner["months"]) > 0
    assert learner["months"][-1]["label"] == "2026-03"
    patterns = learner["learningPatterns"]
    assert len(patterns["hours"]) == 24 and len(patterns["weekdays"]) == 7
    assert 7 in patterns["peakHours"] or 8 in patterns["peakHours"]  # Ada studies mornings
    assert patterns["activeShare"] > 0.5
    assert len(learner["heatmap"]) == 90 and learner["heatmap"][-1]["day"] == "2026-03-10"
    target = learner["progressAgainstTarget"]
    assert len(target) == 30
    assert target[-1]["completed"] >= target[0]["completed"]
    forecast = learner["completionForecast"]
    assert forecast["remaining"] > 0 and forecast["pacePerDay"] > 0
    assert forecast["earliest"] <= forecast["expected"] <= forecast["latest"]
    assert learner["learningCurve"]["points"]
    for skill in learner["skills"]:
        assert (skill["attemptsToMastery"] == 0) is (skill["mastery"] >= 0.95)
        points = skill["curve"]["points"]
        assert len(points) <= 5
        if points:
            assert points[-1]["mastery"] == skill["mastery"]  # the last answer's mastery
