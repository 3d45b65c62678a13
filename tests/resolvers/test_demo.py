from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.access import Role, Viewer
from domain.events import EventType
from domain.leaderboards import Period
from domain.totals import LearnerTotals
from persistence.feed import Feed
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from resolvers.access import Access
from resolvers.demo import (
    CCP,
    CONTENT,
    PROFILES,
    SAA,
    SKILLS,
    DemoSeedError,
    demo_events,
    seed_demo,
)
from resolvers.leaderboards import LeaderboardSettings, leaderboard
from resolvers.recording import Recorder
from tests.factories import NOW
from tests.fakes import fake_repositories

LEARNER_IDS = [profile.learner.id for profile in PROFILES]
# Most tests seed a shorter window: mongomock checks unique indexes by scanning, so storing
# events costs it time quadratic in their number (the full window takes seconds there).
SHORT = 2


async def seeded_totals(*, seed: int) -> dict[str, LearnerTotals]:
    """Seeds a database of its own (the fixtures give one per test) and reads the totals back."""
    repositories = await fake_repositories()
    recorder = Recorder(repositories, Feed(repositories.database, TOPICS))
    await seed_demo(repositories, recorder, now=NOW, weeks=SHORT, seed=seed)
    return await totals_of(repositories)


async def totals_of(repositories: Repositories) -> dict[str, LearnerTotals]:
    return await repositories.totals.find_by_ids(LEARNER_IDS)


async def test_seeding_creates_the_catalog_the_learners_and_their_history(
    repositories: Repositories, recorder: Recorder
) -> None:
    summary = await seed_demo(repositories, recorder, now=NOW)

    assert summary.content_items >= 50
    assert summary.events >= 1000
    assert summary.recorded == summary.events
    counts = await repositories.content.counts()
    assert counts.total == summary.content_items
    assert set(counts.by_certification) == {SAA, CCP}
    learners = await repositories.learners.find_by_ids(LEARNER_IDS)
    assert {learner.id: learner.time_zone for learner in learners.values()} == {
        "demo-ada": "Europe/London",
        "demo-grace": "America/New_York",
        "demo-alan": "Asia/Tokyo",
        "demo-katherine": "Australia/Sydney",
    }
    totals = await totals_of(repositories)
    assert sum(t.overall.events for t in totals.values()) == summary.events
    for learner_id in LEARNER_IDS:
        overall = totals[learner_id].overall
        assert overall.items_completed > 0, learner_id
        assert overall.questions_answered > 0, learner_id
        assert overall.time_spent_seconds > 0, learner_id
    # About 10 s here, most of it mongomock's scans (3 s on the embedded SecantusDB server): the
    # bound only catches a generation or batching gone wrong, not machine speed.

    # The profiles show: only the beginner takes the second track, and struggles on networking;
    # the near-finished learner scores best and has done most of the SAA track; the steady one
    # studied every day of the last month.
    assert totals["demo-alan"].tally(CCP).items_completed > 0

    def average(learner_id: str) -> float:
        tally = totals[learner_id].overall
        return tally.score_sum / tally.scored

    assert average("demo-katherine") > average("demo-alan")
    saa_items = (await repositories.content.counts()).items_in(SAA)
    assert totals["demo-katherine"].tally(SAA).items_completed >= 0.8 * saa_items
    states = (await repositories.skill_states.for_learners(["demo-alan"]))["demo-alan"]
    p_known = {state.skill_id: state.p_known for state in states}
    assert p_known["vpc"] < p_known["cloud-concepts"]
    # The steady learner studied every one of the last 30 local days.
    ada = await repositories.activity.between(
        ["demo-ada"], NOW.date() - timedelta(days=29), NOW.date()
    )
    assert len(ada["demo-ada"]) == 30


async def test_seeding_twice_stores_nothing_new(
    repositories: Repositories, recorder: Recorder
) -> None:
    first = await seed_demo(repositories, recorder, now=NOW, weeks=SHORT)
    before = await totals_of(repositories)

    again = await seed_demo(repositories, recorder, now=NOW, weeks=SHORT)

    assert again.recorded == 0
    assert again == dataclasses.replace(first, recorded=0)
    assert await totals_of(repositories) == before


async def test_a_later_run_on_the_same_day_only_adds_what_happened_since(
    repositories: Repositories, recorder: Recorder
) -> None:
    morning = NOW.replace(hour=9)
    first = await seed_demo(repositories, recorder, now=morning, weeks=SHORT)
    later = await seed_demo(repositories, recorder, now=NOW, weeks=SHORT)

    assert later.events > first.events
    assert later.recorded == later.events - first.events


