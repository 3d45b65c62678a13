"""Leaderboard use cases: who may read which board, what each sees, and entries that follow
points, memberships and privacy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.access import Forbidden, Role, Viewer
from domain.errors import InvalidInput
from domain.events import EventType
from domain.groups import GroupChanges
from domain.leaderboards import LeaderboardView, Period, Privacy
from domain.learners import Learner, LearnerChanges
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from resolvers.access import Access
from resolvers.catalog import upsert_content, upsert_skills
from resolvers.gamification import award_points
from resolvers.groups import add_members, delete_group, link_guardian, upsert_group
from resolvers.leaderboards import LeaderboardSettings, leaderboard, standing_of
from resolvers.learners import upsert_learner
from resolvers.maintenance import backfill_leaderboards
from resolvers.recording import Recorder
from tests.factories import NOW, admin, content_item, draft, skill, viewer

SETTINGS = LeaderboardSettings()
ADA = viewer("ada", Role.LEARNER)
ED = viewer("ed", Role.EDUCATOR)


def as_(repositories: Repositories, who: Viewer) -> Access:
    return Access(who, Loaders(repositories))


async def give(repositories: Repositories, points: dict[str, int], *, award: str = "a") -> None:
    access = admin(repositories)
    for learner_id, amount in points.items():
        await repositories.learners.create_missing([Learner(learner_id, learner_id.title())])
        await award_points(
            access,
            runner(repositories),
            learner_id=learner_id,
            award_id=award,
            amount=amount,
            reason="seed",
            now=NOW,
        )


def runner(repositories: Repositories) -> TransactionRunner:
    return TransactionRunner(repositories)


async def read(
    repositories: Repositories, who: Viewer, **options: object
) -> LeaderboardView | None:
    arguments: dict[str, object] = {
        "period": Period.WEEK,
        "group_id": None,
        "week": None,
        "first": None,
        "around": 2,
    } | options
    return await leaderboard(
        as_(repositories, who),
        repositories,
        Loaders(repositories),
        now=NOW,
        settings=SETTINGS,
        **arguments,  # type: ignore[arg-type]
    )


async def classroom(repositories: Repositories, *members: str) -> None:
    access = admin(repositories)
    changes = GroupChanges("class-a", name="Class A", educator_ids=frozenset({"ed"}))
    await upsert_group(access, repositories, changes, now=NOW)
    await add_members(access, repositories, "class-a", list(members), now=NOW)


def names(view: LeaderboardView | None) -> list[str]:
    assert view is not None
    return [row.display_name for row in view.top]


async def test_recorded_events_put_their_points_on_this_weeks_board(
    repositories: Repositories, recorder: Recorder
) -> None:
    await upsert_skills(admin(repositories), repositories, [skill()])
    await upsert_content(admin(repositories), repositories, [content_item()])
    await recorder.record_many(
        [
            draft(type=EventType.STARTED, score=None),
            draft(type=EventType.STARTED, learner_id="bob", score=None),
            draft(
                type=EventType.COMPLETED,
                learner_id="bob",
                score=1.0,
                occurred_at=NOW - timedelta(days=30),
            ),
        ],
        received_at=NOW,
    )

    this_week = await read(repositories, ADA)
    all_time = await read(repositories, ADA, period=Period.ALL_TIME)

    assert this_week is not None and all_time is not None
    # ada: started, her first event and the day's streak points; bob: started and the day's
    # streak points (his first event was a month ago).
    assert [(row.rank, row.points) for row in this_week.top] == [(1, 20), (2, 10)]
    assert all_time.top[0].points > 20  # bob's late completion counts all time, not this week
    assert this_week.viewer_row is not None and this_week.viewer_row.learner_id == "ada"


async def test_a_learner_reads_the_overall_board_and_their_groups_only(
    repositories: Repositories,
) -> None:
    await give(repositories, {"ada": 10, "bob": 20})
    await classroom(repositories, "bob")

    assert await read(repositories, ADA) is not None
    with pytest.raises(Forbidden):
        await read(repositories, ADA, group_id="class-a")
    assert await read(repositories, viewer("bob", Role.LEARNER), group_id="class-a") is not None


@pytest.mark.parametrize("role", [Role.PARENT, Role.EDUCATOR])
async def test_parents_and_educators_have_no_overall_board(
    repositories: Repositories, role: Role
) -> None:
    with pytest.raises(Forbidden):
        await read(repositories, viewer("someone", role))


async def test_an_educator_oversees_the_boards_of_their_groups(
    repositories: Repositories,
) -> None:
    await give(repositories, {"ada": 10, "bob": 20})
    await classroom(repositories, "ada", "bob")

    as_ed = await read(repositories, ED, group_id="class-a")
    with pytest.raises(Forbidden):
        await read(repositories, viewer("eve", Role.EDUCATOR), group_id="class-a")

    assert names(as_ed) == ["Bob", "Ada"]
    assert as_ed is not None and as_ed.viewer_row is None


async def test_the_overall_mode_is_the_settings(repositories: Repositories) -> None:
    await give(repositories, {"ada": 10, "bob": 20})

    view = await leaderboard(
        as_(repositories, ADA),
        repositories,
        Loaders(repositories),
        period=Period.WEEK,
        group_id=None,
        week=None,
        first=None,
        around=0,
        now=NOW,
        settings=LeaderboardSettings(size=1, mode=Privacy.FULL_NAME),
    )

    assert names(view) == ["Bob"]
    assert view is not None and [row.display_name for row in view.neighbours] == ["Ada"]


async def test_arguments_are_checked_after_access(repositories: Repositories) -> None:
    with pytest.raises(Forbidden):
        await read(repositories, ED, first=0)
    with pytest.raises(InvalidInput) as refused:
        await read(repositories, ADA, first=0)
    assert refused.value.field == "first"


async def test_a_learner_added_to_a_group_joins_its_boards_with_their_points(
    repositories: Repositories,
) -> None:
    await give(repositories, {"ada": 10, "bob": 20})
    await classroom(repositories, "bob")
    before = await read(repositories, ED, group_id="class-a")

    await add_members(admin(repositories), repositories, "class-a", ["ada"], now=NOW)

    assert names(before) == ["Bob"]
    assert names(await read(repositories, ED, group_id="class-a")) == ["Bob", "Ada"]


async def test_a_deleted_groups_board_is_gone_and_a_new_one_starts_empty(
    repositories: Repositories,
) -> None:
    await give(repositories, {"ada": 10})
    await classroom(repositories, "ada")

    await delete_group(admin(repositories), repositories, "class-a")
    await classroom(repositories)

    view = await read(repositories, ED, group_id="class-a")
    assert view is not None and (view.size, view.top) == (0, [])


async def test_hiding_takes_a_learner_off_every_board_at_once(repositories: Repositories) -> None:
    await give(repositories, {"ada": 10, "bob": 20})
    await classroom(repositories, "ada", "bob")

    await upsert_learner(
        as_(repositories, viewer("bob", Role.LEARNER)),
        repositories,
        LearnerChanges("bob", leaderboard_visibility=Privacy.HIDDEN),
    )

    for group_id in (None, "class-a"):
        view = await read(repositories, viewer("root", Role.ADMIN), group_id=group_id)
        assert view is not None and names(view) == ["Ada"] and view.size == 1


async def test_a_learner_may_change_nothing_else_of_themselves(
    repositories: Repositories,
) -> None:
    with pytest.raises(Forbidden):
        await upsert_learner(as_(repositories, ADA), repositories, LearnerChanges("ada", "A"))
    with pytest.raises(Forbidden):
        await upsert_learner(
            as_(repositories, ADA),
            repositories,
            LearnerChanges("bob", leaderboard_visibility=Privacy.HIDDEN),
        )


async def test_a_parent_reads_their_childs_place_and_no_one_elses(
    repositories: Repositories,
) -> None:
    await give(repositories, {"ada": 10, "bob": 20})
    await link_guardian(admin(repositories), repositories, "pat", "ada", now=NOW)
    pat = viewer("pat", Role.PARENT)

    found = await standing_of(
        as_(repositories, pat),
        Loaders(repositories),
        "ada",
        period=Period.ALL_TIME,
        group_id=None,
        week=None,
        now=NOW,
        settings=SETTINGS,
    )
    with pytest.raises(Forbidden):
        await standing_of(
            as_(repositories, pat),
            Loaders(repositories),
            "bob",
            period=Period.ALL_TIME,
            group_id=None,
            week=None,
            now=NOW,
            settings=SETTINGS,
        )

    assert found is not None and (found.rank, found.points, found.size) == (2, 10, 2)


async def test_the_backfill_builds_the_boards_of_an_older_database(
    repositories: Repositories,
) -> None:
    await give(repositories, {"ada": 10, "bob": 20})
    await repositories.database["leaderboard_entries"].delete_many({})
    await repositories.database["leaderboard_counts"].delete_many({})
    assert names(await read(repositories, viewer("root", Role.ADMIN))) == []

    written = await backfill_leaderboards(repositories, runner(repositories), now=NOW)

    assert written == 4
    assert names(await read(repositories, viewer("root", Role.ADMIN))) == ["Bob", "Ada"]
    assert await backfill_leaderboards(repositories, runner(repositories), now=NOW) == 0
