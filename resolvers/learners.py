"""Learner use cases."""

from __future__ import annotations

from domain.learners import Learner, LearnerChanges, validate_changes
from persistence.repositories import Repositories
from resolvers.access import Access


async def upsert_learner(access: Access, repos: Repositories, changes: LearnerChanges) -> Learner:
    """Creates the learner or changes only the fields given; returns the learner as stored."""
    access.require_admin()
    return await repos.learners.update(validate_changes(changes, "input"))
