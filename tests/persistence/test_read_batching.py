"""Reads are batched per request: 200 learners cost as many commands as 2."""

from __future__ import annotations

import pytest

from domain.events import EventType
from resolvers.services import Services
from schema import build_schema
from schema.context import new_context
from tests.factories import ADMIN, NOW, content_item, draft, skill
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

QUERY = """
query($ids: [String!]!) {
  learners(ids: $ids) {
    learnerId timeZone
    analytics { contentViewed averageScore completionRate }
    certifications { certification completionRate }
    contentProgress(first: 5) { edges { node { contentId status content { title } } } }
    skills { skillId mastery skill { name } }
    dailyActivity { date events }
    streak { current longest }
    level { name points }
    achievements { unlocked progress { percent } }
    dashboard {
      activitySummary { studyStreakDays weeklyAverageMinutes mostActiveCertification }
      performanceTrend { date events }
      recentAchievements { title badgeIcon }
      recommendations { kind message }
    }
  }
}
"""


async def commands_for(real: RealServer, learner_ids: list[str]) -> int:
    services = Services(real.repositories, real.feed, real.recorder, clock=lambda: NOW)
    real.commands.reset()
    # Every field of 200 learners is well over the default cost limit: allowed here, where
    # batching is what is measured.
    result = await build_schema(max_query_cost=1_000_000).execute(
        QUERY, variable_values={"ids": learner_ids}, context_value=new_context(services, ADMIN)
    )
    assert result.errors is None
    assert result.data is not None
    assert all(learner is not None for learner in result.data["learners"])
    return real.commands.count


async def test_a_page_of_200_learners_costs_as_many_commands_as_2(real: RealServer) -> None:
    await real.repositories.skills.upsert_many([skill(), skill(id="s3", name="S3")])
    await real.repositories.content.upsert_many(
        [content_item(id=f"c{n}", skill_ids=("ec2", "s3")) for n in range(3)]
    )
    learners = [f"learner-{n:03}" for n in range(200)]
    await real.recorder.record_many(
        [
            draft(learner_id=learner, event_id=f"{learner}-{n}", content_id=f"c{n}", type=kind)
            for learner in learners
            for n, kind in enumerate([EventType.VIEWED, EventType.ANSWERED])
        ],
        received_at=NOW,
    )
    await real.recorder.aggregation.projector.drain()  # the writes' own work, done

    few = await commands_for(real, learners[:2])
    many = await commands_for(real, learners)

    assert few == many
    assert many <= 12  # one command per collection read, whatever the page size
