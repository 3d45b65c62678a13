"""The access rules, one table per rule: who may read, record, award and manage what."""

from __future__ import annotations

import pytest

from domain.access import (
    ANONYMOUS,
    Forbidden,
    Role,
    Ties,
    Unauthenticated,
    Viewer,
    is_self,
    may_award_to,
    may_manage_members,
    may_read_group,
    may_read_learner,
    may_read_members,
    may_record_for,
    needs_ties,
)
from tests.factories import ADMIN, viewer

# Every rule below is asked about the learner "ada".
ADA = viewer("ada", Role.LEARNER)
GRACE = viewer("grace", Role.LEARNER)
ADA_WITHOUT_ROLE = viewer("ada")  # a token for "ada" that grants no role
ADA_AS_PARENT = viewer("ada", Role.PARENT)  # "ada"'s sub, but not as a learner
ADA_AS_EDUCATOR = viewer("ada", Role.EDUCATOR)
PARENT = viewer("pat", Role.PARENT)
EDUCATOR = viewer("ed", Role.EDUCATOR)
SERVICE = viewer("svc", Role.SERVICE)
PARENT_AND_EDUCATOR = viewer("kim", Role.PARENT, Role.EDUCATOR)
LEARNER_AND_EDUCATOR = viewer("ada", Role.LEARNER, Role.EDUCATOR)
ROLES_WITHOUT_ID = Viewer(None, frozenset(Role))  # claims every role, proved no identity

NO_TIES = Ties()
GUARDIAN = Ties(guardian=True)
TEACHES = Ties(teaches=True)
BOTH = Ties(guardian=True, teaches=True)

TAUGHT_BY_ED = frozenset({"ed", "eve"})
TAUGHT_BY_OTHERS = frozenset({"eve"})


def case(value: object) -> str:
    """A short test id: viewers as they print, ties by name, sets sorted, yes/no."""
    if isinstance(value, Ties):
        named = [name for name in ("guardian", "teaches") if getattr(value, name)]
        return "+".join(named) or "no-ties"
    if isinstance(value, frozenset):
        return "educators:" + ",".join(sorted(value))
    if isinstance(value, Viewer) and value.id is None and value.roles:
        return "roles without id"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@pytest.mark.parametrize(
    ("who", "ties", "allowed"),
    [
        (ANONYMOUS, BOTH, False),
        (ROLES_WITHOUT_ID, BOTH, False),
        (ADA, NO_TIES, True),
        (GRACE, NO_TIES, False),
        (GRACE, BOTH, False),
        (ADA_WITHOUT_ROLE, NO_TIES, False),
        (ADA_WITHOUT_ROLE, BOTH, False),
        (ADA_AS_PARENT, NO_TIES, False),
        (ADA_AS_PARENT, GUARDIAN, True),
        (PARENT, GUARDIAN, True),
        (PARENT, NO_TIES, False),
        (PARENT, TEACHES, False),
        (EDUCATOR, TEACHES, True),
        (EDUCATOR, NO_TIES, False),
        (EDUCATOR, GUARDIAN, False),
        (ADMIN, NO_TIES, True),
        (SERVICE, NO_TIES, True),
        (PARENT_AND_EDUCATOR, GUARDIAN, True),
        (PARENT_AND_EDUCATOR, TEACHES, True),
        (PARENT_AND_EDUCATOR, NO_TIES, False),
        (LEARNER_AND_EDUCATOR, NO_TIES, True),
    ],
    ids=case,
)
def test_may_read_learner(who: Viewer, ties: Ties, allowed: bool) -> None:
    assert may_read_learner(who, "ada", ties) is allowed


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (ANONYMOUS, False),
        (ROLES_WITHOUT_ID, False),
        (ADA, True),
        (GRACE, False),
        (ADA_WITHOUT_ROLE, False),
        (ADA_AS_PARENT, False),
        (ADA_AS_EDUCATOR, False),
        (PARENT, False),
        (EDUCATOR, False),
        (ADMIN, True),
        (SERVICE, True),
        (PARENT_AND_EDUCATOR, False),
        (LEARNER_AND_EDUCATOR, True),
    ],
    ids=case,
)
def test_may_record_for(who: Viewer, allowed: bool) -> None:
    assert may_record_for(who, "ada") is allowed


