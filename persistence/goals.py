"""Weekly goal settings: one document per learner holding their settings, by week."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from pymongo.errors import DuplicateKeyError

from domain.goals import GoalKind, WeeklyGoal
from persistence.database import Database, Document, find_in
from persistence.indexes import WEEKLY_GOALS
from persistence.versioned import ConcurrentUpdate, Session

MAX_ATTEMPTS = 10


def goal_to_document(goal: WeeklyGoal) -> Document:
    return {
        "kind": goal.kind.value,
        "target": goal.target,
        "week": goal.week.isoformat(),
        "setBy": goal.set_by,
        "setAt": goal.set_at,
    }


def goal_from_document(doc: Document) -> WeeklyGoal:
    return WeeklyGoal(
        kind=GoalKind(doc["kind"]),
        target=doc["target"],
        week=date.fromisoformat(doc["week"]),
        set_by=doc["setBy"],
        set_at=doc["setAt"],
    )


class GoalRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[WEEKLY_GOALS]

    async def for_learners(
        self, learner_ids: Iterable[str], session: Session = None
    ) -> dict[str, tuple[WeeklyGoal, ...]]:
        """Each learner's settings sorted by week (learners without any are left out)."""
        return {
            doc["_id"]: tuple(goal_from_document(g) for g in doc["goals"])
            async for doc in find_in(self._collection, "_id", learner_ids, session=session)
        }

    async def update(
        self, learner_id: str, change: Callable[[tuple[WeeklyGoal, ...]], Sequence[WeeklyGoal]]
    ) -> tuple[WeeklyGoal, ...]:
        """Applies `change` to the learner's settings, optimistically: a concurrent update
        makes it read again and retry, so neither is lost."""
        for _ in range(MAX_ATTEMPTS):
            doc = await self._collection.find_one({"_id": learner_id})
            current = () if doc is None else tuple(goal_from_document(g) for g in doc["goals"])
            goals = tuple(change(current))
            replacement = {
                "_id": learner_id,
                "goals": [goal_to_document(g) for g in goals],
                "v": 1 if doc is None else doc["v"] + 1,
            }
            if doc is None:
                try:
                    await self._collection.insert_one(replacement)
                except DuplicateKeyError:
                    continue
                return goals
            result = await self._collection.replace_one(
                {"_id": learner_id, "v": doc["v"]}, replacement
            )
            if result.matched_count:
                return goals
        raise ConcurrentUpdate(WEEKLY_GOALS)
