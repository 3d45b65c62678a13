"""The dashboards' storage: learners' standing, pending aggregate changes, the aggregates.

- `learner_standing`, one versioned document per learner: the groups their contribution goes to
  and their UTC active days (`domain.aggregates.Standing`).
- `aggregate_changes`: what each committed write changes in the aggregates, written in the
  write's own transaction, applied once afterwards by the projector (`persistence.projector`).
- `group_aggregates`: counters per group and item, skill, local day, week, and its totals
  (`_id` "group|kind|key"); `group_rosters`: per group, each member's risk schedule.
- `system_aggregates`: counters per UTC day, ISO week and hour (`_id` "kind|key").

Only the projector writes the aggregates and rosters; writes of learners' state only insert a
change document, so writers for different learners never touch the same document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne

from domain.activity import DailyRollup
from domain.aggregates import (
    BADGES,
    MINUTES,
    AggregateChange,
    Counters,
    RosterChange,
    Standing,
    counted_answer,
    field_key,
    key_of_field,
)
from domain.dashboards import GroupDay, GroupTotals, RosterEntry, SystemDay, SystemWeek
from domain.guard import GuardReason
from domain.mastery import SkillState
from domain.progress import ContentProgress
from domain.risk import RiskSchedule
from persistence.activity import rollup_from_documents
from persistence.database import READ_BATCH, Database, Document, find_by_ids, find_in
from persistence.indexes import (
    AGGREGATE_CHANGES,
    DAILY,
    DAILY_BREAKDOWNS,
    EVENTS,
    GROUP_AGGREGATES,
    GROUP_ROSTERS,
    MEMBERSHIPS,
    PROGRESS,
    SKILL_STATES,
    STANDING,
    SYSTEM_AGGREGATES,
    WEEKLY,
)
from persistence.progress import progress_from_document
from persistence.skill_states import skill_state_from_document
from persistence.versioned import ConcurrentUpdate, Session, write_versioned

Versioned = tuple[Standing, int]
BACKFILL_MARKER = "marker|dashboards"


# --- documents -------------------------------------------------------------------------------


def standing_to_document(standing: Standing) -> Document:
    return {
        "_id": standing.learner_id,
        "groups": sorted(standing.groups),
        "utcDays": [[first.isoformat(), last.isoformat()] for first, last in standing.utc_days],
    }


def standing_from_document(doc: Document) -> Standing:
    return Standing(
        learner_id=doc["_id"],
        groups=frozenset(doc.get("groups", ())),
        utc_days=tuple(
            (date.fromisoformat(first), date.fromisoformat(last))
            for first, last in doc.get("utcDays", ())
        ),
    )


def _counters_to_rows(counters: Counters) -> list[Document]:
    return [{"kind": kind, "key": key, "inc": fields} for (kind, key), fields in counters.items()]


def _counters_from_rows(rows: Iterable[Document]) -> Counters:
    return {(row["kind"], row["key"]): dict(row["inc"]) for row in rows}


def _schedule_to_document(schedule: RiskSchedule) -> Document:
    return {"since": schedule.since, "windows": [list(w) for w in schedule.windows]}


def _schedule_from_document(doc: Document) -> RiskSchedule:
    return RiskSchedule(
        since=_utc(doc["since"]),
        windows=tuple((_utc(start), _utc(end)) for start, end in doc.get("windows", ())),
    )


def change_to_document(change: AggregateChange) -> Document:
    return {
        "_id": ObjectId(),
        "groups": [
            {"groupId": group_id, "counters": _counters_to_rows(counters)}
            for group_id, counters in change.groups.items()
        ],
        "system": _counters_to_rows(change.system),
        "roster": [
            {
                "groupId": c.group_id,
                "learnerId": c.learner_id,
                "version": c.version,
                "schedule": None if c.schedule is None else _schedule_to_document(c.schedule),
            }
            for c in change.roster
        ],
    }


def change_from_document(doc: Document) -> AggregateChange:
    return AggregateChange(
        groups={
            row["groupId"]: _counters_from_rows(row["counters"]) for row in doc.get("groups", ())
        },
        system=_counters_from_rows(doc.get("system", ())),
        roster=[
            RosterChange(
                group_id=row["groupId"],
                learner_id=row["learnerId"],
                version=row["version"],
                schedule=None
                if row.get("schedule") is None
                else _schedule_from_document(row["schedule"]),
            )
            for row in doc.get("roster", ())
        ],
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _group_target(group_id: str, kind: str, key: str) -> str:
    return f"{group_id}|{kind}|{key}"


def _system_target(kind: str, key: str) -> str:
    return f"{kind}|{key}"


def _numbers(doc: Document, *, skip: Sequence[str]) -> dict[str, int]:
    """A stored aggregate's non-zero counters, nested ones as dotted paths."""
    out: dict[str, int] = {}
    for name, value in doc.items():
        if name in skip:
            continue
        if isinstance(value, dict):
            out |= {f"{name}.{k}": n for k, n in value.items() if n}
        elif value:
            out[name] = value
    return out


