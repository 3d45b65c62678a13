"""Groups, memberships and guardianships against a real server: the queries, the aggregation,
concurrent upserts and the indexes the access checks rely on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorDatabase

from domain.groups import Group, GroupChanges, Guardianship
from persistence.database import Database
from persistence.indexes import GROUPS, GUARDIANSHIPS, INDEXES, MEMBERSHIPS, ensure_indexes
from persistence.repositories import Repositories
from tests.factories import NOW

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

LATER = NOW + timedelta(hours=1)


@pytest.fixture
async def database(real_db: AsyncIOMotorDatabase[dict[str, Any]]) -> Database:
    database = Database(
        client=real_db.client,
        db=real_db,
        supports_transactions=True,
        supports_change_streams=True,
    )
    await ensure_indexes(database)
    return database


@pytest.fixture
def repositories(database: Database) -> Repositories:
    return Repositories.over(database)


def utc(moment: datetime | None) -> datetime | None:
    """The time as UTC-aware (this client reads naive UTC datetimes)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def created(group: Group | None) -> Group | None:
    if group is None:
        return None
    return Group(group.id, group.name, group.educator_ids, utc(group.created_at))


async def make_group(repositories: Repositories, group_id: str, *educators: str) -> Group:
    saved = await repositories.groups.update(
        GroupChanges(group_id, group_id.title(), frozenset(educators)), now=NOW
    )
    assert saved is not None
    return saved


async def member_ids(repositories: Repositories, group_id: str, **paging: Any) -> list[str]:
    paging = {"after": None, "limit": 10_000} | paging
    return [m.learner_id for m in await repositories.groups.members_page(group_id, **paging)]


@pytest.mark.parametrize("collection", [GROUPS, MEMBERSHIPS, GUARDIANSHIPS])
async def test_the_access_indexes_exist(database: Database, collection: str) -> None:
    info = await database[collection].index_information()

    for model in INDEXES[collection]:
        wanted = model.document
        assert wanted["name"] in info
        assert list(info[wanted["name"]]["key"]) == list(wanted["key"].items())


async def test_update_creates_a_group_with_a_name(repositories: Repositories) -> None:
    saved = await repositories.groups.update(
        GroupChanges("algebra", "Algebra", frozenset({"ed", "eve"})), now=NOW
    )

    expected = Group("algebra", "Algebra", frozenset({"ed", "eve"}), NOW)
    assert created(saved) == expected
    assert created((await repositories.groups.find_by_ids(["algebra"]))["algebra"]) == expected


async def test_update_without_a_name_does_not_create_a_group(repositories: Repositories) -> None:
    saved = await repositories.groups.update(
        GroupChanges("algebra", educator_ids=frozenset({"ed"})), now=NOW
    )

    assert saved is None
    assert await repositories.groups.find_by_ids(["algebra"]) == {}


async def test_update_changes_only_the_fields_given(repositories: Repositories) -> None:
    await make_group(repositories, "algebra", "ed")

    renamed = await repositories.groups.update(GroupChanges("algebra", "Algebra II"), now=LATER)
    moved = await repositories.groups.update(
        GroupChanges("algebra", educator_ids=frozenset({"eve"})), now=LATER
    )

    assert created(renamed) == Group("algebra", "Algebra II", frozenset({"ed"}), NOW)
    assert created(moved) == Group("algebra", "Algebra II", frozenset({"eve"}), NOW)


async def test_delete_removes_the_group_and_its_memberships(repositories: Repositories) -> None:
    await make_group(repositories, "algebra", "ed")
    await make_group(repositories, "biology", "eve")
    await repositories.groups.add_members("algebra", ["ada", "bob"], by="ed", now=NOW)
    await repositories.groups.add_members("biology", ["ada"], by="eve", now=NOW)

    assert await repositories.groups.delete("algebra") is True
    assert await repositories.groups.delete("algebra") is False

    assert await repositories.groups.find_by_ids(["algebra"]) == {}
    assert await member_ids(repositories, "algebra") == []
    assert await member_ids(repositories, "biology") == ["ada"]
    assert await repositories.groups.groups_of(["ada", "bob"]) == {"ada": {"biology"}, "bob": set()}


