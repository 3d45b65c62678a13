"""Groups, memberships and guardianships on the fast database, and the access checks they feed.

The world every test starts from:

- algebra, taught by ed: members ada and bob
- biology, taught by eve: members ada and cy
- chemistry, taught by ed and eve: no members
- pat is ada's parent
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.access import ANONYMOUS, Forbidden, Role, Unauthenticated, Viewer
from domain.errors import InvalidInput, NotFound
from domain.groups import MAX_EDUCATORS, MAX_MEMBERS_PER_CHANGE, Group, GroupChanges, Guardianship
from domain.learners import Learner, LearnerChanges
from persistence.loaders import Loaders
from persistence.repositories import Repositories
from resolvers.access import Access
from resolvers.groups import (
    add_members,
    children,
    delete_group,
    group,
    groups_of,
    groups_page,
    guardians_of,
    link_guardian,
    member_count,
    members_page,
    remove_members,
    unlink_guardian,
    upsert_group,
)
from tests.factories import ADMIN, NOW, admin, viewer

ADA = viewer("ada", Role.LEARNER)
BOB = viewer("bob", Role.LEARNER)
CY = viewer("cy", Role.LEARNER)
LONER = viewer("lou", Role.LEARNER)  # in no group
PAT = viewer("pat", Role.PARENT)
ED = viewer("ed", Role.EDUCATOR)
EVE = viewer("eve", Role.EDUCATOR)
STRANGER = viewer("sam", Role.EDUCATOR)  # teaches nothing
SERVICE = viewer("svc", Role.SERVICE)

CREATED = NOW - timedelta(days=1)
ALGEBRA = Group("algebra", "Algebra", frozenset({"ed"}), CREATED)
BIOLOGY = Group("biology", "Biology", frozenset({"eve"}), CREATED)
CHEMISTRY = Group("chemistry", "Chemistry", frozenset({"ed", "eve"}), CREATED)

NOT_ADMINS = [ED, ADA, PAT, SERVICE]


def access(repositories: Repositories, who: Viewer) -> Access:
    """The viewer's access with fresh loaders, as each request gets: nothing cached."""
    return Access(who, Loaders(repositories))


async def forbidden(call: Awaitable[object]) -> Forbidden:
    with pytest.raises(Forbidden) as raised:
        await call
    return raised.value


async def invalid(call: Awaitable[object]) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        await call
    return raised.value


async def not_found(call: Awaitable[object]) -> NotFound:
    with pytest.raises(NotFound) as raised:
        await call
    return raised.value


async def may_read(repositories: Repositories, who: Viewer, learner_id: str) -> bool:
    try:
        await access(repositories, who).require_read(learner_id)
    except Forbidden:
        return False
    return True


async def stored_group(repositories: Repositories, group_id: str) -> Group | None:
    return (await repositories.groups.find_by_ids([group_id])).get(group_id)


async def members(repositories: Repositories, group_id: str) -> list[str]:
    rows = await repositories.groups.members_page(group_id, after=None, limit=10_000)
    return [row.learner_id for row in rows]


@pytest.fixture(autouse=True)
async def world(repositories: Repositories) -> None:
    groups = repositories.groups
    for saved in (ALGEBRA, BIOLOGY, CHEMISTRY):
        await groups.update(GroupChanges(saved.id, saved.name, saved.educator_ids), now=CREATED)
    await repositories.learners.update(LearnerChanges(id="ada", display_name="Ada"))
    await repositories.learners.create_missing([Learner("bob"), Learner("cy")])
    await groups.add_members("algebra", ["ada", "bob"], by="test-admin", now=NOW)
    await groups.add_members("biology", ["ada", "cy"], by="test-admin", now=NOW)
    await repositories.guardianships.link(Guardianship("pat", "ada", "test-admin", NOW))


# upsert_group


async def test_upsert_group_creates_a_group_with_its_name_and_educators(
    repositories: Repositories,
) -> None:
    created = await upsert_group(
        admin(repositories),
        repositories,
        GroupChanges("drama", "Drama", frozenset({"ed", "eve"})),
        now=NOW,
    )

    assert created == Group("drama", "Drama", frozenset({"ed", "eve"}), NOW)
    assert await stored_group(repositories, "drama") == created


async def test_a_new_group_given_only_a_name_has_no_educators(repositories: Repositories) -> None:
    created = await upsert_group(
        admin(repositories), repositories, GroupChanges("drama", "Drama"), now=NOW
    )

    assert created.educator_ids == frozenset()


async def test_a_new_group_without_a_name_is_not_found_on_input_id(
    repositories: Repositories,
) -> None:
    error = await not_found(
        upsert_group(
            admin(repositories),
            repositories,
            GroupChanges("drama", educator_ids=frozenset({"ed"})),
            now=NOW,
        )
    )

    assert error.field == "input.id"
    assert error.ident == "drama"
    assert await stored_group(repositories, "drama") is None


