"""A board's points histogram: blocks, cells, and where it cuts a board for a read."""

from __future__ import annotations

import random

import pytest

from domain.leaderboards import Standing
from domain.score_buckets import (
    SHARDS,
    BlockNotLoaded,
    Histogram,
    Run,
    around_span,
    block_end,
    block_of,
    run_holding,
    shard_of,
    shard_start,
    tie_of,
    top_end,
)


@pytest.mark.parametrize(
    ("points", "block", "end"),
    [
        (0, 0, 10),
        (7, 0, 10),
        (999, 990, 1000),
        (1000, 1000, 1100),
        (9999, 9900, 10000),
        (10_000, 10_000, 11_000),
        (123_456, 120_000, 130_000),
    ],
)
def test_blocks_are_10_wide_below_1000_then_two_significant_digits(
    points: int, block: int, end: int
) -> None:
    assert block_of(points) == block
    assert block_end(block) == end


def test_a_tie_value_is_a_fixed_32_bit_hash_whose_top_bits_are_the_shard() -> None:
    tie = tie_of("ada")

    assert tie == tie_of("ada") and 0 <= tie < 2**32
    assert {shard_of(tie_of(f"learner-{n}")) for n in range(200)} == set(range(SHARDS))
    assert all(shard_start(shard_of(t)) <= t for t in (tie_of("a"), tie_of("b")))
    assert shard_of(shard_start(3)) == 3 and shard_of(shard_start(4) - 1) == 3


def test_partial_counts_add_up_and_zeros_drop_out() -> None:
    merged = Histogram.merge([{0: 2, 10: 1}, {10: -1, 20: 3}], [{(5, 0): 2}, {(5, 0): -2}])

    assert merged.blocks == {0: 2, 20: 3}
    assert merged.cells == {}
    assert merged.total == 5


def test_the_runs_are_cells_where_loaded_and_whole_blocks_elsewhere() -> None:
    histogram = Histogram(
        blocks={20: 3, 10: 4, 0: 1},
        cells={(15, 2): 1, (15, 0): 2, (12, 5): 1},
        loaded=frozenset({10}),
    )

    assert histogram.runs() == [
        Run(29, 20, None, 3),
        Run(15, 15, 0, 2),
        Run(15, 15, 2, 1),
        Run(12, 12, 5, 1),
        Run(9, 0, None, 1),
    ]


def test_higher_counts_the_blocks_above_and_the_cells_above_in_the_block() -> None:
    histogram = Histogram(
        blocks={20: 3, 10: 4}, cells={(15, 2): 1, (15, 0): 2, (12, 5): 1}, loaded=frozenset({10})
    )

    assert histogram.higher(15) == 3
    assert histogram.higher(12) == 6
    assert histogram.higher(10) == 7
    with pytest.raises(BlockNotLoaded):
        histogram.higher(25)


def test_the_top_ends_in_the_block_that_reaches_n() -> None:
    histogram = Histogram(blocks={20: 3, 10: 4, 0: 1})

    assert histogram.top_block(1) == 20
    assert histogram.top_block(3) == 20
    assert histogram.top_block(4) == 10
    assert histogram.top_block(9) is None  # the board holds 8


def test_top_end_is_the_run_where_the_count_reaches_n() -> None:
    runs = [Run(9, 9, 0, 2), Run(9, 9, 3, 2), Run(8, 8, 1, 5)]

    assert top_end(runs, 1) == 0
    assert top_end(runs, 3) == 1
    assert top_end(runs, 4) == 1
    assert top_end(runs, 100) == 2


RUNS = [Run(9, 9, 0, 2), Run(9, 9, 3, 2), Run(8, 8, 1, 5), Run(7, 0, None, 9)]


@pytest.mark.parametrize(
    ("mine", "n", "span"),
    [
        (0, 2, (0, 1)),  # the first run: nothing above it
        (3, 2, (2, 3)),  # the last run: nothing below it
        (1, 0, (1, 1)),
        (1, 2, (0, 2)),  # two above (one run), two below (in a run of five)
        (2, 3, (0, 3)),
    ],
)
def test_the_span_around_a_run_stops_at_the_edges(mine: int, n: int, span: tuple[int, int]) -> None:
    assert around_span(RUNS, mine, n) == span


def test_the_run_holding_a_learner_is_their_cell_or_their_whole_block() -> None:
    assert run_holding(RUNS, 9, shard_start(3)) == 1
    assert run_holding(RUNS, 5, 0) == 3
    with pytest.raises(LookupError):
        run_holding(RUNS, 100, 0)


def board_histogram(rows: list[Standing], loaded: set[int] | None = None) -> Histogram:
    blocks: dict[int, int] = {}
    cells: dict[tuple[int, int], int] = {}
    for row in rows:
        blocks[block_of(row.points)] = blocks.get(block_of(row.points), 0) + 1
        cell = (row.points, shard_of(tie_of(row.learner_id)))
        cells[cell] = cells.get(cell, 0) + 1
    wanted = set(blocks) if loaded is None else loaded
    return Histogram.merge(
        [blocks], [{c: n for c, n in cells.items() if block_of(c[0]) in wanted}], wanted
    )


def test_runs_follow_board_order_and_higher_is_the_rank_less_one() -> None:
    rng = random.Random(7)
    rows = [Standing(f"l{n}", 5 * rng.randint(1, 300)) for n in range(2_000)]
    ordered = sorted(rows, key=lambda s: s.order)
    histogram = board_histogram(rows)

    runs = histogram.runs()

    position = 0
    for run in runs:
        chunk = ordered[position : position + run.count]
        assert {row.points for row in chunk} == {run.high}
        assert {shard_of(tie_of(row.learner_id)) for row in chunk} == {run.shard}
        position += run.count
    assert position == len(rows)
    for row in rng.sample(rows, 50):
        assert histogram.higher(row.points) == sum(1 for r in rows if r.points > row.points)
