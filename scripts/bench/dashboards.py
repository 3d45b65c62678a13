"""Section 5: the dashboards against the size of the group.

Two groups, of 500 and 50 learners, each learner with a month of events recorded through the
real write path (which keeps the aggregates). The educator's dashboard, everything in it (the
overview, a page of 20 members with their progress, engagement and risk, the learners at risk,
the hardest items and skills, the interventions), asked by the group's educator; median of many
runs, interleaved. It reads the group's aggregates and the 20 members shown, not a document per
member, so the 500-learner group should cost at most twice the 50-learner one. The admin's
dashboard (30 days) is measured beside it.
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

from domain.access import Role, Viewer
from domain.events import EventDraft
from domain.groups import GroupChanges
from domain.learners import LearnerChanges
from resolvers.access import Access
from resolvers.groups import add_members, upsert_group
from resolvers.services import utc_now
from schema.context import new_context
from scripts.bench.common import BENCH_VIEWER, QUICK, Bench, ms, timed, verdict

SIZES = (20, 5) if QUICK else (500, 50)  # the JSON keys say 500 and 50 all the same
EVENTS_PER_LEARNER = 4 if QUICK else 30
HISTORY_DAYS = 30
LEARNERS_PER_BATCH = 10  # learners whose month goes in one recordEvents call
RUNS = 5 if QUICK else 40
WARMUP = 2 if QUICK else 5
RATIO_AIM = 2.0
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")

EDUCATOR_DASHBOARD = """
query($group: String!) {
  groupDashboard(groupId: $group, first: 20) {
    asOf
    group { groupId name }
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
    atRiskLearners(first: 10) { learner { learnerId } atRiskSince reasons { kind message } }
    conceptDifficulty {
      items(first: 10) {
        contentId content { title } learners answeredLearners answers correctAnswers
        successRate averageAttempts averageMinutes
      }
      skills(first: 10) {
        skillId skill { name } learners answeredLearners answers correctAnswers
        successRate averageAttempts averageMinutes
      }
    }
    interventions(first: 5) { rank kind message learnerId contentId skillId }
  }
}
"""

ADMIN_DASHBOARD = """
{
  adminDashboard(days: 30) {
    asOf days dailyActiveLearners { date learners } dau mau stickiness
    sessions averageSessionMinutes streakRetention
    weeklyRetention { weekStart activeLearners retainedLearners rate }
    badgeAwards { key title awards perDay }
    eventsPerMinute { currentMinute lastHourAverage }
  }
}
"""


async def dashboard_reads(bench: Bench) -> dict[str, float]:
    large, small = SIZES
    print(
        f"\n6. Dashboards: the educator's for a {large}-learner group against a {small}-learner "
        f"group ({EVENTS_PER_LEARNER} events a learner over {HISTORY_DAYS} days, recorded "
        f"through recordEvents' write path), and the admin's; median of {RUNS} runs"
    )
    groups = {size: f"bench-class-{size}" for size in SIZES}
    educators = {
        size: Viewer(f"bench-teacher-{size}", frozenset({Role.EDUCATOR})) for size in SIZES
    }
    events = 0
    for size in SIZES:
        events += await _class_with_history(bench, groups[size], educators[size], size)
    projector = bench.services.projector
    await projector.drain()
    print(f"   recorded {events:,} events; {projector.applied:,} aggregate changes applied")

    samples: dict[int, list[float]] = {size: [] for size in SIZES}
    commands: dict[int, int] = {}

    async def educator_view(size: int) -> None:
        data = await _execute(bench, EDUCATOR_DASHBOARD, educators[size], group=groups[size])
        board = data["groupDashboard"]
        if board["overview"]["memberCount"] != size or len(board["members"]["edges"]) != min(
            20, size
        ):
            raise RuntimeError(f"the {size}-learner dashboard is not whole: {board['overview']}")

    for size in SIZES:
        for _ in range(WARMUP):
            await educator_view(size)
        bench.counter.reset()
        await educator_view(size)
        commands[size] = bench.counter.count
    for n in range(RUNS):
        for size in SIZES if n % 2 == 0 else tuple(reversed(SIZES)):
            samples[size].append(await timed(educator_view(size)))
    medians = {size: statistics.median(samples[size]) for size in SIZES}
    ratio = medians[large] / medians[small]

    async def admin_view() -> None:
        data = await _execute(bench, ADMIN_DASHBOARD, BENCH_VIEWER)
        if data["adminDashboard"]["mau"] < large + small:
            raise RuntimeError(f"the admin dashboard misses learners: {data['adminDashboard']}")

    for _ in range(WARMUP):
        await admin_view()
    admin_samples = [await timed(admin_view()) for _ in range(RUNS)]
    admin_median = statistics.median(admin_samples)

    for size in SIZES:
        print(
            f"   educator dashboard, {size:>3} learners   median {ms(medians[size])}   "
            f"{commands[size]} database commands"
        )
    print(
        f"   ratio {large} / {small}                 {ratio:8.2f}   aim <= {RATIO_AIM}: "
        f"{verdict(ratio <= RATIO_AIM)}"
    )
    print(f"   admin dashboard (30 days)        median {ms(admin_median)}")
    return {
        "educator_dashboard_500_ms": round(medians[large] * 1000, 1),
        "educator_dashboard_50_ms": round(medians[small] * 1000, 1),
        "educator_dashboard_ratio": round(ratio, 2),
        "educator_dashboard_500_commands": commands[large],
        "educator_dashboard_50_commands": commands[small],
        "admin_dashboard_ms": round(admin_median * 1000, 1),
    }


async def _class_with_history(bench: Bench, group: str, educator: Viewer, size: int) -> int:
    """A group of `size` learners taught by `educator`, then a month of each one's events."""
    repos = bench.services.repositories
    learners = [f"{group}-learner-{n:03d}" for n in range(size)]
    for n, learner_id in enumerate(learners):
        await repos.learners.update(
            LearnerChanges(id=learner_id, display_name=f"Learner {n}", time_zone=ZONES[n % 5])
        )
    access = Access.system(repos)
    assert educator.id is not None
    changes = GroupChanges(
        group, name=f"Bench class of {size}", educator_ids=frozenset({educator.id})
    )
    await upsert_group(access, repos, changes, now=utc_now())
    await add_members(
        access, repos, group, learners, now=utc_now(), aggregation=bench.services.aggregation
    )
    now = utc_now()
    recorded = 0
    for start in range(0, size, LEARNERS_PER_BATCH):
        who = learners[start : start + LEARNERS_PER_BATCH]
        # Some learners stopped a while ago: the at-risk list has members in it.
        drafts: list[EventDraft] = []
        for n, learner_id in enumerate(who):
            stopped = timedelta(days=(start + n) % 12)
            drafts += bench.factory.drafts(
                [learner_id],
                EVENTS_PER_LEARNER,
                start=now - timedelta(days=HISTORY_DAYS),
                end=now - stopped - timedelta(minutes=1),
                tag=f"{learner_id}-history",
            )
        await bench.record(drafts)
        recorded += len(drafts)
    return recorded


async def _execute(bench: Bench, query: str, viewer: Viewer, **variables: Any) -> dict[str, Any]:
    result = await bench.schema.execute(
        query, variable_values=variables, context_value=new_context(bench.services, viewer)
    )
    if result.errors:
        raise RuntimeError(f"GraphQL errors: {[e.formatted for e in result.errors]}")
    assert result.data is not None
    return result.data