async def test_a_new_name_keeps_the_educators_and_creation_time(
    repositories: Repositories,
) -> None:
    renamed = await upsert_group(
        admin(repositories), repositories, GroupChanges("algebra", "Algebra II"), now=NOW
    )

    assert renamed.name == "Algebra II"
    assert renamed.educator_ids == frozenset({"ed"})
    assert renamed.created_at == CREATED
    assert await stored_group(repositories, "algebra") == renamed


async def test_new_educators_replace_the_old_ones_and_keep_the_name(
    repositories: Repositories,
) -> None:
    changed = await upsert_group(
        admin(repositories),
        repositories,
        GroupChanges("algebra", educator_ids=frozenset({"eve", "sam"})),
        now=NOW,
    )

    assert changed.name == "Algebra"
    assert changed.educator_ids == frozenset({"eve", "sam"})
    assert await stored_group(repositories, "algebra") == changed


async def test_an_id_alone_leaves_an_existing_group_as_it_is(repositories: Repositories) -> None:
    before = await stored_group(repositories, "algebra")

    unchanged = await upsert_group(
        admin(repositories), repositories, GroupChanges("algebra"), now=NOW
    )

    assert unchanged == before


async def test_replacing_the_educators_moves_read_access(repositories: Repositories) -> None:
    await upsert_group(
        admin(repositories),
        repositories,
        GroupChanges("algebra", educator_ids=frozenset({"sam"})),
        now=NOW,
    )

    assert not await may_read(repositories, ED, "bob")
    assert await may_read(repositories, STRANGER, "bob")


async def test_the_name_is_stored_trimmed(repositories: Repositories) -> None:
    created = await upsert_group(
        admin(repositories), repositories, GroupChanges("drama", "  Drama  "), now=NOW
    )

    assert created.name == "Drama"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (GroupChanges("bad id!", "Drama"), "input.id"),
        (GroupChanges("", "Drama"), "input.id"),
        (GroupChanges("drama", "   "), "input.name"),
        (GroupChanges("drama", "Dr\ud800ama"), "input.name"),
        (GroupChanges("drama", "x" * 10_000), "input.name"),
        (
            GroupChanges("drama", "Drama", frozenset(f"ed-{n}" for n in range(MAX_EDUCATORS + 1))),
            "input.educatorIds",
        ),
        (GroupChanges("drama", "Drama", frozenset({"ed", "not ok"})), "input.educatorIds"),
    ],
    ids=[
        "bad id",
        "empty id",
        "blank name",
        "lone surrogate",
        "long name",
        "51 educators",
        "bad educator",
    ],
)
async def test_an_invalid_group_is_refused_naming_the_field(
    repositories: Repositories, changes: GroupChanges, field: str
) -> None:
    error = await invalid(upsert_group(admin(repositories), repositories, changes, now=NOW))

    assert error.field == field
    assert await stored_group(repositories, "drama") is None


async def test_fifty_educators_are_enough(repositories: Repositories) -> None:
    educators = frozenset(f"ed-{n}" for n in range(MAX_EDUCATORS))

    created = await upsert_group(
        admin(repositories), repositories, GroupChanges("drama", "Drama", educators), now=NOW
    )

    assert created.educator_ids == educators


@pytest.mark.parametrize("who", NOT_ADMINS, ids=str)
async def test_only_admins_upsert_groups(repositories: Repositories, who: Viewer) -> None:
    await forbidden(
        upsert_group(
            access(repositories, who), repositories, GroupChanges("algebra", "Mine"), now=NOW
        )
    )

    assert await stored_group(repositories, "algebra") == ALGEBRA


async def test_a_non_admin_is_refused_before_the_input_is_checked(
    repositories: Repositories,
) -> None:
    await forbidden(
        upsert_group(access(repositories, ED), repositories, GroupChanges("bad id!"), now=NOW)
    )


async def test_an_anonymous_viewer_may_not_upsert_a_group(repositories: Repositories) -> None:
    with pytest.raises(Unauthenticated):
        await upsert_group(
            access(repositories, ANONYMOUS), repositories, GroupChanges("drama", "D"), now=NOW
        )


# delete_group


async def test_deleting_a_group_removes_it_and_its_memberships(
    repositories: Repositories,
) -> None:
    assert await delete_group(admin(repositories), repositories, "algebra") is True

    assert await stored_group(repositories, "algebra") is None
    assert await members(repositories, "algebra") == []
    assert await Loaders(repositories).memberships.load("ada") == frozenset({"biology"})
    assert await Loaders(repositories).memberships.load("bob") == frozenset()
    assert await Loaders(repositories).member_count.load("algebra") == 0


async def test_the_educator_of_a_deleted_group_can_no_longer_read_its_members(
    repositories: Repositories,
) -> None:
    assert await may_read(repositories, ED, "bob")

    await delete_group(admin(repositories), repositories, "algebra")

    assert not await may_read(repositories, ED, "bob")
    assert not await may_read(repositories, ED, "ada")


async def test_deleting_a_group_leaves_the_other_groups_members(
    repositories: Repositories,
) -> None:
    await delete_group(admin(repositories), repositories, "algebra")

    assert await members(repositories, "biology") == ["ada", "cy"]


