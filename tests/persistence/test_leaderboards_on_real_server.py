"""Leaderboards against a real server: entries kept in the points' own transaction, re-tagged on
membership and privacy changes, rebuilt from the ledger, and read without walking the board."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from domain.events import EventType
from domain.groups import GroupChanges
from domain.leaderboards import (
    Board,
    Period,
    Privacy,
    Standing,
    Window,
    place,
    week_starting,
)
from domain.learners import LearnerChanges
from domain.points import PointsEntry, PointsSource
from domain.score_buckets import Histogram
from persistence.indexes import INDEXES, LEADERBOARD, LEADERBOARD_COUNTS, POINTS
from persistence.leaderboards import BoardReading
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.groups import add_members, delete_group, remove_members, upsert_group
from resolvers.learners import upsert_learner
from resolvers.maintenance import backfill_leaderboards
from tests.factories import NOW, admin, content_item, draft, skill
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

WEEK = Board(Period.WEEK, week_starting(NOW))
ALL = Board(Period.ALL_TIME)


@pytest.fixture(autouse=True)
async def catalog(real: RealServer) -> None:
    await real.repositories.skills.upsert_many([skill()])
    await real.repositories.content.upsert_many([content_item(id=f"item-{n}") for n in range(6)])


def runner(real: RealServer) -> TransactionRunner:
    return TransactionRunner(real.repositories)


async def seed_points(real: RealServer, points: dict[str, int], *, at_offset: int = 0) -> None:
    """Ledger entries straight into the points' unit of work, one unit for all learners."""

    async def work(unit: UnitOfWork) -> None:
        unit.add_points(
            PointsEntry(learner, amount, "seed", PointsSource.MANUAL, "test", NOW)
            for learner, amount in points.items()
        )

    await runner(real).run(work)


async def read(
    real: RealServer, board: Board, learner_id: str | None, **sizes: int
) -> BoardReading:
    options = {"first": 10, "around": 2} | sizes
    return await real.repositories.leaderboards.read(board, learner_id=learner_id, **options)


def names(window: Window | None) -> list[tuple[str, int, int]]:
    if window is None:
        return []
    return [(p.standing.learner_id, p.standing.points, p.rank) for p in place(window)]


async def counted(real: RealServer, board: Board) -> int:
    return (await real.repositories.leaderboards.histogram(board)).total


@pytest.mark.parametrize("collection", [LEADERBOARD, LEADERBOARD_COUNTS])
async def test_the_leaderboard_indexes_exist(real: RealServer, collection: str) -> None:
    info = await real.database[collection].index_information()

    for model in INDEXES[collection]:
        assert model.document["name"] in info


async def test_points_recorded_with_events_are_on_the_boards_of_their_period(
    real: RealServer,
) -> None:
    late = NOW - timedelta(days=10)
    await real.recorder.record_many(
        [
            draft(event_id="s", type=EventType.STARTED, content_id="item-0", score=None),
            draft(event_id="late", type=EventType.STARTED, content_id="item-1", occurred_at=late),
            draft(learner_id="bob", event_id="b", type=EventType.COMPLETED, content_id="item-0"),
        ],
        received_at=NOW,
    )
    entries = [
        e for learner in ("ada", "bob") for e in await real.repositories.points.recent(learner, 100)
    ]

    def ledger(week: Board | None = None) -> dict[str, int]:
        totals: dict[str, int] = {}
        for e in entries:
            if week is None or week_starting(e.at) == week.week:
                totals[e.learner_id] = totals.get(e.learner_id, 0) + e.amount
        return totals

    that_week = Board(Period.WEEK, week_starting(late))
    for board in (ALL, WEEK, that_week):
        reading = await read(real, board, "ada")
        on_board = {p.standing.learner_id: p.standing.points for p in place(reading.top)}
        assert on_board == ledger(None if board is ALL else board)
        assert reading.size == len(on_board)
    assert ledger(that_week) == {"ada": 15}  # started, and the first event's achievement


