"""Daily activity rollups per learner and local day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TypeVar

from pymongo import ReplaceOne

from domain.activity import ActivityBucket, DailyRollup
from persistence.database import (
    Database,
    Document,
    find_by_ids,
    find_in,
    pair_id,
    pair_ids,
)
from persistence.indexes import DAILY, DAILY_BREAKDOWNS
from persistence.versioned import Session, write_versioned

Versioned = tuple[DailyRollup, int]
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


def rollup_to_documents(rollup: DailyRollup) -> tuple[Document, Document]:
    """The day's totals and, in a document of its own, its breakdowns (same `_id`)."""
    key = pair_id(rollup.learner_id, rollup.day.isoformat())
    day = {
        "_id": key,
        "learnerId": rollup.learner_id,
        "day": rollup.day.isoformat(),
        "total": bucket_to_document(rollup.total),
        "sessions": sorted(rollup.sessions),
        "itemsFinished": rollup.items_finished,
        "mastered": rollup.mastered,
    }
    breakdowns = {
        "_id": key,
        "byCategory": _breakdown_to_document(rollup.by_category),
        "byDifficulty": _breakdown_to_document(rollup.by_difficulty),
        "byHour": _breakdown_to_document(rollup.by_hour),
        "byCertification": _breakdown_to_document(rollup.by_certification),
    }
    return day, breakdowns


def rollup_from_documents(day: Document, breakdowns: Document | None) -> DailyRollup:
    slices = breakdowns or {}
    by_hour = _breakdown_from_document(slices.get("byHour", []))
    return DailyRollup(
        learner_id=day["learnerId"],
        day=date.fromisoformat(day["day"]),
        total=bucket_from_document(day["total"]),
        by_category=_breakdown_from_document(slices.get("byCategory", [])),
        by_difficulty=_breakdown_from_document(slices.get("byDifficulty", [])),
        by_hour={int(hour): bucket for hour, bucket in by_hour.items()},
        by_certification=_breakdown_from_document(slices.get("byCertification", [])),
        sessions=frozenset(day.get("sessions", ())),
        items_finished=day.get("itemsFinished", 0),
        mastered=day.get("mastered", 0),
    )


class ActivityRepository:
    """Daily totals in one collection, their breakdowns in another (the same repository keeps
    weekly rollups, keyed by the Monday of their ISO week, in two collections of their own).

    A busy learner's day carries dozens of breakdown rows; kept apart, the totals that most reads
    want cost the same to read for every learner, and breakdowns are read only when asked for.
    Both are written in the same atomic unit; the totals document carries the version.
    """

    def __init__(
        self, database: Database, *, totals: str = DAILY, breakdowns: str = DAILY_BREAKDOWNS
    ) -> None:
        self._collection = database[totals]
        self._breakdowns = database[breakdowns]

    async def load_for_update(
        self, keys: Iterable[tuple[str, date]], session: Session
    ) -> dict[tuple[str, date], Versioned]:
        """Rollups with their versions for (learner, local day) pairs."""
        ids = pair_ids((learner, day.isoformat()) for learner, day in keys)
        days = [doc async for doc in find_by_ids(self._collection, ids, session=session)]
        breakdowns = await self._breakdowns_of([doc["_id"] for doc in days], session)
        found: dict[tuple[str, date], Versioned] = {}
        for doc in days:
            rollup = rollup_from_documents(doc, breakdowns.get(doc["_id"]))
            found[(rollup.learner_id, rollup.day)] = (rollup, doc["v"])
        return found

    async def save(
        self, changes: Sequence[tuple[DailyRollup, int | None]], session: Session
    ) -> None:
        if not changes:
            return
        documents = [(rollup_to_documents(r), version) for r, version in changes]
        await write_versioned(
            self._collection, [(day, version) for (day, _), version in documents], session
        )
        # No version of their own: the day document's version check above guards both.
        replaces = [ReplaceOne({"_id": b["_id"]}, b, upsert=True) for (_, b), _ in documents]
        await self._breakdowns.bulk_write(replaces, ordered=False, session=session)

    async def between(
        self,
        learner_ids: Sequence[str],
        first: date,
        last: date,
        *,
        detail: bool = True,
        slices: frozenset[str] | None = None,
    ) -> dict[str, list[DailyRollup]]:
        """Rollups of each learner from `first` to `last` inclusive, by day: one command (per
        `LEARNER_CHUNK` learners), or two with the breakdowns (`detail`): only the `slices`
        named (byCategory, byDifficulty, byHour, byCertification) when given, else all of them."""
        query = {"day": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
        sort = [("learnerId", 1), ("day", 1)]
        days = [
            doc
            async for doc in find_in(self._collection, "learnerId", learner_ids, query, sort=sort)
        ]
        ids = [doc["_id"] for doc in days]
        projection = None if slices is None else {name: 1 for name in slices} or {"_id": 1}
        breakdowns = await self._breakdowns_of(ids, projection=projection) if detail else {}
        found: dict[str, list[DailyRollup]] = {learner_id: [] for learner_id in learner_ids}
        for doc in days:
            found[doc["learnerId"]].append(rollup_from_documents(doc, breakdowns.get(doc["_id"])))
        return found

    async def _breakdowns_of(
        self, ids: list[str], session: Session = None, *, projection: Document | None = None
    ) -> dict[str, Document]:
        if not ids:
            return {}
        found = find_by_ids(self._breakdowns, ids, session=session, projection=projection)
        return {doc["_id"]: doc async for doc in found}

    async def is_empty(self) -> bool:
        return await self._collection.find_one({}, {"_id": 1}) is None

    async def learner_ids(self) -> list[str]:
        """Every learner with a rollup (for maintenance jobs)."""
        return sorted(await self._collection.distinct("learnerId"))