async def test_deleting_an_unknown_group_returns_false(repositories: Repositories) -> None:
    assert await delete_group(admin(repositories), repositories, "drama") is False


async def test_deleting_a_group_twice_returns_false_the_second_time(
    repositories: Repositories,
) -> None:
    await delete_group(admin(repositories), repositories, "algebra")

    assert await delete_group(admin(repositories), repositories, "algebra") is False


async def test_deleting_a_group_by_an_invalid_id_is_refused_naming_id(
    repositories: Repositories,
) -> None:
    error = await invalid(delete_group(admin(repositories), repositories, "bad id!"))

    assert error.field == "id"


@pytest.mark.parametrize("who", NOT_ADMINS, ids=str)
async def test_only_admins_delete_groups(repositories: Repositories, who: Viewer) -> None:
    await forbidden(delete_group(access(repositories, who), repositories, "algebra"))

    assert await stored_group(repositories, "algebra") == ALGEBRA
    assert await members(repositories, "algebra") == ["ada", "bob"]


async def test_an_anonymous_viewer_may_not_delete_a_group(repositories: Repositories) -> None:
    with pytest.raises(Unauthenticated):
        await delete_group(access(repositories, ANONYMOUS), repositories, "algebra")


# add_members and remove_members


async def test_adding_members_is_idempotent(repositories: Repositories) -> None:
    first = await add_members(
        admin(repositories), repositories, "chemistry", ["ada", "bob"], now=NOW
    )
    again = await add_members(
        admin(repositories), repositories, "chemistry", ["ada", "bob"], now=NOW
    )

    assert first.changed == 2
    assert again.changed == 0
    assert again.group == CHEMISTRY
    assert await members(repositories, "chemistry") == ["ada", "bob"]


async def test_adding_counts_only_the_learners_not_yet_members(
    repositories: Repositories,
) -> None:
    change = await add_members(admin(repositories), repositories, "algebra", ["bob", "cy"], now=NOW)

    assert change.changed == 1
    assert await members(repositories, "algebra") == ["ada", "bob", "cy"]


async def test_duplicate_ids_in_a_request_are_added_once(repositories: Repositories) -> None:
    change = await add_members(
        admin(repositories), repositories, "chemistry", ["cy", "ada", "cy", "ada"], now=NOW
    )

    assert change.learner_ids == ["cy", "ada"]
    assert change.changed == 2
    assert await members(repositories, "chemistry") == ["ada", "cy"]


async def test_adding_no_one_changes_nothing(repositories: Repositories) -> None:
    change = await add_members(admin(repositories), repositories, "chemistry", [], now=NOW)

    assert change.changed == 0
    assert await members(repositories, "chemistry") == []


async def test_a_thousand_members_may_be_added_at_once(repositories: Repositories) -> None:
    ids = [f"l-{n:04}" for n in range(MAX_MEMBERS_PER_CHANGE)]

    change = await add_members(admin(repositories), repositories, "chemistry", ids, now=NOW)

    assert change.changed == MAX_MEMBERS_PER_CHANGE


Change = Callable[[Access, Repositories, str, list[str]], Awaitable[Any]]


async def _add(access: Access, repositories: Repositories, group_id: str, ids: list[str]) -> Any:
    return await add_members(access, repositories, group_id, ids, now=NOW)


CHANGES: list[Any] = [pytest.param(_add, id="add"), pytest.param(remove_members, id="remove")]


@pytest.mark.parametrize("change", CHANGES)
async def test_more_than_a_thousand_ids_are_refused_naming_learner_ids(
    repositories: Repositories, change: Change
) -> None:
    ids = [f"l-{n:04}" for n in range(MAX_MEMBERS_PER_CHANGE + 1)]

    error = await invalid(change(admin(repositories), repositories, "algebra", ids))

    assert error.field == "learnerIds"
    assert await members(repositories, "algebra") == ["ada", "bob"]


@pytest.mark.parametrize("change", CHANGES)
async def test_an_invalid_learner_id_is_refused_naming_learner_ids(
    repositories: Repositories, change: Change
) -> None:
    error = await invalid(change(admin(repositories), repositories, "algebra", ["cy", "no way"]))

    assert error.field == "learnerIds"
    assert await members(repositories, "algebra") == ["ada", "bob"]


async def test_unknown_learners_are_created_when_added(repositories: Repositories) -> None:
    await add_members(admin(repositories), repositories, "algebra", ["new-1", "ada"], now=NOW)

    found = await repositories.learners.find_by_ids(["new-1", "ada"])
    assert found["new-1"] == Learner("new-1")
    assert found["ada"] == Learner("ada", display_name="Ada")  # known learners are untouched


async def test_a_groups_educator_may_add_members(repositories: Repositories) -> None:
    change = await add_members(access(repositories, ED), repositories, "algebra", ["cy"], now=NOW)

    assert change.changed == 1
    assert await may_read(repositories, ED, "cy")
    [row] = [
        r
        for r in await repositories.groups.members_page("algebra", after=None, limit=10)
        if r.learner_id == "cy"
    ]
    assert row.added_by == "ed"
    assert row.added_at == NOW


