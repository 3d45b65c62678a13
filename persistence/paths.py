"""Learning paths: one document each, steps inline (at most 500)."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ReplaceOne

from domain.paths import LearningPath, PathStep
from persistence.database import READ_BATCH, Database, Document
from persistence.indexes import PATHS


def path_to_document(path: LearningPath) -> Document:
    return {
        "_id": path.id,
        "name": path.name,
        "certification": path.certification,
        "sequential": path.sequential,
        "steps": [
            {"itemId": step.item_id, "prerequisites": list(step.prerequisites)}
            for step in path.steps
        ],
    }


def path_from_document(doc: Document) -> LearningPath:
    return LearningPath(
        id=doc["_id"],
        name=doc["name"],
        certification=doc.get("certification"),
        sequential=doc.get("sequential", True),
        steps=tuple(
            PathStep(step["itemId"], tuple(step.get("prerequisites", ()))) for step in doc["steps"]
        ),
    )


class PathRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[PATHS]

    async def all(self) -> list[LearningPath]:
        cursor = self._collection.find({}, batch_size=READ_BATCH).sort("_id", 1)
        return [path_from_document(doc) async for doc in cursor]

    async def upsert_many(self, paths: Sequence[LearningPath]) -> None:
        if paths:
            ops = [ReplaceOne({"_id": p.id}, path_to_document(p), upsert=True) for p in paths]
            await self._collection.bulk_write(ops, ordered=True)
