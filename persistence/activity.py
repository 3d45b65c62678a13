"""Daily activity rollups per learner and local day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TypeVar

from domain.activity import ActivityBucket, DailyRollup
from persistence.atomic import Session, write_versioned
from persistence.database import READ_BATCH, Database, Document, pair_id, pair_ids
from persistence.indexes import DAILY

Versioned = tuple[DailyRollup, int]
BREAKDOWNS = ("byCategory", "byDifficulty", "byHour", "byCertification")
K = TypeVar("K", str, int)


def bucket_to_document(bucket: ActivityBucket) -> Document:
    return {
        "events": bucket.events,
        "timeSpentSeconds": bucket.time_spent_seconds,
        "answered": bucket.answered,
        "scored": bucket.scored,
        "scoreSum": bucket.score_sum,
        "completions": bucket.completions,
    }


def bucket_from_document(doc: Document) -> ActivityBucket:
    return ActivityBucket(
        events=doc["events"],
        time_spent_seconds=doc["timeSpentSeconds"],
        answered=doc["answered"],
        scored=doc["scored"],
        score_sum=doc["scoreSum"],
        completions=doc["completions"],
    )


def _breakdown_to_document(buckets: Mapping[K, ActivityBucket]) -> list[Document]:
    # A list, not a sub-document: category names may hold '.' or '$'.
    return [{"key": key, **bucket_to_document(bucket)} for key, bucket in buckets.items()]


def _breakdown_from_document(rows: list[Document]) -> dict[str, ActivityBucket]:
    return {row["key"]: bucket_from_document(row) for row in rows}


def rollup_to_document(rollup: DailyRollup) -> Document:
    return {
        "_id": pair_id(rollup.learner_id, rollup.day.isoformat()),
        "learnerId": rollup.learner_id,
        "day": rollup.day.isoformat(),
        "total": bucket_to_document(rollup.total),
        "byCategory": _breakdown_to_document(rollup.by_category),
        "byDifficulty": _breakdown_to_document(rollup.by_difficulty),
        "byHour": _breakdown_to_document(rollup.by_hour),
        "byCertification": _breakdown_to_document(rollup.by_certification),
    }


def rollup_from_document(doc: Document) -> DailyRollup:
    return DailyRollup(
        learner_id=doc["learnerId"],
        day=date.fromisoformat(doc["day"]),
        total=bucket_from_document(doc["total"]),
        by_category=_breakdown_from_document(doc.get("byCategory", [])),
        by_difficulty=_breakdown_from_document(doc.get("byDifficulty", [])),
        by_hour={int(k): v for k, v in _breakdown_from_document(doc.get("byHour", [])).items()},
        by_certification=_breakdown_from_document(doc.get("byCertification", [])),
    )


class ActivityRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[DAILY]

    async def load_for_update(
        self, keys: Iterable[tuple[str, date]], session: Session
    ) -> dict[tuple[str, date], Versioned]:
        """Rollups with their versions for (learner, local day) pairs, in one command."""
        query = pair_ids((learner, day.isoformat()) for learner, day in keys)
        found: dict[tuple[str, date], Versioned] = {}
        async for doc in self._collection.find(query, session=session):
            rollup = rollup_from_document(doc)
            found[(rollup.learner_id, rollup.day)] = (rollup, doc["v"])
        return found

    async def save(
        self, changes: Sequence[tuple[DailyRollup, int | None]], session: Session
    ) -> None:
        await write_versioned(
            self._collection,
            [(rollup_to_document(r), version) for r, version in changes],
            session,
        )

    async def between(
        self, learner_ids: Sequence[str], first: date, last: date, *, detail: bool = True
    ) -> dict[str, list[DailyRollup]]:
        """Rollups of each learner from `first` to `last` inclusive, by day, in one command.

        Without `detail` the breakdowns stay on the server: a busy learner's days carry dozens
        of them, and reading only the totals keeps the cost of a day the same for everyone.
        """
        found: dict[str, list[DailyRollup]] = {learner_id: [] for learner_id in learner_ids}
        query = {
            "learnerId": {"$in": list(learner_ids)},
            "day": {"$gte": first.isoformat(), "$lte": last.isoformat()},
        }
        projection = None if detail else {name: 0 for name in BREAKDOWNS}
        cursor = self._collection.find(query, projection, batch_size=READ_BATCH)
        async for doc in cursor.sort([("learnerId", 1), ("day", 1)]):
            found[doc["learnerId"]].append(rollup_from_document(doc))
        return found