async def test_add_members_is_idempotent(repositories: Repositories) -> None:
    await make_group(repositories, "algebra", "ed")

    assert await repositories.groups.add_members("algebra", ["ada", "bob"], by="ed", now=NOW) == 2
    assert await repositories.groups.add_members("algebra", ["bob", "cy"], by="ed", now=NOW) == 1
    assert await repositories.groups.add_members("algebra", [], by="ed", now=NOW) == 0

    assert await member_ids(repositories, "algebra") == ["ada", "bob", "cy"]


async def test_concurrent_adds_of_the_same_members_count_each_new_member_once(
    repositories: Repositories,
) -> None:
    await make_group(repositories, "algebra", "ed")
    ids = [f"learner-{n:03}" for n in range(100)]

    added = await asyncio.gather(
        repositories.groups.add_members("algebra", ids, by="ed", now=NOW),
        repositories.groups.add_members("algebra", ids, by="eve", now=NOW),
    )

    assert sum(added) == len(ids)
    assert await member_ids(repositories, "algebra") == ids


async def test_concurrent_adds_of_overlapping_members_count_each_new_member_once(
    repositories: Repositories,
) -> None:
    await make_group(repositories, "algebra", "ed")
    ids = [f"learner-{n:03}" for n in range(60)]

    added = await asyncio.gather(
        *(
            repositories.groups.add_members("algebra", ids[start : start + 30], by="ed", now=NOW)
            for start in (0, 10, 20, 30)
        )
    )

    assert sum(added) == len(ids)
    assert (await repositories.groups.member_counts(["algebra"]))["algebra"] == len(ids)


async def test_remove_members_counts_only_the_members_removed(repositories: Repositories) -> None:
    await make_group(repositories, "algebra", "ed")
    await repositories.groups.add_members("algebra", ["ada", "bob"], by="ed", now=NOW)

    assert await repositories.groups.remove_members("algebra", ["bob", "zed"]) == 1
    assert await repositories.groups.remove_members("algebra", ["bob"]) == 0

    assert await member_ids(repositories, "algebra") == ["ada"]


async def test_members_page_is_in_learner_order_and_pages_after_a_learner(
    repositories: Repositories,
) -> None:
    await make_group(repositories, "algebra", "ed")
    await make_group(repositories, "biology", "eve")
    await repositories.groups.add_members("algebra", ["eve-l", "ada", "cy"], by="ed", now=NOW)
    await repositories.groups.add_members("algebra", ["bob", "dan"], by="admin", now=LATER)
    await repositories.groups.add_members("biology", ["aaron", "zoe"], by="eve", now=NOW)

    first = await repositories.groups.members_page("algebra", after=None, limit=2)
    second = await member_ids(repositories, "algebra", after="bob", limit=2)
    last = await member_ids(repositories, "algebra", after="dan", limit=2)

    assert [m.learner_id for m in first] == ["ada", "bob"]
    assert [(m.group_id, m.added_by, utc(m.added_at)) for m in first] == [
        ("algebra", "ed", NOW),
        ("algebra", "admin", LATER),
    ]
    assert second == ["cy", "dan"]
    assert last == ["eve-l"]
    assert await member_ids(repositories, "algebra", after="eve-l", limit=2) == []


async def test_member_counts_counts_each_group_and_zero_for_the_others(
    repositories: Repositories,
) -> None:
    await make_group(repositories, "algebra", "ed")
    await make_group(repositories, "biology", "eve")
    await make_group(repositories, "chemistry", "ed")
    await repositories.groups.add_members("algebra", ["ada", "bob", "cy"], by="ed", now=NOW)
    await repositories.groups.add_members("biology", ["ada"], by="eve", now=NOW)

    counts = await repositories.groups.member_counts(["algebra", "biology", "chemistry", "drama"])

    assert counts == {"algebra": 3, "biology": 1, "chemistry": 0, "drama": 0}