def _updates(identity: Document, fields: Mapping[str, int]) -> Document:
    return {"$inc": dict(fields), "$setOnInsert": identity}


class DashboardRepository:
    """Standing, pending changes and aggregates; the reads of learner state a join needs."""

    def __init__(self, database: Database) -> None:
        self._standing = database[STANDING]
        self._changes = database[AGGREGATE_CHANGES]
        self._groups = database[GROUP_AGGREGATES]
        self._rosters = database[GROUP_ROSTERS]
        self._system = database[SYSTEM_AGGREGATES]
        self._memberships = database[MEMBERSHIPS]
        self._progress = database[PROGRESS]
        self._skill_states = database[SKILL_STATES]
        self._days = database[DAILY]
        self._day_breakdowns = database[DAILY_BREAKDOWNS]
        self._weeks = database[WEEKLY]
        self._events = database[EVENTS]

    # Standing ---------------------------------------------------------------------------------

    async def standing_for_update(
        self, learner_ids: Iterable[str], session: Session
    ) -> dict[str, Versioned]:
        ids = sorted(set(learner_ids))
        cursor = find_by_ids(self._standing, ids, session=session)
        return {doc["_id"]: (standing_from_document(doc), doc["v"]) async for doc in cursor}

    async def save_standing(
        self, changes: Sequence[tuple[Standing, int | None]], session: Session
    ) -> None:
        await write_versioned(
            self._standing, [(standing_to_document(s), v) for s, v in changes], session
        )

    async def standing_in(self, group_id: str) -> list[str]:
        """The learners whose standing sends their contribution to the group."""
        cursor = self._standing.find({"groups": group_id}, {"_id": 1}, batch_size=READ_BATCH)
        return sorted([doc["_id"] async for doc in cursor])

    async def standing_groups(self) -> dict[str, set[str]]:
        """Each group's learners, as the standing documents say (for reconciling)."""
        found: dict[str, set[str]] = {}
        cursor = self._standing.find(
            {"groups.0": {"$exists": True}}, {"groups": 1}, batch_size=READ_BATCH
        )
        async for doc in cursor:
            for group_id in doc["groups"]:
                found.setdefault(group_id, set()).add(doc["_id"])
        return found

    # What the joins read of a learner, in the join's transaction ------------------------------

    async def memberships_of(
        self, group_id: str, learner_ids: Sequence[str], session: Session
    ) -> set[str]:
        """Which of the learners are members of the group now."""
        ids = [f"{group_id}|{learner_id}" for learner_id in learner_ids]
        cursor = find_by_ids(self._memberships, ids, session=session)
        return {doc["learnerId"] async for doc in cursor}

    async def all_memberships(self) -> dict[str, set[str]]:
        """Each group's members (for reconciling)."""
        found: dict[str, set[str]] = {}
        cursor = self._memberships.find({}, {"groupId": 1, "learnerId": 1}, batch_size=READ_BATCH)
        async for doc in cursor:
            found.setdefault(doc["groupId"], set()).add(doc["learnerId"])
        return found

    async def groups_of(self, learner_ids: Sequence[str], session: Session) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {learner_id: set() for learner_id in learner_ids}
        projection = {"groupId": 1, "learnerId": 1}
        async for doc in find_in(
            self._memberships, "learnerId", learner_ids, projection=projection, session=session
        ):
            found[doc["learnerId"]].add(doc["groupId"])
        return found

    async def progress_of(
        self, learner_ids: Sequence[str], session: Session
    ) -> dict[str, list[ContentProgress]]:
        found: dict[str, list[ContentProgress]] = {learner_id: [] for learner_id in learner_ids}
        async for doc in find_in(self._progress, "learnerId", learner_ids, session=session):
            found[doc["learnerId"]].append(progress_from_document(doc))
        return found

    async def count_answers(
        self, learner_ids: Sequence[str], session: Session, *, pass_threshold: float
    ) -> int:
        """Fills in the answer counts of progress written before they were kept, from the
        learners' stored answers; returns the documents changed."""
        query = {"answers": {"$exists": False}}
        projection = {"learnerId": 1, "contentId": 1, "v": 1}
        stale = [
            doc
            async for doc in find_in(
                self._progress, "learnerId", learner_ids, query, projection, session=session
            )
        ]
        if not stale:
            return 0
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        answered = find_in(
            self._events,
            "learnerId",
            {doc["learnerId"] for doc in stale},
            {"type": "answered"},
            {"learnerId": 1, "contentId": 1, "correct": 1, "score": 1, "outcome.guarded": 1},
            session=session,
        )
        async for doc in answered:
            right = counted_answer(
                correct=doc.get("correct"),
                score=doc.get("score"),
                guarded=[GuardReason(r) for r in doc.get("outcome", {}).get("guarded", ())],
                pass_threshold=pass_threshold,
            )
            if right is not None:
                key = (doc["learnerId"], doc["contentId"])
                answers, correct = counts.get(key, (0, 0))
                counts[key] = (answers + 1, correct + (1 if right else 0))
        ops = []
        for doc in stale:
            answers, correct = counts.get((doc["learnerId"], doc["contentId"]), (0, 0))
            ops.append(
                UpdateOne(
                    {"_id": doc["_id"], "v": doc["v"]},
                    {"$set": {"answers": answers, "correct": correct}, "$inc": {"v": 1}},
                )
            )
        result = await self._progress.bulk_write(ops, ordered=False, session=session)
        if result.matched_count != len(ops):
            raise ConcurrentUpdate(PROGRESS)
        return len(ops)

    async def skill_states_of(
        self, learner_ids: Sequence[str], session: Session
    ) -> dict[str, list[SkillState]]:
        found: dict[str, list[SkillState]] = {learner_id: [] for learner_id in learner_ids}
        projection = {"answers": 0}
        cursor = find_in(
            self._skill_states, "learnerId", learner_ids, projection=projection, session=session
        )
        async for doc in cursor:
            found[doc["learnerId"]].append(skill_state_from_document(doc))
        return found

    async def days_of(
        self,
        learner_ids: Sequence[str],
        session: Session,
        *,
        first: date = date.min,
        last: date = date.max,
        hours: bool = False,
    ) -> dict[str, list[DailyRollup]]:
        """Daily rollups (totals; with `hours`, their hours too) from `first` to `last`."""
        return await self._rollups(self._days, learner_ids, session, first, last, hours=hours)

    async def weeks_of(
        self, learner_ids: Sequence[str], session: Session
    ) -> dict[str, list[DailyRollup]]:
        return await self._rollups(self._weeks, learner_ids, session, date.min, date.max)

    async def _rollups(
        self,
        collection: Any,
        learner_ids: Sequence[str],
        session: Session,
        first: date,
        last: date,
        *,
        hours: bool = False,
    ) -> dict[str, list[DailyRollup]]:
        query = {"day": {"$gte": first.isoformat(), "$lte": last.isoformat()}}
        docs = [
            doc
            async for doc in find_in(collection, "learnerId", learner_ids, query, session=session)
        ]
        breakdowns: dict[str, Document] = {}
        if hours and docs:
            found = find_by_ids(
                self._day_breakdowns,
                [doc["_id"] for doc in docs],
                session=session,
                projection={"byHour": 1},
            )
            breakdowns = {doc["_id"]: doc async for doc in found}
        out: dict[str, list[DailyRollup]] = {learner_id: [] for learner_id in learner_ids}
        for doc in sorted(docs, key=lambda d: d["day"]):
            out[doc["learnerId"]].append(rollup_from_documents(doc, breakdowns.get(doc["_id"])))
        return out

    # Pending changes --------------------------------------------------------------------------

    async def add_change(
        self, change: AggregateChange, session: Session, *, owner: str | None = None
    ) -> None:
        """Stages a change; `owner`: the projector expected to apply it (any may)."""
        if not change.empty:
            doc = change_to_document(change) | {"owner": owner}
            await self._changes.insert_one(doc, session=session)

    async def pending(
        self, limit: int, session: Session, *, owner: str | None = None
    ) -> list[tuple[Any, AggregateChange]]:
        """The oldest pending changes; only `owner`'s when given."""
        query = {} if owner is None else {"owner": owner}
        cursor = self._changes.find(query, session=session).sort("_id", 1).limit(limit)
        return [(doc["_id"], change_from_document(doc)) async for doc in cursor]

    async def has_pending(self) -> bool:
        return await self._changes.find_one({}, {"_id": 1}) is not None

    async def apply(self, ids: Sequence[Any], change: AggregateChange, session: Session) -> None:
        """Adds the change to the aggregates and deletes the pending documents it came from, in
        the caller's transaction; one already deleted (applied by another process) makes the
        whole unit run again."""
        group_ops = [
            UpdateOne(
                {"_id": _group_target(group_id, kind, key)},
                _updates({"groupId": group_id, "kind": kind, "key": key}, fields),
                upsert=True,
            )
            for group_id, counters in change.groups.items()
            for (kind, key), fields in counters.items()
        ]
        if group_ops:
            await self._groups.bulk_write(group_ops, ordered=False, session=session)
        system_ops = [
            UpdateOne(
                {"_id": _system_target(kind, key)},
                _updates({"kind": kind, "key": key}, fields),
                upsert=True,
            )
            for (kind, key), fields in change.system.items()
        ]
        if system_ops:
            await self._system.bulk_write(system_ops, ordered=False, session=session)
        await self._apply_roster(change.roster, session)
        deleted = await self._changes.delete_many({"_id": {"$in": list(ids)}}, session=session)
        if deleted.deleted_count != len(ids):
            raise ConcurrentUpdate(AGGREGATE_CHANGES)

    async def _apply_roster(self, changes: Sequence[RosterChange], session: Session) -> None:
        if not changes:
            return
        group_ids = sorted({c.group_id for c in changes})
        versions: dict[tuple[str, str], int] = {}
        cursor = self._rosters.find({"_id": {"$in": group_ids}}, session=session)
        async for doc in cursor:
            for field, entry in doc.get("m", {}).items():
                versions[(doc["_id"], key_of_field(field))] = entry["v"]
        ops = []
        for c in changes:
            if versions.get((c.group_id, c.learner_id), 0) >= c.version:
                continue  # a later place was set already
            place: Document = {"v": c.version}
            if c.schedule is None:
                place["gone"] = True  # kept, so that an older place arriving late loses
            else:
                place |= _schedule_to_document(c.schedule)
            ops.append(
                UpdateOne(
                    {"_id": c.group_id},
                    {"$set": {f"m.{field_key(c.learner_id)}": place}},
                    upsert=True,
                )
            )
        if ops:
            await self._rosters.bulk_write(ops, ordered=True, session=session)

    # Reads --------------------------------------------------------------------------------------

    async def group_summary(
        self, group_id: str, days: Sequence[date], monday: date
    ) -> tuple[GroupTotals, list[GroupDay], int]:
        """The group's totals, its days among `days`, and its members active in the week of
        `monday`: one lookup by id."""
        ids = [
            _group_target(group_id, "total", ""),
            _group_target(group_id, "week", monday.isoformat()),
            *(_group_target(group_id, "day", day.isoformat()) for day in days),
        ]
        found = {(doc["kind"], doc["key"]): doc async for doc in find_by_ids(self._groups, ids)}
        total = found.get(("total", ""), {})
        totals = GroupTotals(
            members=total.get("members", 0),
            events=total.get("events", 0),
            ms=total.get("ms", 0),
            scored=total.get("scored", 0),
            score_micros=total.get("scoreMicros", 0),
            completed=total.get("completed", 0),
            mastered=total.get("mastered", 0),
        )
        group_days = [
            GroupDay(
                day=day,
                events=doc.get("events", 0),
                ms=doc.get("ms", 0),
                active=doc.get("active", 0),
                last_active=doc.get("lastActive", 0),
            )
            for day in days
            if (doc := found.get(("day", day.isoformat()))) is not None
        ]
        week = found.get(("week", monday.isoformat()), {})
        return totals, group_days, int(week.get("active", 0))

    async def group_documents(self, group_id: str, kinds: Sequence[str]) -> list[Document]:
        """Every aggregate of these kinds (items and skills: bounded by the catalog)."""
        query = {"groupId": group_id, "kind": {"$in": list(kinds)}}
        return [doc async for doc in self._groups.find(query, batch_size=READ_BATCH)]

    async def roster(self, group_id: str) -> list[RosterEntry]:
        """The group's members with their risk schedules."""
        doc = await self._rosters.find_one({"_id": group_id})
        if doc is None:
            return []
        return [
            RosterEntry(key_of_field(field), _schedule_from_document(entry))
            for field, entry in doc.get("m", {}).items()
            if not entry.get("gone")
        ]

    async def group_counters(self, group_id: str) -> Counters:
        """Every counter of the group, as stored (for checks and maintenance)."""
        found: Counters = {}
        async for doc in self._groups.find({"groupId": group_id}, batch_size=READ_BATCH):
            fields = _numbers(doc, skip=("_id", "groupId", "kind", "key"))
            if fields:
                found[(doc["kind"], doc["key"])] = fields
        return found

    async def system_counters(self) -> Counters:
        """Every system counter, as stored (for checks and maintenance)."""
        found: Counters = {}
        async for doc in self._system.find({"kind": {"$ne": "marker"}}, batch_size=READ_BATCH):
            fields = _numbers(doc, skip=("_id", "kind", "key"))
            if fields:
                found[(doc["kind"], doc["key"])] = fields
        return found

    async def system_days(self, days: Sequence[date]) -> dict[date, SystemDay]:
        ids = [_system_target("day", day.isoformat()) for day in days]
        found: dict[date, SystemDay] = {}
        async for doc in find_by_ids(self._system, ids):
            day = date.fromisoformat(doc["key"])
            badges = {key_of_field(k): n for k, n in doc.get(BADGES, {}).items() if n}
            found[day] = SystemDay(
                day=day,
                active=doc.get("active", 0),
                last_active=doc.get("lastActive", 0),
                sessions=doc.get("sessions", 0),
                session_ms=doc.get("sessionMs", 0),
                badges=badges,
            )
        return found

    async def system_weeks(self, mondays: Sequence[date]) -> dict[date, SystemWeek]:
        ids = [_system_target("week", monday.isoformat()) for monday in mondays]
        found: dict[date, SystemWeek] = {}
        async for doc in find_by_ids(self._system, ids):
            monday = date.fromisoformat(doc["key"])
            found[monday] = SystemWeek(
                monday, active=doc.get("active", 0), retained=doc.get("retained", 0)
            )
        return found

    async def recorded_per_minute(self, hours: Sequence[datetime]) -> dict[datetime, int]:
        ids = [_system_target("hour", hour.strftime("%Y-%m-%dT%H")) for hour in hours]
        found: dict[datetime, int] = {}
        async for doc in find_by_ids(self._system, ids):
            hour = datetime.strptime(doc["key"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
            for minute, n in doc.get(MINUTES, {}).items():
                found[hour + timedelta(minutes=int(minute))] = n
        return found

    # The start-up backfill's marker -------------------------------------------------------------

    async def backfilled(self) -> bool:
        return await self._system.find_one({"_id": BACKFILL_MARKER}, {"_id": 1}) is not None

    async def mark_backfilled(self, at: datetime) -> None:
        await self._system.update_one(
            {"_id": BACKFILL_MARKER}, {"$setOnInsert": {"kind": "marker", "at": at}}, upsert=True
        )