@pytest.mark.parametrize(
    ("who", "ties", "allowed"),
    [
        (ANONYMOUS, BOTH, False),
        (ROLES_WITHOUT_ID, BOTH, False),
        (ADA, BOTH, False),  # no points to oneself
        (GRACE, BOTH, False),
        (ADA_WITHOUT_ROLE, BOTH, False),
        (PARENT, GUARDIAN, False),
        (PARENT, BOTH, False),
        (EDUCATOR, TEACHES, True),
        (EDUCATOR, NO_TIES, False),
        (EDUCATOR, GUARDIAN, False),
        (ADMIN, NO_TIES, True),
        (SERVICE, NO_TIES, False),  # a service records events, it does not award points
        (SERVICE, BOTH, False),
        (PARENT_AND_EDUCATOR, GUARDIAN, False),
        (PARENT_AND_EDUCATOR, TEACHES, True),
        (LEARNER_AND_EDUCATOR, NO_TIES, False),
        (LEARNER_AND_EDUCATOR, TEACHES, True),
    ],
    ids=case,
)
def test_may_award_to(who: Viewer, ties: Ties, allowed: bool) -> None:
    assert may_award_to(who, "ada", ties) is allowed


@pytest.mark.parametrize(
    ("who", "educator_ids", "allowed"),
    [
        (ANONYMOUS, TAUGHT_BY_ED, False),
        (ROLES_WITHOUT_ID, TAUGHT_BY_ED, False),
        (ADMIN, frozenset(), True),
        (ADMIN, TAUGHT_BY_OTHERS, True),
        (EDUCATOR, TAUGHT_BY_ED, True),
        (EDUCATOR, TAUGHT_BY_OTHERS, False),
        (EDUCATOR, frozenset(), False),
        (viewer("ed", Role.LEARNER), TAUGHT_BY_ED, False),  # listed, but not as an educator
        (viewer("ed", Role.PARENT), TAUGHT_BY_ED, False),
        (viewer("ed"), TAUGHT_BY_ED, False),
        (SERVICE, TAUGHT_BY_ED, False),
        (PARENT_AND_EDUCATOR, frozenset({"kim"}), True),
    ],
    ids=case,
)
def test_may_manage_members(who: Viewer, educator_ids: frozenset[str], allowed: bool) -> None:
    assert may_manage_members(who, educator_ids) is allowed


@pytest.mark.parametrize(
    ("who", "educator_ids", "member", "allowed"),
    [
        (ANONYMOUS, TAUGHT_BY_ED, True, False),
        (ROLES_WITHOUT_ID, TAUGHT_BY_ED, True, False),
        (ADMIN, TAUGHT_BY_OTHERS, False, True),
        (SERVICE, TAUGHT_BY_OTHERS, False, True),
        (EDUCATOR, TAUGHT_BY_ED, False, True),
        (EDUCATOR, TAUGHT_BY_OTHERS, False, False),
        (EDUCATOR, TAUGHT_BY_OTHERS, True, False),  # membership is a learner's tie
        (ADA, TAUGHT_BY_OTHERS, True, True),
        (ADA, TAUGHT_BY_OTHERS, False, False),
        (ADA_WITHOUT_ROLE, TAUGHT_BY_OTHERS, True, False),
        (PARENT, TAUGHT_BY_OTHERS, True, False),
        (PARENT, TAUGHT_BY_OTHERS, False, False),
        (LEARNER_AND_EDUCATOR, TAUGHT_BY_OTHERS, True, True),
        (LEARNER_AND_EDUCATOR, frozenset({"ada"}), False, True),
    ],
    ids=case,
)
def test_may_read_group(
    who: Viewer, educator_ids: frozenset[str], member: bool, allowed: bool
) -> None:
    assert may_read_group(who, educator_ids, member=member) is allowed


@pytest.mark.parametrize(
    ("who", "educator_ids", "allowed"),
    [
        (ANONYMOUS, TAUGHT_BY_ED, False),
        (ROLES_WITHOUT_ID, TAUGHT_BY_ED, False),
        (ADMIN, TAUGHT_BY_OTHERS, True),
        (SERVICE, TAUGHT_BY_OTHERS, True),
        (EDUCATOR, TAUGHT_BY_ED, True),
        (EDUCATOR, TAUGHT_BY_OTHERS, False),
        (ADA, TAUGHT_BY_OTHERS, False),  # members do not see who else is in their group
        (PARENT, TAUGHT_BY_OTHERS, False),
        (PARENT_AND_EDUCATOR, frozenset({"kim"}), True),
    ],
    ids=case,
)
def test_may_read_members(who: Viewer, educator_ids: frozenset[str], allowed: bool) -> None:
    assert may_read_members(who, educator_ids) is allowed


