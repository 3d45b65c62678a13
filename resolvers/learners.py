"""Learner use cases."""

from __future__ import annotations

from domain.learners import Learner, LearnerChanges, validate_changes
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from resolvers.access import Access
from resolvers.leaderboards import retag


async def upsert_learner(
    access: Access,
    repos: Repositories,
    changes: LearnerChanges,
    *,
    runner: TransactionRunner | None = None,
) -> Learner:
    """Creates the learner or changes only the fields given; returns the learner as stored.

    Admins change anything; a learner may set their own leaderboard visibility (and nothing
    else). A visibility change takes the learner off the boards or puts them back at once."""
    access.require_change_learner(changes.id, only_leaderboard=changes.only_leaderboard_visibility)
    valid = validate_changes(changes, "input")
    saved = await repos.learners.update(valid)
    if valid.leaderboard_visibility is not None:
        await retag(runner or TransactionRunner(repos), repos, [saved.id])
    return saved