async def test_any_of_a_groups_educators_may_add_members(repositories: Repositories) -> None:
    change = await add_members(
        access(repositories, EVE), repositories, "chemistry", ["bob"], now=NOW
    )

    assert change.changed == 1


async def test_a_groups_educator_may_remove_members(repositories: Repositories) -> None:
    change = await remove_members(access(repositories, ED), repositories, "algebra", ["bob"])

    assert change.changed == 1
    assert await members(repositories, "algebra") == ["ada"]
    assert not await may_read(repositories, ED, "bob")


async def test_removing_members_is_idempotent(repositories: Repositories) -> None:
    first = await remove_members(admin(repositories), repositories, "algebra", ["bob", "bob"])
    again = await remove_members(admin(repositories), repositories, "algebra", ["bob"])

    assert first.learner_ids == ["bob"]
    assert first.changed == 1
    assert again.changed == 0
    assert await members(repositories, "algebra") == ["ada"]


async def test_removing_a_learner_who_is_not_a_member_changes_nothing(
    repositories: Repositories,
) -> None:
    change = await remove_members(admin(repositories), repositories, "algebra", ["cy", "zed"])

    assert change.changed == 0
    assert await members(repositories, "biology") == ["ada", "cy"]


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", [EVE, STRANGER, ADA, BOB, PAT, SERVICE], ids=str)
async def test_only_admins_and_the_groups_educators_change_its_members(
    repositories: Repositories, change: Change, who: Viewer
) -> None:
    await forbidden(change(access(repositories, who), repositories, "algebra", ["bob", "zed"]))

    assert await members(repositories, "algebra") == ["ada", "bob"]
    assert await repositories.learners.find_by_ids(["zed"]) == {}


@pytest.mark.parametrize("change", CHANGES)
async def test_changing_the_members_of_an_unknown_group_is_not_found_for_an_admin(
    repositories: Repositories, change: Change
) -> None:
    error = await not_found(change(admin(repositories), repositories, "drama", ["ada"]))

    assert error.field == "groupId"
    assert error.ident == "drama"
    assert await members(repositories, "drama") == []


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", [ED, STRANGER, SERVICE], ids=str)
async def test_changing_the_members_of_an_unknown_group_is_forbidden_for_others(
    repositories: Repositories, change: Change, who: Viewer
) -> None:
    unknown = await forbidden(change(access(repositories, who), repositories, "drama", ["ada"]))
    refused = await forbidden(change(access(repositories, who), repositories, "biology", ["ada"]))

    assert str(unknown) == str(refused)  # the refusal does not tell whether the group exists


@pytest.mark.parametrize("change", CHANGES)
async def test_an_anonymous_viewer_may_not_change_members(
    repositories: Repositories, change: Change
) -> None:
    with pytest.raises(Unauthenticated):
        await change(access(repositories, ANONYMOUS), repositories, "algebra", ["cy"])


async def test_adding_to_an_unknown_group_creates_no_learner(
    repositories: Repositories,
) -> None:
    await not_found(add_members(admin(repositories), repositories, "drama", ["zed"], now=NOW))

    assert await repositories.learners.find_by_ids(["zed"]) == {}


# link_guardian and unlink_guardian


async def test_linking_a_guardian_is_idempotent(repositories: Repositories) -> None:
    assert await link_guardian(admin(repositories), repositories, "pam", "cy", now=NOW) is True
    assert await link_guardian(admin(repositories), repositories, "pam", "cy", now=NOW) is False


async def test_unlinking_a_guardian_is_idempotent(repositories: Repositories) -> None:
    assert await unlink_guardian(admin(repositories), repositories, "pat", "ada") is True
    assert await unlink_guardian(admin(repositories), repositories, "pat", "ada") is False


async def test_unlinking_a_guardianship_that_never_was_returns_false(
    repositories: Repositories,
) -> None:
    assert await unlink_guardian(admin(repositories), repositories, "pat", "cy") is False


async def test_a_linked_parent_reads_that_child_and_no_other(repositories: Repositories) -> None:
    pam = viewer("pam", Role.PARENT)
    await link_guardian(admin(repositories), repositories, "pam", "cy", now=NOW)

    await access(repositories, pam).require_read("cy")
    await forbidden(access(repositories, pam).require_read("ada"))


async def test_an_unlinked_parent_no_longer_reads_the_child(repositories: Repositories) -> None:
    await access(repositories, PAT).require_read("ada")

    await unlink_guardian(admin(repositories), repositories, "pat", "ada")

    await forbidden(access(repositories, PAT).require_read("ada"))


async def test_linking_a_guardian_creates_an_unknown_learner(repositories: Repositories) -> None:
    await link_guardian(admin(repositories), repositories, "pam", "new-kid", now=NOW)

    assert (await repositories.learners.find_by_ids(["new-kid"]))["new-kid"] == Learner("new-kid")


