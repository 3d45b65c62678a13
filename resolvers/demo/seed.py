"""The use case: `seed_demo` stores the demo catalog, learners and events (see the package doc)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from domain.activity import local_time, week_of
from domain.events import MAX_BATCH, EventDraft, fingerprint
from domain.goals import WeeklyGoal, with_goal
from domain.groups import GroupChanges
from domain.learners import LearnerChanges
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.catalog import MAX_UPSERT, upsert_content, upsert_skills
from resolvers.demo.catalog import CONTENT, SKILLS
from resolvers.demo.certifications import ACHIEVEMENTS, CERTIFICATIONS
from resolvers.demo.learners import (
    CHILDREN,
    CLASS,
    CLASS_LEADERBOARD,
    CLASS_NAME,
    EDUCATOR,
    GOALS,
    PARENT,
    PROFILES,
)
from resolvers.demo.paths import PATHS
from resolvers.demo.simulator import demo_events
from resolvers.gamification import upsert_achievement
from resolvers.groups import add_members, link_guardian, upsert_group
from resolvers.learners import upsert_learner
from resolvers.paths import upsert_paths
from resolvers.readiness import upsert_certifications
from resolvers.recording import Recorder


@dataclass(frozen=True)
class DemoSummary:
    skills: int
    content_items: int
    learners: int
    events: int  # demo events up to `now`, recorded now or before
    recorded: int = 0  # of those, how many this call stored (0 on a re-run: all replayed)


class DemoSeedError(RuntimeError):
    """A demo event was refused, typically a re-run on another day (see the package doc)."""


async def seed_demo(
    repos: Repositories, recorder: Recorder, *, now: datetime, weeks: int = 6, seed: int = 7
) -> DemoSummary:
    """Upserts the demo catalog and learners, then records `weeks` weeks of events up to `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    access = Access.system(repos)
    for skills in _chunks(SKILLS, MAX_UPSERT):
        await upsert_skills(access, repos, skills)
    for items in _chunks(CONTENT, MAX_UPSERT):
        await upsert_content(access, repos, items)
    await upsert_certifications(access, repos, CERTIFICATIONS)
    for definition in ACHIEVEMENTS:
        await upsert_achievement(access, repos, definition)
    await upsert_paths(access, repos, PATHS)
    # Before the events: a learner first seen through an event would get UTC days.
    for profile in PROFILES:
        await upsert_learner(access, repos, LearnerChanges.replacing(profile.learner))
    await _relationships(access, repos, recorder, now=now)
    await _goals(repos, now=now, weeks=weeks)

    histories = demo_events(now=now, weeks=weeks, seed=seed)
    await _check_same_story(repos, histories)
    recorded = 0
    # One learner per batch, oldest first: the order of one learner's answers is what their
    # mastery depends on, while learners are independent. Batches of a single learner are also
    # cheaper to store: their lookups are keyed by one learnerId (measured on SecantusDB: 3 s
    # against 9 s for the same events sent in global time order).
    for drafts in histories.values():
        for chunk in _chunks(drafts, MAX_BATCH):
            for result in await recorder.record_many(chunk, received_at=now):
                if result.error is not None:
                    raise DemoSeedError(
                        f"demo event {result.event_id} of {result.learner_id} was refused: "
                        f"{result.error}"
                    ) from result.error
                recorded += result.recorded
    await recorder.aggregation.projector.drain()  # the dashboards show it all at once
    return DemoSummary(
        skills=len(SKILLS),
        content_items=len(CONTENT),
        learners=len(PROFILES),
        events=sum(len(drafts) for drafts in histories.values()),
        recorded=recorded,
    )


async def _relationships(
    access: Access, repos: Repositories, recorder: Recorder, *, now: datetime
) -> None:
    """The demo parent's children and the demo educator's class of all four learners, whose
    leaderboards show names."""
    for child in CHILDREN:
        await link_guardian(access, repos, PARENT, child, now=now)
    group = GroupChanges(
        CLASS,
        name=CLASS_NAME,
        educator_ids=frozenset({EDUCATOR}),
        leaderboard_mode=CLASS_LEADERBOARD,
    )
    await upsert_group(access, repos, group, now=now)
    learners = [profile.learner.id for profile in PROFILES]
    await add_members(
        access,
        repos,
        CLASS,
        learners,
        now=now,
        runner=recorder.runner,
        aggregation=recorder.aggregation,
    )


async def _goals(repos: Repositories, *, now: datetime, weeks: int) -> None:
    """Each demo learner's weekly goal, from the first week of their history on (so the
    history's weeks meet it or not, and earn the goal points when they do)."""
    for profile in PROFILES:
        learner = profile.learner
        first = week_of(local_time(now, learner.time_zone).day) - timedelta(weeks=weeks)
        kind, target = GOALS[learner.id]
        goal = WeeklyGoal(kind, target, first, set_by=EDUCATOR, set_at=now)
        await repos.goals.update(learner.id, functools.partial(_only, goal))


def _only(goal: WeeklyGoal, _: Sequence[WeeklyGoal]) -> tuple[WeeklyGoal, ...]:
    return with_goal((), goal)


async def _check_same_story(repos: Repositories, histories: dict[str, list[EventDraft]]) -> None:
    """Refuses, before storing anything, a run whose events differ from those already stored.

    A run on another day shifts every learner's window, so already each learner's first event
    differs. Left to the recorder, the clashing ids would fail one by one while the ids past the
    earlier run's last one were stored: two stories mixed into one history.
    """
    firsts = [drafts[0] for drafts in histories.values() if drafts]
    stored = await repos.events.find_by_keys([(d.learner_id, d.event_id) for d in firsts], None)
    for draft in firsts:
        earlier = stored.get((draft.learner_id, draft.event_id))
        if earlier is not None and earlier.fingerprint != fingerprint(draft):
            raise DemoSeedError(
                f"demo event {draft.event_id} of {draft.learner_id} was refused: the stored demo "
                "data was seeded for another day (or seed); seed a fresh database instead"
            )


T = TypeVar("T")


def _chunks(values: Sequence[T], size: int) -> list[Sequence[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]
