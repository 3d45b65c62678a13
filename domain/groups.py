"""Groups (classes, cohorts) and guardianships: the relationships the access rules follow.

A group has educators, who read its members' progress and manage its membership, and members,
who are learners. A guardianship ties a parent to a learner they may follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.catalog import check_id, check_text
from domain.errors import InvalidInput
from domain.leaderboards import Privacy

MAX_EDUCATORS = 50
MAX_MEMBERS_PER_CHANGE = 1_000


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    educator_ids: frozenset[str] = frozenset()
    created_at: datetime | None = None
    leaderboard_mode: Privacy | None = None  # None: the overall board's mode


@dataclass(frozen=True, slots=True)
class GroupChanges:
    """An update to a group: fields left None keep their value (a new group needs a name)."""

    id: str
    name: str | None = None
    educator_ids: frozenset[str] | None = None
    leaderboard_mode: Privacy | None = None
    clear_leaderboard_mode: bool = False  # back to the overall board's mode


@dataclass(frozen=True, slots=True)
class Membership:
    group_id: str
    learner_id: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Guardianship:
    parent_id: str
    learner_id: str
    created_by: str
    created_at: datetime


def validate_group_changes(changes: GroupChanges, field_prefix: str = "input") -> GroupChanges:
    check_id(changes.id, f"{field_prefix}.id")
    name = changes.name
    if name is not None:
        name = check_text(name, f"{field_prefix}.name")
    educators = changes.educator_ids
    if educators is not None:
        if len(educators) > MAX_EDUCATORS:
            raise InvalidInput(
                f"{field_prefix}.educatorIds", f"must hold at most {MAX_EDUCATORS} ids"
            )
        for educator_id in educators:
            check_id(educator_id, f"{field_prefix}.educatorIds")
    if changes.leaderboard_mode is not None and changes.clear_leaderboard_mode:
        raise InvalidInput(f"{field_prefix}.leaderboardMode", "give a mode or clear it, not both")
    return GroupChanges(
        id=changes.id,
        name=name,
        educator_ids=educators,
        leaderboard_mode=changes.leaderboard_mode,
        clear_leaderboard_mode=changes.clear_leaderboard_mode,
    )


def check_member_ids(ids: Sequence[str], field_name: str) -> list[str]:
    """Learner ids for a membership change: valid, at most 1,000, duplicates dropped."""
    if len(ids) > MAX_MEMBERS_PER_CHANGE:
        raise InvalidInput(field_name, f"must hold at most {MAX_MEMBERS_PER_CHANGE:,} ids")
    for learner_id in ids:
        check_id(learner_id, field_name)
    return list(dict.fromkeys(ids))