async def test_groups_of_and_taught_by_follow_memberships_and_educators(
    repositories: Repositories,
) -> None:
    await make_group(repositories, "algebra", "ed")
    await make_group(repositories, "biology", "eve")
    await make_group(repositories, "chemistry", "ed", "eve")
    await repositories.groups.add_members("algebra", ["ada", "bob"], by="ed", now=NOW)
    await repositories.groups.add_members("biology", ["ada"], by="eve", now=NOW)

    assert await repositories.groups.groups_of(["ada", "bob", "cy"]) == {
        "ada": {"algebra", "biology"},
        "bob": {"algebra"},
        "cy": set(),
    }
    assert await repositories.groups.taught_by(["ed", "eve", "sam"]) == {
        "ed": {"algebra", "chemistry"},
        "eve": {"biology", "chemistry"},
        "sam": set(),
    }


async def test_taught_by_follows_a_change_of_educators(repositories: Repositories) -> None:
    await make_group(repositories, "algebra", "ed")

    await repositories.groups.update(GroupChanges("algebra", educator_ids=frozenset()), now=NOW)

    assert await repositories.groups.taught_by(["ed"]) == {"ed": set()}


async def test_page_lists_groups_by_id_all_or_among_ids(repositories: Repositories) -> None:
    for group_id in ("delta", "alpha", "charlie", "bravo"):
        await make_group(repositories, group_id, "ed")

    every = await repositories.groups.page(after=None, limit=10)
    after = await repositories.groups.page(after="bravo", limit=1)
    among = await repositories.groups.page(ids={"delta", "bravo", "zulu"}, after="alpha", limit=10)

    assert [g.id for g in every] == ["alpha", "bravo", "charlie", "delta"]
    assert [g.id for g in after] == ["charlie"]
    assert [g.id for g in among] == ["bravo", "delta"]


async def test_guardianships_are_idempotent_and_read_both_ways(
    repositories: Repositories,
) -> None:
    guardianships = repositories.guardianships

    assert await guardianships.link(Guardianship("pat", "ada", "admin", NOW)) is True
    assert await guardianships.link(Guardianship("pat", "ada", "admin", LATER)) is False
    assert await guardianships.link(Guardianship("pat", "cy", "admin", NOW)) is True
    assert await guardianships.link(Guardianship("pam", "ada", "admin", NOW)) is True

    assert await guardianships.guardians_of(["ada", "cy", "bob"]) == {
        "ada": {"pat", "pam"},
        "cy": {"pat"},
        "bob": set(),
    }
    assert await guardianships.children_of(["pat", "pam", "sam"]) == {
        "pat": {"ada", "cy"},
        "pam": {"ada"},
        "sam": set(),
    }


async def test_unlinking_a_guardian_removes_only_that_link(repositories: Repositories) -> None:
    guardianships = repositories.guardianships
    await guardianships.link(Guardianship("pat", "ada", "admin", NOW))
    await guardianships.link(Guardianship("pat", "cy", "admin", NOW))

    assert await guardianships.unlink("pat", "ada") is True
    assert await guardianships.unlink("pat", "ada") is False

    assert await guardianships.children_of(["pat"]) == {"pat": {"cy"}}
    assert await guardianships.guardians_of(["ada"]) == {"ada": set()}


async def test_concurrent_links_of_the_same_guardian_report_one_new_link(
    repositories: Repositories,
) -> None:
    links = await asyncio.gather(
        *(
            repositories.guardianships.link(Guardianship("pat", "ada", "admin", NOW))
            for _ in range(5)
        )
    )

    assert links.count(True) == 1