@pytest.mark.parametrize(
    ("parent_id", "learner_id", "field"),
    [("bad id!", "ada", "parentId"), ("pat", "bad id!", "learnerId"), ("", "ada", "parentId")],
)
async def test_a_guardianship_with_an_invalid_id_is_refused_naming_the_field(
    repositories: Repositories, parent_id: str, learner_id: str, field: str
) -> None:
    linking = await invalid(
        link_guardian(admin(repositories), repositories, parent_id, learner_id, now=NOW)
    )
    unlinking = await invalid(
        unlink_guardian(admin(repositories), repositories, parent_id, learner_id)
    )

    assert linking.field == field
    assert unlinking.field == field


@pytest.mark.parametrize("who", [*NOT_ADMINS, viewer("pam", Role.PARENT)], ids=str)
async def test_only_admins_link_and_unlink_guardians(
    repositories: Repositories, who: Viewer
) -> None:
    await forbidden(link_guardian(access(repositories, who), repositories, "pam", "cy", now=NOW))
    await forbidden(unlink_guardian(access(repositories, who), repositories, "pat", "ada"))

    assert await Loaders(repositories).guardians.load("cy") == frozenset()
    assert await Loaders(repositories).guardians.load("ada") == frozenset({"pat"})


async def test_an_anonymous_viewer_may_not_link_or_unlink_guardians(
    repositories: Repositories,
) -> None:
    with pytest.raises(Unauthenticated):
        await link_guardian(access(repositories, ANONYMOUS), repositories, "pam", "cy", now=NOW)
    with pytest.raises(Unauthenticated):
        await unlink_guardian(access(repositories, ANONYMOUS), repositories, "pat", "ada")


# Access: reading, recording, awarding


@pytest.mark.parametrize(
    ("who", "learner_id", "allowed"),
    [
        (ADMIN, "ada", True),
        (ADMIN, "unknown", True),
        (SERVICE, "cy", True),
        (SERVICE, "unknown", True),
        (ADA, "ada", True),
        (ADA, "bob", False),  # in the same group, yet not readable
        (viewer("ada"), "ada", False),  # ada's sub without the learner role
        (viewer("ada", Role.PARENT), "ada", False),
        (PAT, "ada", True),
        (PAT, "bob", False),
        (ED, "ada", True),
        (ED, "bob", True),
        (ED, "cy", False),
        (ED, "unknown", False),
        (EVE, "cy", True),
        (EVE, "bob", False),
        (STRANGER, "ada", False),
        (LONER, "ada", False),
        (viewer("pat", Role.PARENT, Role.EDUCATOR), "ada", True),  # as a parent
        (viewer("ed", Role.PARENT, Role.EDUCATOR), "bob", True),  # as an educator
        (viewer("ed", Role.PARENT, Role.EDUCATOR), "cy", False),
        (viewer("ada", Role.LEARNER, Role.EDUCATOR), "ada", True),
        (viewer("ada", Role.LEARNER, Role.EDUCATOR), "bob", False),
    ],
    ids=str,
)
async def test_require_read(
    repositories: Repositories, who: Viewer, learner_id: str, allowed: bool
) -> None:
    assert await may_read(repositories, who, learner_id) is allowed


async def test_an_anonymous_viewer_reads_no_learner(repositories: Repositories) -> None:
    with pytest.raises(Unauthenticated):
        await access(repositories, ANONYMOUS).require_read("ada")


async def test_a_refusal_to_read_does_not_tell_whether_the_learner_exists(
    repositories: Repositories,
) -> None:
    unknown = await forbidden(access(repositories, ED).require_read("unknown"))
    known = await forbidden(access(repositories, ED).require_read("cy"))

    assert str(unknown) == str(known)


async def test_require_read_all_refuses_when_one_learner_is_not_allowed(
    repositories: Repositories,
) -> None:
    await access(repositories, ED).require_read_all(["ada", "bob"])
    await forbidden(access(repositories, ED).require_read_all(["ada", "cy", "bob"]))


@pytest.mark.parametrize(
    ("who", "ids"),
    [
        (ADMIN, ["ada", "bob", "cy"]),
        (SERVICE, ["ada", "bob", "cy"]),
        (EVE, ["ada", "cy", "ada"]),
        (PAT, ["ada"]),
        (ADA, ["ada", "ada"]),
        (LONER, []),
    ],
    ids=str,
)
async def test_require_read_all_passes_when_every_learner_is_allowed(
    repositories: Repositories, who: Viewer, ids: list[str]
) -> None:
    await access(repositories, who).require_read_all(ids)


@pytest.mark.parametrize(
    ("who", "ids"),
    [(PAT, ["ada", "bob"]), (ADA, ["ada", "bob"]), (STRANGER, ["ada"])],
    ids=str,
)
async def test_require_read_all_refuses_the_others(
    repositories: Repositories, who: Viewer, ids: list[str]
) -> None:
    await forbidden(access(repositories, who).require_read_all(ids))


async def test_an_anonymous_viewer_may_not_read_all(repositories: Repositories) -> None:
    with pytest.raises(Unauthenticated):
        await access(repositories, ANONYMOUS).require_read_all([])


