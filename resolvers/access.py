"""The one place where the current viewer is checked.

There is no authentication yet: every viewer may do everything. When it arrives, these checks
are where roles (learner, instructor, admin) are enforced, and every use case already calls them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking. `None` id: anonymous."""

    id: str | None = None
    roles: frozenset[str] = frozenset()


ANONYMOUS = Viewer()


def check_can_read_learner(viewer: Viewer, learner_id: str) -> None:
    """Raises when the viewer may not read this learner's progress (no rule yet)."""


def check_can_record_for(viewer: Viewer, learner_id: str) -> None:
    """Raises when the viewer may not record events for this learner (no rule yet)."""


def check_is_admin(viewer: Viewer) -> None:
    """Raises when the viewer may not change the catalog or learners (no rule yet)."""