async def test_a_unit_that_fails_leaves_no_entry_and_no_count(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_points(real, {"ada": 10})
    before = await real.database[LEADERBOARD_COUNTS].find({}, {"_id": 0}).to_list(None)
    entries = real.repositories.leaderboards

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("process died")

    original = entries._write

    async def write_then_crash(*args: object, **kwargs: object) -> None:
        await original(*args, **kwargs)  # type: ignore[arg-type]
        await crash()

    monkeypatch.setattr(entries, "_write", write_then_crash)

    with pytest.raises(RuntimeError):
        await seed_points(real, {"ada": 5, "bob": 7})

    monkeypatch.undo()
    assert names((await read(real, ALL, "ada")).top) == [("ada", 10, 1)]
    after = await real.database[LEADERBOARD_COUNTS].find({}, {"_id": 0}).to_list(None)
    assert after == before
    assert await real.database[POINTS].count_documents({"learnerId": "bob"}) == 0


async def test_concurrent_units_for_different_learners_all_count(real: RealServer) -> None:
    learners = [f"l{n}" for n in range(12)]

    await asyncio.gather(
        *(seed_points(real, {learner: 5 * (n + 1)}) for n, learner in enumerate(learners))
    )

    reading = await read(real, ALL, "l0", first=100)
    assert [s for s, _, _ in names(reading.top)] == list(reversed(learners))
    assert reading.size == await counted(real, ALL) == 12


async def make_class(real: RealServer, members: list[str], group: str = "class-a") -> None:
    access = admin(real.repositories)
    await upsert_group(access, real.repositories, GroupChanges(group, name="Class A"), now=NOW)
    await add_members(access, real.repositories, group, members, now=NOW, runner=runner(real))


async def test_members_join_and_leave_the_groups_boards(real: RealServer) -> None:
    await seed_points(real, {"ada": 30, "bob": 20, "cy": 10})
    class_a = Board(Period.ALL_TIME, None, "class-a")

    await make_class(real, ["ada", "cy"])
    assert names((await read(real, class_a, "cy")).top) == [("ada", 30, 1), ("cy", 10, 2)]
    assert names((await read(real, class_a, "cy")).near) == [("ada", 30, 1), ("cy", 10, 2)]
    assert (await read(real, class_a, "bob")).near is None  # not a member: not on it

    await seed_points(real, {"cy": 25})  # points after joining count there too
    assert names((await read(real, class_a, None)).top) == [("cy", 35, 1), ("ada", 30, 2)]

    await remove_members(
        admin(real.repositories), real.repositories, "class-a", ["ada"], runner=runner(real)
    )
    assert names((await read(real, class_a, None)).top) == [("cy", 35, 1)]
    assert await counted(real, class_a) == 1
    assert (await read(real, ALL, None)).size == 3  # the overall board is untouched


async def test_a_new_week_entry_copies_the_learners_groups(real: RealServer) -> None:
    await make_class(real, ["ada"])  # before any points: a 0-point all-time record

    await seed_points(real, {"ada": 15})

    reading = await read(real, Board(Period.WEEK, WEEK.week, "class-a"), "ada")
    assert names(reading.near) == [("ada", 15, 1)]


async def test_re_adding_members_changes_nothing_more(real: RealServer) -> None:
    await seed_points(real, {"ada": 30})
    await make_class(real, ["ada"])
    counts = await real.database[LEADERBOARD_COUNTS].find().to_list(None)

    changed = await real.repositories.leaderboards.retag(["ada"], None)

    assert changed == 0
    assert await real.database[LEADERBOARD_COUNTS].find().to_list(None) == counts


async def hide(real: RealServer, learner_id: str, visibility: Privacy) -> None:
    await upsert_learner(
        admin(real.repositories),
        real.repositories,
        LearnerChanges(learner_id, leaderboard_visibility=visibility),
        runner=runner(real),
    )


async def test_a_hidden_learner_is_on_no_board_and_counts_in_no_rank(real: RealServer) -> None:
    await seed_points(real, {"ada": 30, "bob": 20, "cy": 10})
    await make_class(real, ["ada", "bob", "cy"])

    await hide(real, "ada", Privacy.HIDDEN)

    for board in (ALL, WEEK, Board(Period.ALL_TIME, None, "class-a")):
        reading = await read(real, board, "cy")
        assert names(reading.top) == [("bob", 20, 1), ("cy", 10, 2)]
        assert names(reading.near) == [("bob", 20, 1), ("cy", 10, 2)]
        assert reading.size == 2
        assert (await read(real, board, "ada")).near is None
    placements = await real.repositories.leaderboards.placements(ALL, ["ada", "cy"])
    assert {learner: p.rank for learner, p in placements.items()} == {"cy": 2}

    await seed_points(real, {"ada": 100})  # earning while hidden keeps them hidden
    assert (await read(real, ALL, None)).size == 2

    await hide(real, "ada", Privacy.ANONYMOUS)  # back: with every point earned meanwhile
    assert names((await read(real, ALL, "cy")).top)[0] == ("ada", 130, 1)


async def test_deleting_a_group_takes_its_boards_away(real: RealServer) -> None:
    await seed_points(real, {"ada": 30, "bob": 20})
    await make_class(real, ["ada", "bob"])

    assert await delete_group(admin(real.repositories), real.repositories, "class-a")

    class_a = Board(Period.ALL_TIME, None, "class-a")
    assert (await read(real, class_a, "ada")).top == Window()
    assert await real.database[LEADERBOARD_COUNTS].count_documents({"board": "class-a"}) == 0
    await make_class(real, ["bob"])  # the same id again: a fresh board
    assert names((await read(real, class_a, "ada")).top) == [("bob", 20, 1)]


async def stored(real: RealServer, name: str) -> list[dict[str, object]]:
    """The documents of a collection, versions and counts of 0 left out."""
    documents = await real.database[name].find({}, {"v": 0}).sort("_id").to_list(None)
    for doc in documents:
        for counts in ("blocks", "cells"):
            if counts in doc:
                doc[counts] = {k: n for k, n in doc[counts].items() if n}
    return list(documents)


async def test_the_backfill_builds_entries_from_the_ledger_once(real: RealServer) -> None:
    await seed_points(real, {"ada": 30, "bob": 20})
    await seed_points(real, {"ada": 5})
    await make_class(real, ["bob"])
    kept = {name: await stored(real, name) for name in (LEADERBOARD, LEADERBOARD_COUNTS)}
    for name in kept:
        await real.database[name].delete_many({})

    written = await backfill_leaderboards(real.repositories, runner(real), now=NOW)

    assert written == 4  # ada and bob, this week and all time
    for name, documents in kept.items():
        assert await stored(real, name) == documents, name
    assert await backfill_leaderboards(real.repositories, runner(real), now=NOW) == 0
    assert await real.repositories.leaderboards.rebuild(["ada", "bob"], None) == 0


async def test_a_board_read_matches_the_ranking_of_the_whole_board(real: RealServer) -> None:
    """A few hundred learners on few distinct points (large ties), every read checked against
    the board computed whole: tops of several sizes, every neighbourhood size, ranks."""
    rng = random.Random(3)
    points = {f"l{n:03d}": 5 * rng.randint(1, 12) for n in range(300)}
    points |= {f"k{n}": 1000 + 7 * n for n in range(30)}  # a sparse top, in wider blocks
    await seed_points(real, points)
    board = sorted((Standing(i, p) for i, p in points.items()), key=lambda s: s.order)
    whole = place(Window(tuple(board)))
    leaderboards = real.repositories.leaderboards

    for first in (1, 10, 31, 100):
        reading = await read(real, ALL, None, first=first)
        assert place(reading.top) == whole[:first]
    for index in [*rng.sample(range(len(board)), 25), 0, len(board) - 1]:
        learner = board[index].learner_id
        n = rng.choice([0, 1, 2, 10])
        reading = await read(real, ALL, learner, first=1, around=n)
        assert reading.near is not None
        assert place(reading.near) == whole[max(0, index - n) : index + n + 1]
        placed = (await leaderboards.placements(ALL, [learner]))[learner]
        assert (placed.rank, placed.size) == (whole[index].rank, len(board))


async def test_a_read_of_a_large_board_reads_about_the_rows_asked_for(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = {f"l{n:04d}": 5 * (1 + n % 40) for n in range(2_000)}  # ties of 50
    await seed_points(real, points)
    middle = sorted((Standing(i, p) for i, p in points.items()), key=lambda s: s.order)[1_000]
    leaderboards = real.repositories.leaderboards
    ranges: list[dict[str, object]] = []
    original = leaderboards._range

    async def recording(query: dict[str, object], *, limit: int = 0) -> list[Standing]:
        ranges.append(query)
        return await original(query, limit=limit)

    monkeypatch.setattr(leaderboards, "_range", recording)
    real.commands.reset()

    reading = await read(real, ALL, middle.learner_id)

    assert reading.near is not None and len(reading.near.rows) == 5
    assert len(reading.top.rows) == 10
    # The block totals, the viewer's entry, the cells of two blocks, the top, the stretch.
    assert real.commands.count == 5
    in_ranges = [await real.database[LEADERBOARD].count_documents(q) for q in ranges]
    assert sum(in_ranges) < 60  # of 2,000: the rows asked for and the rest of their cells
    plan = await real.database[LEADERBOARD].find(ranges[-1]).explain()
    assert "IXSCAN" in str(plan)


async def test_a_read_meeting_counts_out_of_step_with_the_entry_reads_again(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_points(real, {"ada": 30, "bob": 20})
    leaderboards = real.repositories.leaderboards
    original = leaderboards.histogram
    calls = 0

    async def stale_once(board: Board) -> Histogram:
        nonlocal calls
        calls += 1
        found = await original(board)
        return Histogram() if calls == 1 else found  # as if read before ada's first points

    monkeypatch.setattr(leaderboards, "histogram", stale_once)

    reading = await read(real, ALL, "ada")

    assert names(reading.near) == [("ada", 30, 1), ("bob", 20, 2)]
    assert calls == 2


async def test_a_read_that_keeps_meeting_writes_leaves_the_learners_stretch_out(
    real: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_points(real, {"ada": 30})

    async def always_stale(board: Board) -> Histogram:
        return Histogram()

    monkeypatch.setattr(real.repositories.leaderboards, "histogram", always_stale)

    reading = await read(real, ALL, "ada")

    assert (reading.size, reading.near) == (0, None)