@pytest.mark.parametrize(
    ("who", "learner_id", "allowed"),
    [
        (ADA, "ada", True),
        (ADA, "bob", False),
        (SERVICE, "ada", True),
        (ADMIN, "ada", True),
        (PAT, "ada", False),
        (ED, "ada", False),
        (viewer("ada"), "ada", False),
    ],
    ids=str,
)
async def test_require_record(
    repositories: Repositories, who: Viewer, learner_id: str, allowed: bool
) -> None:
    checking = access(repositories, who).require_record(learner_id)
    if allowed:
        await checking
    else:
        await forbidden(checking)


@pytest.mark.parametrize(
    ("who", "learner_id", "allowed"),
    [
        (ADMIN, "cy", True),
        (ED, "bob", True),
        (EVE, "ada", True),
        (ED, "cy", False),
        (STRANGER, "ada", False),
        (SERVICE, "ada", False),
        (ADA, "ada", False),
        (PAT, "ada", False),
    ],
    ids=str,
)
async def test_require_award(
    repositories: Repositories, who: Viewer, learner_id: str, allowed: bool
) -> None:
    checking = access(repositories, who).require_award(learner_id)
    if allowed:
        await checking
    else:
        await forbidden(checking)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda a: a.require_record("ada"), id="record"),
        pytest.param(lambda a: a.require_award("ada"), id="award"),
        pytest.param(lambda a: a.readable_group("algebra"), id="group"),
        pytest.param(lambda a: a.require_read_members(ALGEBRA), id="members"),
    ],
)
async def test_an_anonymous_viewer_is_unauthenticated(
    repositories: Repositories, call: Callable[[Access], Awaitable[object]]
) -> None:
    with pytest.raises(Unauthenticated):
        await call(access(repositories, ANONYMOUS))


# Access: groups


@pytest.mark.parametrize(
    ("who", "group_id", "expected"),
    [
        (ADMIN, "biology", BIOLOGY),
        (SERVICE, "chemistry", CHEMISTRY),
        (ED, "algebra", ALGEBRA),
        (EVE, "chemistry", CHEMISTRY),
        (ADA, "algebra", ALGEBRA),
        (CY, "biology", BIOLOGY),
    ],
    ids=str,
)
async def test_readable_group_returns_a_group_the_viewer_may_see(
    repositories: Repositories, who: Viewer, group_id: str, expected: Group
) -> None:
    assert await access(repositories, who).readable_group(group_id) == expected
    assert await group(access(repositories, who), group_id) == expected


@pytest.mark.parametrize("who", [ADMIN, SERVICE], ids=str)
async def test_readable_group_is_none_for_an_unknown_group_to_those_who_read_everything(
    repositories: Repositories, who: Viewer
) -> None:
    assert await access(repositories, who).readable_group("drama") is None


@pytest.mark.parametrize(
    ("who", "group_id"),
    [
        (ED, "biology"),
        (STRANGER, "algebra"),
        (BOB, "biology"),  # not a member
        (LONER, "algebra"),
        (PAT, "algebra"),  # a parent, although the child is a member
        (viewer("bob"), "algebra"),  # a member's sub without the learner role
    ],
    ids=str,
)
async def test_readable_group_refuses_the_others(
    repositories: Repositories, who: Viewer, group_id: str
) -> None:
    await forbidden(access(repositories, who).readable_group(group_id))


@pytest.mark.parametrize("who", [ED, BOB, PAT], ids=str)
async def test_an_unknown_group_is_forbidden_to_those_who_do_not_read_everything(
    repositories: Repositories, who: Viewer
) -> None:
    unknown = await forbidden(access(repositories, who).readable_group("drama"))
    refused = await forbidden(access(repositories, who).readable_group("biology"))

    assert str(unknown) == str(refused)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (ADMIN, True),
        (SERVICE, True),
        (ED, True),
        (EVE, False),
        (ADA, False),  # a member does not see who else is in the group
        (PAT, False),
    ],
    ids=str,
)
async def test_require_read_members(repositories: Repositories, who: Viewer, allowed: bool) -> None:
    checking = access(repositories, who).require_read_members(ALGEBRA)
    if allowed:
        await checking
    else:
        await forbidden(checking)


# Listing groups and members


async def group_ids(repositories: Repositories, who: Viewer, **paging: Any) -> list[str]:
    a = access(repositories, who)
    page = await groups_page(a, repositories, Loaders(repositories), **paging)
    return [g.id for g in page.items]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ADMIN, ["algebra", "biology", "chemistry"]),
        (SERVICE, ["algebra", "biology", "chemistry"]),
        (ED, ["algebra", "chemistry"]),
        (EVE, ["biology", "chemistry"]),
        (STRANGER, []),
        (ADA, ["algebra", "biology"]),
        (BOB, ["algebra"]),
        (LONER, []),
        (PAT, []),
        (viewer("ed", Role.EDUCATOR, Role.LEARNER), ["algebra", "chemistry"]),
        (viewer("bob", Role.EDUCATOR, Role.LEARNER), ["algebra"]),
    ],
    ids=str,
)
async def test_groups_page_lists_the_groups_the_viewer_may_see(
    repositories: Repositories, who: Viewer, expected: list[str]
) -> None:
    assert await group_ids(repositories, who, first=10, after=None) == expected


