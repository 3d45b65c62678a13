"""Learners: who they are and which calendar their days follow."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import available_timezones

from domain.catalog import check_id, check_text
from domain.errors import InvalidInput
from domain.leaderboards import DEFAULT_VISIBILITY, Privacy

DEFAULT_TIME_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class Learner:
    id: str
    display_name: str | None = None
    time_zone: str = DEFAULT_TIME_ZONE
    # How the learner appears on leaderboards (domain.leaderboards): at most this open.
    leaderboard_visibility: Privacy = DEFAULT_VISIBILITY


def check_time_zone(value: str, field_name: str) -> str:
    # ZoneInfo also accepts file paths such as "../../etc/passwd"; the key list does not.
    if value not in _zone_names():
        raise InvalidInput(field_name, f"'{value}' is not an IANA time zone such as Europe/Paris")
    return value


def validate_learner(learner: Learner, field_prefix: str) -> Learner:
    check_id(learner.id, f"{field_prefix}.id")
    name = learner.display_name
    return Learner(
        id=learner.id,
        display_name=None if name is None else check_text(name, f"{field_prefix}.displayName"),
        time_zone=check_time_zone(learner.time_zone, f"{field_prefix}.timeZone"),
        leaderboard_visibility=learner.leaderboard_visibility,
    )


@dataclass(frozen=True, slots=True)
class LearnerChanges:
    """An update to a learner: the fields it sets, the others kept as they are.

    A time-zone change applies to days from the change on: days already rolled up keep the
    calendar they were counted in.
    """

    id: str
    display_name: str | None = None
    time_zone: str | None = None
    clear_display_name: bool = False
    leaderboard_visibility: Privacy | None = None

    @classmethod
    def replacing(cls, learner: Learner) -> LearnerChanges:
        """Changes that set every field to `learner`'s."""
        return cls(
            id=learner.id,
            display_name=learner.display_name,
            time_zone=learner.time_zone,
            clear_display_name=learner.display_name is None,
            leaderboard_visibility=learner.leaderboard_visibility,
        )

    @property
    def only_leaderboard_visibility(self) -> bool:
        """Whether the change sets the learner's leaderboard visibility and nothing else: what
        a learner may do for themselves."""
        return (
            self.leaderboard_visibility is not None
            and self.display_name is None
            and self.time_zone is None
            and not self.clear_display_name
        )


def validate_changes(changes: LearnerChanges, field_prefix: str) -> LearnerChanges:
    check_id(changes.id, f"{field_prefix}.id")
    name, zone = changes.display_name, changes.time_zone
    if name is not None and changes.clear_display_name:
        raise InvalidInput(f"{field_prefix}.displayName", "give a name or clear it, not both")
    return LearnerChanges(
        id=changes.id,
        display_name=None if name is None else check_text(name, f"{field_prefix}.displayName"),
        time_zone=None if zone is None else check_time_zone(zone, f"{field_prefix}.timeZone"),
        clear_display_name=changes.clear_display_name,
        leaderboard_visibility=changes.leaderboard_visibility,
    )


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES
