"""Learner totals: one document per learner, updated with every event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from domain.streaks import DayRun
from domain.totals import LearnerTotals, Tally
from persistence.database import Database, Document, find_in
from persistence.indexes import TOTALS
from persistence.versioned import Session, write_versioned

Versioned = tuple[LearnerTotals, int]


def tally_to_document(tally: Tally) -> Document:
    return {
        "events": tally.events,
        "contentViewed": tally.content_viewed,
        "questionsAnswered": tally.questions_answered,
        "itemsCompleted": tally.items_completed,
        "scored": tally.scored,
        "scoreSum": tally.score_sum,
        "timeSpentSeconds": tally.time_spent_seconds,
        "perfectScores": tally.perfect_scores,
        "helped": tally.helped,
    }


def tally_from_document(doc: Document) -> Tally:
    return Tally(
        events=doc["events"],
        content_viewed=doc["contentViewed"],
        questions_answered=doc["questionsAnswered"],
        items_completed=doc["itemsCompleted"],
        scored=doc["scored"],
        score_sum=doc["scoreSum"],
        time_spent_seconds=doc["timeSpentSeconds"],
        perfect_scores=doc.get("perfectScores", 0),
        helped=doc.get("helped", 0),
    )


def totals_to_document(totals: LearnerTotals) -> Document:
    return {
        "_id": totals.learner_id,
        "overall": tally_to_document(totals.overall),
        "byCertification": [
            {"key": key, **tally_to_document(tally)}
            for key, tally in totals.by_certification.items()
        ],
        "activeDays": _runs_to_document(totals.active_days),
        "masteredSkills": totals.mastered_skills,
        "points": totals.points,
        "unlocks": totals.unlocks,
        "recentRewards": list(totals.recent_rewards),
        "freezesHeld": totals.freezes_held,
        "frozenDays": _runs_to_document(totals.frozen_days),
        "streakPointDays": _runs_to_document(totals.streak_point_days),
        "goalWeeks": [monday.isoformat() for monday in totals.goal_weeks],
        "perfectWeeks": [monday.isoformat() for monday in totals.perfect_weeks],
        "subjectsTried": sorted(totals.subjects_tried),
        "masteredIds": sorted(totals.mastered_ids),
        "subjectsMastered": sorted(totals.subjects_mastered),
        "bestMasteryDay": totals.best_mastery_day,
        # The last day the streak covers (active or frozen): what the notification sweep finds
        # learners whose streak is at risk by.
        "coveredThrough": _covered_through(totals),
    }


def _runs_to_document(runs: Iterable[DayRun]) -> list[list[str]]:
    return [[first.isoformat(), last.isoformat()] for first, last in runs]


def _runs_from_document(rows: Iterable[list[str]]) -> tuple[DayRun, ...]:
    return tuple((date.fromisoformat(first), date.fromisoformat(last)) for first, last in rows)


def _covered_through(totals: LearnerTotals) -> str | None:
    ends = [runs[-1][1] for runs in (totals.active_days, totals.frozen_days) if runs]
    return max(ends).isoformat() if ends else None


def totals_from_document(doc: Document) -> LearnerTotals:
    return LearnerTotals(
        learner_id=doc["_id"],
        overall=tally_from_document(doc["overall"]),
        by_certification={
            row["key"]: tally_from_document(row) for row in doc.get("byCertification", [])
        },
        active_days=_runs_from_document(doc.get("activeDays", [])),
        mastered_skills=doc.get("masteredSkills", 0),
        points=doc.get("points", 0),
        unlocks=doc.get("unlocks", 0),
        recent_rewards=tuple(doc.get("recentRewards", ())),
        freezes_held=doc.get("freezesHeld", 0),
        frozen_days=_runs_from_document(doc.get("frozenDays", [])),
        streak_point_days=_runs_from_document(doc.get("streakPointDays", [])),
        goal_weeks=tuple(date.fromisoformat(d) for d in doc.get("goalWeeks", [])),
        perfect_weeks=tuple(date.fromisoformat(d) for d in doc.get("perfectWeeks", [])),
        subjects_tried=frozenset(doc.get("subjectsTried", ())),
        mastered_ids=frozenset(doc.get("masteredIds", ())),
        subjects_mastered=frozenset(doc.get("subjectsMastered", ())),
        best_mastery_day=doc.get("bestMasteryDay", 0),
    )


class TotalsRepository:
    def __init__(self, database: Database) -> None:
        self._collection = database[TOTALS]

    async def load_for_update(
        self, learner_ids: Iterable[str], session: Session
    ) -> dict[str, Versioned]:
        cursor = find_in(self._collection, "_id", learner_ids, session=session)
        return {doc["_id"]: (totals_from_document(doc), doc["v"]) async for doc in cursor}

    async def save(
        self, changes: Sequence[tuple[LearnerTotals, int | None]], session: Session
    ) -> None:
        await write_versioned(
            self._collection,
            [(totals_to_document(t), version) for t, version in changes],
            session,
        )

    async def covered_between(
        self, first: date, last: date, *, after: str | None, limit: int
    ) -> list[LearnerTotals]:
        """Totals whose streak last covered a day in [first, last], by learner id after
        `after`: the learners whose streak may be at risk."""
        query: Document = {"coveredThrough": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._collection.find(query).sort("_id", 1).limit(limit)
        return [totals_from_document(doc) async for doc in cursor]

    async def find_by_ids(self, learner_ids: Iterable[str]) -> dict[str, LearnerTotals]:
        cursor = find_in(self._collection, "_id", learner_ids)
        return {doc["_id"]: totals_from_document(doc) async for doc in cursor}
