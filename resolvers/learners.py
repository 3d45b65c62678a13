"""Learner use cases."""

from __future__ import annotations

from domain.learners import Learner, validate_learner
from persistence.repositories import Repositories


async def upsert_learner(repos: Repositories, learner: Learner) -> Learner:
    return await repos.learners.upsert(validate_learner(learner, "input"))
