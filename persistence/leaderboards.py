"""Leaderboard entries and the counts that rank them, kept on write.

Entries. One per learner and period (`learner|all`, and `learner|2026-03-09` for the week starting
that Monday), written by the unit of work that appends the points (`record`), in its transaction:
a board always adds up to the points ledger. An entry holds the learner's points in the period,
their groups and whether they are listed (not HIDDEN); `boards` says where it shows: '*' (the
overall board) and its groups while it is listed and has points, nowhere otherwise. `key` orders
a board: the points inverted into fixed-width digits, the learner's tie value (a hash of the id,
`domain.score_buckets.tie_of`) in hex, then the id; so an ascending range of the `by_board`
index is a stretch of a board in order, most points first. A learner's all-time entry is their
leaderboard record: it exists (with 0 points if need be) once they are in a group or change their
visibility, and new entries copy its groups and listing.

Counts (`domain.score_buckets`), per board, period and shard (the top bits of the tie value):
a *totals* document counts the learners per block of points, and a *cells* document per block
counts them per points value. A learner always updates the documents of their own shard, so
concurrent units for different learners seldom touch the same document (one document per board
would make every concurrent unit conflict with every other, and retry). A read takes the totals
(`SHARDS` documents) and the cells of the blocks it needs (`SHARDS` documents each): a rank is
their sum, and the top n or the n around a learner are one range read each, cut at the cells
the counts name. No read walks the board: it reads the rows asked for plus the rest of the
cells at the cuts (a tie is split into `SHARDS` cells). `SHARDS` and the blocks must not change
once counts exist.

Membership and privacy changes re-tag a learner's entries (`retag`, in a transaction of its
own); `rebuild` recomputes entries from the ledger (databases from before leaderboards).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from domain.leaderboards import Board, Privacy, Standing, Window, around, week_starting
from domain.points import PointsEntry
from domain.score_buckets import (
    SHARDS,
    Cell,
    Histogram,
    Run,
    around_span,
    block_of,
    run_holding,
    shard_of,
    shard_start,
    tie_of,
    top_end,
)
from persistence.database import ID_CHUNK, READ_BATCH, Database, Document, find_by_ids, pair_id
from persistence.indexes import (
    LEADERBOARD,
    LEADERBOARD_COUNTS,
    LEARNERS,
    MAINTENANCE,
    MEMBERSHIPS,
    POINTS,
)
from persistence.versioned import Session, write_versioned

ALL_TIME = "all"
OVERALL = "*"
_KEY_TOP = 10**15 - 1
_BUILT = "leaderboards"
_READ_ATTEMPTS = 3

Tags = tuple[list[str], bool]  # a learner's groups, and whether they are listed
Change = tuple[Document | None, Document]  # an entry as read (None: new) and as it becomes


def period_of(board: Board) -> str:
    return ALL_TIME if board.week is None else board.week.isoformat()


def scope_of(board: Board) -> str:
    return board.group_id or OVERALL


def periods_of(at: datetime) -> tuple[str, str]:
    """The periods points earned at `at` count in: all time, and their UTC week."""
    return ALL_TIME, week_starting(at).isoformat()


def points_prefix(points: int) -> str:
    """Where the keys of entries with `points` start: fewer points, a larger prefix (below 0
    points, past every key)."""
    if points < 0:
        return "~"
    return f"{_KEY_TOP - min(points, _KEY_TOP):015d}|"


def order_key(points: int, tie: int, learner_id: str) -> str:
    return f"{points_prefix(points)}{tie:08x}|{learner_id}"


def run_start(run: Run) -> str:
    if run.shard is None:
        return points_prefix(run.high)
    return f"{points_prefix(run.high)}{shard_start(run.shard):08x}"


def run_end(run: Run) -> str:
    """The first key after the run."""
    if run.shard is None or run.shard == SHARDS - 1:
        return points_prefix(run.low - 1)
    return f"{points_prefix(run.high)}{shard_start(run.shard + 1):08x}"


def _totals_id(scope: str, period: str, shard: int) -> str:
    return f"{scope}|{period}|{shard}"


def _cells_id(scope: str, period: str, shard: int, block: int) -> str:
    return f"{scope}|{period}|{shard}|{block}"


def entry_document(
    learner_id: str, period: str, points: int, groups: Sequence[str], listed: bool
) -> Document:
    tie = tie_of(learner_id)
    return {
        "_id": pair_id(learner_id, period),
        "learnerId": learner_id,
        "period": period,
        "points": points,
        "tie": tie,
        "key": order_key(points, tie, learner_id),
        "groups": sorted(groups),
        "listed": listed,
        "boards": [OVERALL, *sorted(groups)] if listed and points > 0 else [],
    }


def _standing(doc: Document) -> Standing:
    return Standing(doc["learnerId"], doc["points"])


def _same(old: Document, new: Document) -> bool:
    return all(old.get(name) == new[name] for name in ("points", "groups", "listed"))


def count_changes(changes: Sequence[Change]) -> list[UpdateOne]:
    """The count updates that entries' changes make: each learner leaves the cell and block
    of their old points on their old boards and joins those of the new on the new."""
    totals: dict[tuple[str, str, int], Counter[int]] = defaultdict(Counter)
    cells: dict[tuple[str, str, int, int], Counter[int]] = defaultdict(Counter)
    for old, new in changes:
        shard, period = shard_of(new["tie"]), new["period"]
        moves = [(new, 1)] if old is None else [(old, -1), (new, 1)]
        for entry, sign in moves:
            points = entry["points"]
            for scope in entry.get("boards", ()):
                totals[(scope, period, shard)][block_of(points)] += sign
                cells[(scope, period, shard, block_of(points))][points] += sign
    ops = []
    for (scope, period, shard), delta in sorted(totals.items()):
        ops.extend(_inc(_totals_id(scope, period, shard), "blocks", delta, scope, period))
    for (scope, period, shard, block), delta in sorted(cells.items()):
        ops.extend(_inc(_cells_id(scope, period, shard, block), "cells", delta, scope, period))
    return ops


def _inc(doc_id: str, name: str, delta: Counter[int], scope: str, period: str) -> list[UpdateOne]:
    incs = {f"{name}.{key}": n for key, n in sorted(delta.items()) if n}
    if not incs:
        return []
    update = {"$inc": incs, "$setOnInsert": {"board": scope, "period": period}}
    return [UpdateOne({"_id": doc_id}, update, upsert=True)]


@dataclass(frozen=True, slots=True)
class BoardReading:
    """What one read of a board found: its size, its top and the stretch around a learner."""

    size: int
    top: Window = field(default_factory=Window)
    near: Window | None = None  # None: the learner is not on the board


@dataclass(frozen=True, slots=True)
class Placement:
    """A learner's place on a board, without their neighbours."""

    standing: Standing
    rank: int
    size: int