async def test_a_run_on_another_day_is_refused_rather_than_mixed_in(
    repositories: Repositories, recorder: Recorder
) -> None:
    await seed_demo(repositories, recorder, now=NOW, weeks=SHORT)
    before = await totals_of(repositories)

    with pytest.raises(DemoSeedError, match="another day"):
        await seed_demo(repositories, recorder, now=NOW + timedelta(days=1), weeks=SHORT)
    with pytest.raises(DemoSeedError, match="another day"):
        await seed_demo(repositories, recorder, now=NOW, weeks=SHORT, seed=8)

    assert await totals_of(repositories) == before


def test_the_same_seed_gives_the_same_events_and_another_seed_others() -> None:
    assert demo_events(now=NOW, seed=7) == demo_events(now=NOW, seed=7)
    assert demo_events(now=NOW, seed=7) != demo_events(now=NOW, seed=8)
    # Later the same day: the same events, plus those whose time has come since.
    morning = demo_events(now=NOW.replace(hour=9))
    for learner_id, events in demo_events(now=NOW).items():
        assert events[: len(morning[learner_id])] == morning[learner_id]


async def test_the_same_seed_gives_the_same_totals() -> None:
    first = await seeded_totals(seed=7)

    assert len(first) == len(LEARNER_IDS)
    assert await seeded_totals(seed=7) == first


def test_events_are_chronological_within_the_window_and_in_local_daytime() -> None:
    histories = demo_events(now=NOW, weeks=6)

    assert list(histories) == LEARNER_IDS
    for profile in PROFILES:
        events = histories[profile.learner.id]
        zone = ZoneInfo(profile.learner.time_zone)
        times = [event.occurred_at for event in events if event.occurred_at is not None]
        assert len(times) == len(events) > 0
        assert times == sorted(times) and len(set(times)) == len(times)
        assert NOW - timedelta(weeks=6, days=1) < times[0] and times[-1] <= NOW
        assert all(t.astimezone(zone).hour >= 6 for t in times), profile.learner.id
        assert len({event.event_id for event in events}) == len(events)
    every_event = [event for events in histories.values() for event in events]
    assert {event.type for event in every_event} == set(EventType)


# Digests of the demo data as generated before it was split into a package (the catalog then
# lived in Python): any change to the story or the catalog shows here. Change them only on
# purpose, knowing that a database seeded before the change refuses a re-seed (DemoSeedError).
PINNED_AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EVENTS_DIGEST = "d569ad7c606895d39297b96e01328bc8fc86aaeebb88a7c6a6623b8e7be22dd9"
CATALOG_DIGEST = "025640f93d6fdbaee62062c56e76af38c7581688989b41d8450cb4067d42d6d4"


def sha256_of(rows: object) -> str:
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def test_the_events_are_those_pinned_for_a_fixed_day() -> None:
    histories = demo_events(now=PINNED_AT, weeks=2)
    rows = [
        [
            d.learner_id,
            d.event_id,
            d.type.value,
            d.content_id,
            d.score,
            d.correct,
            d.time_spent_seconds,
            d.occurred_at.isoformat() if d.occurred_at else None,
            d.session_id,
        ]
        for drafts in histories.values()
        for d in drafts
    ]

    assert len(rows) == 439
    assert sha256_of(rows) == EVENTS_DIGEST


def test_the_catalog_is_the_one_pinned() -> None:
    rows = [[s.id, s.name, s.domain, s.bkt] for s in SKILLS] + [
        [
            c.id,
            c.title,
            c.kind.value,
            list(c.skill_ids),
            c.category,
            None if c.difficulty is None else c.difficulty.value,
            c.certification,
            c.module,
            c.estimated_minutes,
        ]
        for c in CONTENT
    ]

    assert (len(SKILLS), len(CONTENT)) == (18, 62)
    assert sha256_of(rows) == CATALOG_DIGEST


async def test_the_demo_class_board_names_classmates_but_the_one_who_stays_anonymous(
    repositories: Repositories, recorder: Recorder
) -> None:
    await seed_demo(repositories, recorder, now=NOW, weeks=SHORT)

    async def board(who: Viewer, group_id: str | None) -> list[str]:
        view = await leaderboard(
            Access(who, Loaders(repositories)),
            repositories,
            Loaders(repositories),
            period=Period.ALL_TIME,
            group_id=group_id,
            week=None,
            first=None,
            around=2,
            now=NOW,
            settings=LeaderboardSettings(),
        )
        assert view is not None
        return [row.display_name for row in view.top]

    ada = Viewer("demo-ada", frozenset({Role.LEARNER}))
    educator = Viewer("demo-educator", frozenset({Role.EDUCATOR}))
    as_ada = await board(ada, "demo-class")

    assert len(as_ada) == 4
    assert {"Ada Lovelace", "Grace Hopper", "Katherine Johnson"} < set(as_ada)
    assert "Alan Turing" not in as_ada
    assert "Alan Turing" in await board(educator, "demo-class")
    overall = await board(ada, None)
    assert [name for name in overall if not name.startswith("Learner ")] == ["Ada Lovelace"]