@pytest.mark.parametrize(
    ("who", "learner_id", "needed"),
    [
        (ANONYMOUS, "ada", False),
        (ROLES_WITHOUT_ID, "ada", False),
        (ADA, "ada", False),
        (GRACE, "ada", False),  # no tie lets a learner read another learner
        (ADA_WITHOUT_ROLE, "ada", False),
        (ADA_AS_PARENT, "ada", True),
        (PARENT, "ada", True),
        (EDUCATOR, "ada", True),
        (ADMIN, "ada", False),
        (SERVICE, "ada", False),
        (viewer("pat", Role.PARENT, Role.ADMIN), "ada", False),
        (PARENT_AND_EDUCATOR, "ada", True),
        (LEARNER_AND_EDUCATOR, "ada", False),
        (LEARNER_AND_EDUCATOR, "grace", True),
    ],
    ids=case,
)
def test_needs_ties(who: Viewer, learner_id: str, needed: bool) -> None:
    assert needs_ties(who, learner_id) is needed


@pytest.mark.parametrize(
    ("who", "same"),
    [
        (ANONYMOUS, False),
        (ROLES_WITHOUT_ID, False),
        (ADA, True),
        (GRACE, False),
        (ADA_WITHOUT_ROLE, False),
        (ADA_AS_PARENT, False),
        (ADA_AS_EDUCATOR, False),
        (LEARNER_AND_EDUCATOR, True),
        (ADMIN, False),
    ],
    ids=case,
)
def test_is_self(who: Viewer, same: bool) -> None:
    assert is_self(who, "ada") is same


@pytest.mark.parametrize(
    ("who", "authenticated"),
    [
        (ANONYMOUS, False),
        (ROLES_WITHOUT_ID, False),
        (ADA_WITHOUT_ROLE, True),
        (ADA, True),
        (ADMIN, True),
    ],
    ids=case,
)
def test_a_viewer_is_authenticated_when_it_has_an_id(who: Viewer, authenticated: bool) -> None:
    assert who.authenticated is authenticated


@pytest.mark.parametrize(
    ("who", "role", "has"),
    [
        (ADA, Role.LEARNER, True),
        (ADA, Role.ADMIN, False),
        (ADA_WITHOUT_ROLE, Role.LEARNER, False),
        (PARENT_AND_EDUCATOR, Role.PARENT, True),
        (PARENT_AND_EDUCATOR, Role.EDUCATOR, True),
        (PARENT_AND_EDUCATOR, Role.LEARNER, False),
        (ROLES_WITHOUT_ID, Role.ADMIN, False),  # roles count only with an identity
        (ANONYMOUS, Role.LEARNER, False),
    ],
    ids=case,
)
def test_a_viewer_has_a_role_only_when_authenticated(who: Viewer, role: Role, has: bool) -> None:
    assert who.has(role) is has


@pytest.mark.parametrize(
    ("who", "reads"),
    [
        (ADMIN, True),
        (SERVICE, True),
        (viewer("both", Role.ADMIN, Role.SERVICE), True),
        (viewer("x", Role.SERVICE, Role.LEARNER), True),
        (ADA, False),
        (PARENT, False),
        (EDUCATOR, False),
        (PARENT_AND_EDUCATOR, False),
        (ROLES_WITHOUT_ID, False),
        (ANONYMOUS, False),
    ],
    ids=case,
)
def test_reads_everything_is_for_admins_and_services(who: Viewer, reads: bool) -> None:
    assert who.reads_everything is reads


@pytest.mark.parametrize(
    ("who", "text"),
    [
        (ANONYMOUS, "anonymous"),
        (ROLES_WITHOUT_ID, "anonymous"),
        (ADA_WITHOUT_ROLE, "ada (no role)"),
        (ADA, "ada (learner)"),
        (viewer("kim", Role.PARENT, Role.EDUCATOR, Role.ADMIN), "kim (admin, educator, parent)"),
    ],
    ids=case,
)
def test_a_viewer_reads_as_its_id_and_sorted_roles(who: Viewer, text: str) -> None:
    assert str(who) == text


def test_the_anonymous_viewer_has_no_id_and_no_role() -> None:
    assert Viewer() == ANONYMOUS
    assert ANONYMOUS.id is None
    assert ANONYMOUS.roles == frozenset()


def test_forbidden_names_the_action_and_nothing_else() -> None:
    refused = Forbidden("see this group")

    assert refused.code == "FORBIDDEN"
    assert str(refused) == "Not allowed to see this group"


def test_unauthenticated_asks_for_a_token() -> None:
    refused = Unauthenticated()

    assert refused.code == "UNAUTHENTICATED"
    assert "bearer token" in str(refused)