class LeaderboardRepository:
    def __init__(self, database: Database) -> None:
        self._entries = database[LEADERBOARD]
        self._counts = database[LEADERBOARD_COUNTS]
        self._ledger = database[POINTS]
        self._members = database[MEMBERSHIPS]
        self._learners = database[LEARNERS]
        self._maintenance = database[MAINTENANCE]

    # Writes ------------------------------------------------------------------------------------

    async def record(self, entries: Sequence[PointsEntry], session: Session) -> None:
        """Adds new ledger entries to their learners' all-time and weekly entries."""
        gains: Counter[tuple[str, str]] = Counter()
        for entry in entries:
            if entry.amount:
                for period in periods_of(entry.at):
                    gains[(entry.learner_id, period)] += entry.amount
        if not gains:
            return
        learner_ids = sorted({learner_id for learner_id, _ in gains})
        ids = {pair_id(learner_id, period) for learner_id, period in gains}
        ids |= {pair_id(learner_id, ALL_TIME) for learner_id in learner_ids}
        found = await self._find(sorted(ids), session)
        tags = {
            learner_id: (doc["groups"], doc["listed"])
            for learner_id in learner_ids
            if (doc := found.get(pair_id(learner_id, ALL_TIME))) is not None
        }
        tags |= await self._tags([i for i in learner_ids if i not in tags], session)
        changes: list[Change] = []
        for (learner_id, period), gain in sorted(gains.items()):
            old = found.get(pair_id(learner_id, period))
            points = (old["points"] if old else 0) + gain
            changes.append((old, entry_document(learner_id, period, points, *tags[learner_id])))
        await self._write(changes, session)

    async def retag(self, learner_ids: Iterable[str], session: Session) -> int:
        """Brings the learners' entries in line with their groups and visibility as stored
        (after a membership or privacy change); idempotent. Returns the entries changed."""
        ids = sorted(set(learner_ids))
        tags = await self._tags(ids, session)
        docs = await self._of_learners(ids, session)
        changes: list[Change] = []
        for doc in docs:
            groups, listed = tags[doc["learnerId"]]
            new = entry_document(doc["learnerId"], doc["period"], doc["points"], groups, listed)
            if not _same(doc, new):
                changes.append((doc, new))
        recorded = {doc["learnerId"] for doc in docs if doc["period"] == ALL_TIME}
        for learner_id in ids:
            if learner_id not in recorded:
                changes.append((None, entry_document(learner_id, ALL_TIME, 0, *tags[learner_id])))
        await self._write(changes, session)
        return len(changes)

    async def rebuild(self, learner_ids: Iterable[str], session: Session) -> int:
        """Recomputes the learners' entries from the points ledger, their groups and their
        visibility; idempotent. Returns the entries changed."""
        ids = sorted(set(learner_ids))
        totals: Counter[tuple[str, str]] = Counter({(i, ALL_TIME): 0 for i in ids})
        for start in range(0, len(ids), ID_CHUNK):
            query = {"learnerId": {"$in": ids[start : start + ID_CHUNK]}}
            projection = {"learnerId": 1, "amount": 1, "at": 1}
            async for doc in self._ledger.find(query, projection, session=session):
                for period in periods_of(doc["at"]):
                    totals[(doc["learnerId"], period)] += doc["amount"]
        tags = await self._tags(ids, session)
        existing = {doc["_id"]: doc for doc in await self._of_learners(ids, session)}
        changes: list[Change] = []
        for (learner_id, period), points in sorted(totals.items()):
            old = existing.pop(pair_id(learner_id, period), None)
            new = entry_document(learner_id, period, points, *tags[learner_id])
            if old is None or not _same(old, new):
                changes.append((old, new))
        for old in existing.values():  # periods the ledger has no points in
            new = entry_document(old["learnerId"], old["period"], 0, *tags[old["learnerId"]])
            if not _same(old, new):
                changes.append((old, new))
        await self._write(changes, session)
        return len(changes)

    async def leave_group(self, group_id: str, learner_ids: Sequence[str]) -> None:
        """Takes a group (being deleted) off the learners' entries; its counts go with
        `drop_boards`. Idempotent."""
        for start in range(0, len(learner_ids), ID_CHUNK):
            chunk = list(learner_ids[start : start + ID_CHUNK])
            await self._entries.update_many(
                {"learnerId": {"$in": chunk}, "groups": group_id},
                {"$pull": {"groups": group_id, "boards": group_id}, "$inc": {"v": 1}},
            )

    async def drop_boards(self, group_id: str) -> None:
        await self._counts.delete_many({"board": group_id})

    async def is_built(self) -> bool:
        return await self._maintenance.find_one({"_id": _BUILT}) is not None

    async def mark_built(self, *, now: datetime) -> None:
        await self._maintenance.update_one(
            {"_id": _BUILT}, {"$setOnInsert": {"doneAt": now}}, upsert=True
        )

    async def learner_ids(self) -> list[str]:
        """The id of every learner with points in the ledger (for a rebuild)."""
        cursor = self._ledger.aggregate([{"$group": {"_id": "$learnerId"}}], batchSize=READ_BATCH)
        return sorted([doc["_id"] async for doc in cursor])

    async def _write(self, changes: Sequence[Change], session: Session) -> None:
        if not changes:
            return
        versioned = [(new, None if old is None else old.get("v", 0)) for old, new in changes]
        await write_versioned(self._entries, versioned, session)
        ops = count_changes(changes)
        if ops:
            await self._counts.bulk_write(ops, ordered=False, session=session)

    # Reads -------------------------------------------------------------------------------------

    async def read(
        self, board: Board, *, first: int, around: int, learner_id: str | None
    ) -> BoardReading:
        """The board's size, its top `first` rows, and the learner's row with up to `around`
        rows either side (when the learner is on the board).

        The reads are not one snapshot: a write landing between them can leave the counts and
        the learner's entry out of step (the learner's cell not yet counted). The read is then
        made again; should writes keep landing, the learner's stretch is left out."""
        for _ in range(_READ_ATTEMPTS - 1):
            try:
                return await self._read(board, first=first, around=around, learner_id=learner_id)
            except LookupError:
                continue
        return await self._read(board, first=first, around=0, learner_id=None)

    async def _read(
        self, board: Board, *, first: int, around: int, learner_id: str | None
    ) -> BoardReading:
        period, scope = period_of(board), scope_of(board)
        histogram = await self.histogram(board)
        mine = await self._on_board(learner_id, period, scope)
        needed: set[int] = set()
        cut = histogram.top_block(first) if first else None
        if cut is not None:  # else the top is the whole board, or not asked for
            needed.add(cut)
        if mine is not None:
            needed.add(block_of(mine["points"]))
        histogram = await self._with_cells(histogram, board, needed)
        span = None
        while mine is not None:
            # The viewer's block is loaded; a block the span reaches into is loaded only when
            # reading it whole would read many more rows than asked for (seldom: near its edge).
            runs = histogram.runs()
            span = around_span(runs, run_holding(runs, mine["points"], mine["tie"]), around)
            ends = {runs[span[0]], runs[span[1]]}
            whole = {run.low for run in ends if run.shard is None and run.count > around}
            if not whole:
                break
            histogram = await self._with_cells(histogram, board, {block_of(b) for b in whole})
        runs = histogram.runs()
        top = await self._top(period, scope, runs, first)
        near = (
            None
            if mine is None or span is None
            else await self._near(period, scope, runs, mine, span, around)
        )
        return BoardReading(size=histogram.total, top=top, near=near)

    async def placements(self, board: Board, learner_ids: Sequence[str]) -> dict[str, Placement]:
        """The rank of each learner on the board (those not on it are left out)."""
        period, scope = period_of(board), scope_of(board)
        ids = sorted({pair_id(learner_id, period) for learner_id in learner_ids})
        found = await self._find(ids, None)
        listed = [doc for doc in found.values() if scope in doc.get("boards", ())]
        if not listed:
            return {}
        histogram = await self.histogram(board)
        blocks = {block_of(doc["points"]) for doc in listed}
        histogram = await self._with_cells(histogram, board, blocks)
        return {
            doc["learnerId"]: Placement(
                _standing(doc), rank=1 + histogram.higher(doc["points"]), size=histogram.total
            )
            for doc in listed
        }

    async def histogram(self, board: Board) -> Histogram:
        """The board's block counts (no cells loaded)."""
        period, scope = period_of(board), scope_of(board)
        ids = [_totals_id(scope, period, shard) for shard in range(SHARDS)]
        docs = self._counts.find({"_id": {"$in": ids}})
        return Histogram.merge(
            [{int(block): n for block, n in doc.get("blocks", {}).items()} async for doc in docs]
        )

    async def _with_cells(
        self, histogram: Histogram, board: Board, blocks: Iterable[int]
    ) -> Histogram:
        wanted = sorted(set(blocks) - histogram.loaded)
        if not wanted:
            return histogram
        period, scope = period_of(board), scope_of(board)
        shard_of_id = {
            _cells_id(scope, period, shard, block): shard
            for block in wanted
            for shard in range(SHARDS)
        }
        cells: Counter[Cell] = Counter()
        async for doc in find_by_ids(self._counts, sorted(shard_of_id)):
            shard = shard_of_id[doc["_id"]]
            for points, n in doc.get("cells", {}).items():
                cells[(int(points), shard)] += n
        return histogram.with_cells(cells, wanted)

    async def _top(self, period: str, scope: str, runs: Sequence[Run], first: int) -> Window:
        if first <= 0 or not runs:
            return Window()
        end = top_end(runs, first)
        query = {"period": period, "boards": scope, "key": {"$lt": run_end(runs[end])}}
        return Window(tuple(await self._range(query, limit=first)))

    async def _near(
        self,
        period: str,
        scope: str,
        runs: Sequence[Run],
        mine: Document,
        span: tuple[int, int],
        n: int,
    ) -> Window | None:
        first_run, last_run = span
        bounds = {"$gte": run_start(runs[first_run]), "$lt": run_end(runs[last_run])}
        rows = await self._range({"period": period, "boards": scope, "key": bounds})
        found = around(rows, mine["learnerId"], n)
        if found is None:  # the entry changed between the reads: not on the board now
            return None
        start, end = found
        ahead = runs[:first_run]  # runs before the rows read: all hold more points but ties
        points = rows[start].points
        return Window(
            rows=tuple(rows[start:end]),
            higher=sum(run.count for run in ahead if run.low > points)
            + sum(1 for row in rows[:start] if row.points > points),
            before=sum(run.count for run in ahead) + start,
        )

    async def _range(self, query: Document, *, limit: int = 0) -> list[Standing]:
        projection = {"learnerId": 1, "points": 1, "_id": 0}
        cursor: Any = self._entries.find(query, projection, batch_size=READ_BATCH).sort("key", 1)
        if limit:
            cursor = cursor.limit(limit)
        return [_standing(doc) async for doc in cursor]

    async def _on_board(self, learner_id: str | None, period: str, scope: str) -> Document | None:
        if learner_id is None:
            return None
        doc: Document | None = await self._entries.find_one({"_id": pair_id(learner_id, period)})
        return doc if doc is not None and scope in doc.get("boards", ()) else None

    async def _find(self, ids: Sequence[str], session: Session) -> dict[str, Document]:
        return {doc["_id"]: doc async for doc in find_by_ids(self._entries, ids, session=session)}

    async def _of_learners(self, learner_ids: Sequence[str], session: Session) -> list[Document]:
        docs: list[Document] = []
        for start in range(0, len(learner_ids), ID_CHUNK):
            query = {"learnerId": {"$in": list(learner_ids[start : start + ID_CHUNK])}}
            docs.extend([doc async for doc in self._entries.find(query, session=session)])
        return docs

    async def _tags(self, learner_ids: Sequence[str], session: Session) -> dict[str, Tags]:
        """Each learner's groups and listing, as their memberships and profile say."""
        groups: dict[str, list[str]] = {learner_id: [] for learner_id in learner_ids}
        hidden: set[str] = set()
        for start in range(0, len(learner_ids), ID_CHUNK):
            chunk = list(learner_ids[start : start + ID_CHUNK])
            members = self._members.find(
                {"learnerId": {"$in": chunk}}, {"groupId": 1, "learnerId": 1}, session=session
            )
            async for doc in members:
                groups[doc["learnerId"]].append(doc["groupId"])
            profiles = self._learners.find(
                {"_id": {"$in": chunk}, "leaderboardVisibility": Privacy.HIDDEN.value},
                {"_id": 1},
                session=session,
            )
            hidden |= {doc["_id"] async for doc in profiles}
        return {
            learner_id: (sorted(found), learner_id not in hidden)
            for learner_id, found in groups.items()
        }