async def test_groups_page_returns_the_groups_themselves(repositories: Repositories) -> None:
    page = await groups_page(
        admin(repositories), repositories, Loaders(repositories), first=10, after=None
    )

    assert page.items == [ALGEBRA, BIOLOGY, CHEMISTRY]
    assert page.has_next is False


async def test_groups_page_pages_an_admin_through_all_groups_by_id(
    repositories: Repositories,
) -> None:
    loaders = Loaders(repositories)
    first = await groups_page(admin(repositories), repositories, loaders, first=2, after=None)
    rest = await groups_page(admin(repositories), repositories, loaders, first=2, after="biology")

    assert [g.id for g in first.items] == ["algebra", "biology"]
    assert first.has_next is True
    assert [g.id for g in rest.items] == ["chemistry"]
    assert rest.has_next is False


async def test_groups_page_pages_an_educator_through_the_groups_they_teach(
    repositories: Repositories,
) -> None:
    first = await groups_page(
        access(repositories, ED), repositories, Loaders(repositories), first=1, after=None
    )
    rest = await groups_page(
        access(repositories, ED), repositories, Loaders(repositories), first=1, after="algebra"
    )

    assert [g.id for g in first.items] == ["algebra"]
    assert first.has_next is True
    assert [g.id for g in rest.items] == ["chemistry"]
    assert rest.has_next is False


async def test_groups_page_of_size_zero_tells_only_whether_there_are_groups(
    repositories: Repositories,
) -> None:
    page = await groups_page(
        access(repositories, ADA), repositories, Loaders(repositories), first=0, after=None
    )

    assert page.items == []
    assert page.has_next is True


async def test_groups_page_refuses_a_page_too_large(repositories: Repositories) -> None:
    error = await invalid(
        groups_page(admin(repositories), repositories, Loaders(repositories), first=101, after=None)
    )

    assert error.field == "first"


async def test_an_anonymous_viewer_lists_no_groups(repositories: Repositories) -> None:
    with pytest.raises(Unauthenticated):
        await groups_page(
            access(repositories, ANONYMOUS),
            repositories,
            Loaders(repositories),
            first=10,
            after=None,
        )


async def test_members_page_pages_an_educator_through_the_members_by_learner_id(
    repositories: Repositories,
) -> None:
    await repositories.groups.add_members("algebra", ["zed"], by="ed", now=NOW)  # no learner yet

    def page(after: str | None) -> Awaitable[Any]:
        return members_page(
            access(repositories, ED),
            repositories,
            Loaders(repositories),
            ALGEBRA,
            first=2,
            after=after,
        )

    first = await page(None)
    rest = await page("bob")

    assert first.items == [Learner("ada", display_name="Ada"), Learner("bob")]
    assert first.has_next is True
    assert rest.items == [Learner("zed")]
    assert rest.has_next is False


@pytest.mark.parametrize("who", [ADA, BOB, EVE, PAT], ids=str)
async def test_members_page_is_forbidden_to_members_and_others(
    repositories: Repositories, who: Viewer
) -> None:
    await forbidden(
        members_page(
            access(repositories, who),
            repositories,
            Loaders(repositories),
            ALGEBRA,
            first=10,
            after=None,
        )
    )


@pytest.mark.parametrize(
    ("who", "group_id", "count"),
    [(ED, "algebra", 2), (EVE, "biology", 2), (ADMIN, "chemistry", 0), (SERVICE, "algebra", 2)],
    ids=str,
)
async def test_member_count(
    repositories: Repositories, who: Viewer, group_id: str, count: int
) -> None:
    found = await stored_group(repositories, group_id)
    assert found is not None

    assert await member_count(access(repositories, who), Loaders(repositories), found) == count


@pytest.mark.parametrize("who", [ADA, EVE, PAT], ids=str)
async def test_member_count_is_forbidden_to_members_and_others(
    repositories: Repositories, who: Viewer
) -> None:
    await forbidden(member_count(access(repositories, who), Loaders(repositories), ALGEBRA))


# Relationships of one viewer or learner


async def test_children_lists_a_parents_children_by_id(repositories: Repositories) -> None:
    await link_guardian(admin(repositories), repositories, "pat", "cy", now=NOW)
    await link_guardian(admin(repositories), repositories, "pat", "abe", now=NOW)

    found = await children(access(repositories, PAT), Loaders(repositories))

    assert found == [Learner("abe"), Learner("ada", display_name="Ada"), Learner("cy")]


@pytest.mark.parametrize(
    "who", [ADMIN, SERVICE, ED, ADA, viewer("pat"), viewer("pat", Role.LEARNER)], ids=str
)
async def test_children_is_empty_for_those_who_are_not_parents(
    repositories: Repositories, who: Viewer
) -> None:
    assert await children(access(repositories, who), Loaders(repositories)) == []


async def test_children_is_empty_for_a_parent_of_no_one(repositories: Repositories) -> None:
    assert (
        await children(access(repositories, viewer("pam", Role.PARENT)), Loaders(repositories))
        == []
    )


async def test_children_needs_an_authenticated_viewer(repositories: Repositories) -> None:
    with pytest.raises(Unauthenticated):
        await children(access(repositories, ANONYMOUS), Loaders(repositories))


@pytest.mark.parametrize("who", [ADMIN, SERVICE, ADA, PAT, ED, EVE], ids=str)
async def test_guardians_of_lists_them_sorted_to_those_who_read_the_learner(
    repositories: Repositories, who: Viewer
) -> None:
    await link_guardian(admin(repositories), repositories, "abe", "ada", now=NOW)

    assert await guardians_of(access(repositories, who), Loaders(repositories), "ada") == [
        "abe",
        "pat",
    ]


async def test_guardians_of_a_learner_with_none_is_empty(repositories: Repositories) -> None:
    assert await guardians_of(admin(repositories), Loaders(repositories), "bob") == []


@pytest.mark.parametrize(("who", "learner_id"), [(BOB, "ada"), (PAT, "bob"), (ED, "cy")], ids=str)
async def test_guardians_of_is_forbidden_to_those_who_may_not_read_the_learner(
    repositories: Repositories, who: Viewer, learner_id: str
) -> None:
    await forbidden(guardians_of(access(repositories, who), Loaders(repositories), learner_id))


@pytest.mark.parametrize(
    ("who", "learner_id", "expected"),
    [
        (ADMIN, "ada", [ALGEBRA, BIOLOGY]),
        (SERVICE, "ada", [ALGEBRA, BIOLOGY]),
        (ADA, "ada", [ALGEBRA, BIOLOGY]),
        (ED, "ada", [ALGEBRA]),  # ada is in biology too, which ed does not teach
        (EVE, "ada", [BIOLOGY]),
        (ED, "bob", [ALGEBRA]),
        (PAT, "ada", []),  # parents see no groups
        (ADMIN, "lou", []),
    ],
    ids=str,
)
async def test_groups_of_lists_the_learners_groups_the_viewer_may_see(
    repositories: Repositories, who: Viewer, learner_id: str, expected: list[Group]
) -> None:
    assert await groups_of(access(repositories, who), Loaders(repositories), learner_id) == expected


@pytest.mark.parametrize(("who", "learner_id"), [(ED, "cy"), (BOB, "ada"), (PAT, "bob")], ids=str)
async def test_groups_of_is_forbidden_to_those_who_may_not_read_the_learner(
    repositories: Repositories, who: Viewer, learner_id: str
) -> None:
    await forbidden(groups_of(access(repositories, who), Loaders(repositories), learner_id))


async def test_groups_of_shows_an_educator_sharing_the_learners_id_only_the_groups_they_teach(
    repositories: Repositories,
) -> None:
    await upsert_group(
        admin(repositories),
        repositories,
        GroupChanges("mentoring", "Mentoring", frozenset({"ada"})),
        now=NOW,
    )
    await add_members(admin(repositories), repositories, "mentoring", ["ada"], now=NOW)
    ada_as_educator = viewer("ada", Role.EDUCATOR)
    await forbidden(access(repositories, ada_as_educator).readable_group("algebra"))

    found = await groups_of(access(repositories, ada_as_educator), Loaders(repositories), "ada")

    assert [g.id for g in found] == ["mentoring"]


# Reads of the relationships do not grow with the number of learners


@pytest.mark.parametrize("how_many", [2, 200])
async def test_an_educator_reading_many_learners_reads_the_relationships_once(
    repositories: Repositories, monkeypatch: pytest.MonkeyPatch, how_many: int
) -> None:
    ids = [f"l-{n:03}" for n in range(how_many)]
    await repositories.groups.add_members("chemistry", ids, by="ed", now=NOW)
    calls: dict[str, int] = {"groups_of": 0, "taught_by": 0, "guardians_of": 0}

    def spy(repository: object, name: str) -> None:
        real = getattr(repository, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(repository, name, counted)

    spy(repositories.groups, "groups_of")
    spy(repositories.groups, "taught_by")
    spy(repositories.guardianships, "guardians_of")

    await access(repositories, ED).require_read_all(ids)

    # One batched read each, whatever the number of learners (and none of guardianships).
    assert calls == {"groups_of": 1, "taught_by": 1, "guardians_of": 0}


async def test_a_parent_reading_many_children_reads_the_guardianships_once(
    repositories: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"kid-{n:03}" for n in range(200)]
    for kid in ids:
        await repositories.guardianships.link(Guardianship("pam", kid, "test-admin", NOW))
    calls = 0
    real = repositories.guardianships.guardians_of

    async def counted(learner_ids: list[str]) -> dict[str, set[str]]:
        nonlocal calls
        calls += 1
        return await real(learner_ids)

    monkeypatch.setattr(repositories.guardianships, "guardians_of", counted)

    await access(repositories, viewer("pam", Role.PARENT)).require_read_all(ids)

    assert calls == 1
