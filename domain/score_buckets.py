"""A board's points histogram: how many learners it holds where, so that a rank is a sum of a few
counts rather than a count of everyone above, and a read of the top n or of the n around a
learner can be cut to about n rows.

Board order is most points first, a tie in the order of a hash of the learner id (`tie_of`).
The hash's top bits pick one of `SHARDS` shards, so a tie splits into `SHARDS` consecutive runs,
its *cells*: (points, shard) names the learners with those points whose hash falls in that
shard's slice, and every cell is one contiguous stretch of the board.

Counts are kept at two levels. Blocks: the learners per block of points (10 points wide below
1,000, 100 wide to 10,000, then two significant digits: `block_of`), a few hundred numbers for
any board. Cells: the learners per cell, kept per block and read only for the few blocks a read
needs (the one holding the viewer, the ones where a cut falls). `runs` lists the board in order
as cells where they are loaded and whole blocks elsewhere; the cuts are found on that list.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

SHARDS = 8
_SHARD_BITS = 3  # 2 ** _SHARD_BITS == SHARDS
TIE_BITS = 32


def tie_of(learner_id: str) -> int:
    """Where a learner stands within a tie: a 32-bit hash of their id (meaningless, fixed)."""
    return int.from_bytes(hashlib.blake2b(learner_id.encode(), digest_size=4).digest(), "big")


def shard_of(tie: int) -> int:
    return tie >> (TIE_BITS - _SHARD_BITS)


def shard_start(shard: int) -> int:
    """The first tie value of a shard's slice."""
    return shard << (TIE_BITS - _SHARD_BITS)


def block_of(points: int) -> int:
    """The first value of the block of points holding `points` (0 or more)."""
    width = _width(points)
    return points - points % width


def block_end(block: int) -> int:
    """The first value after the block that starts at `block`."""
    return block + _width(block)


def _width(points: int) -> int:
    return int(10 ** (max(len(str(max(points, 0))), 3) - 2))


Cell = tuple[int, int]  # (points, shard)


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of a board the counts describe: one cell (`shard` set), or a whole block
    whose cells are not loaded (learners with `low`..`high` points, every shard)."""

    high: int
    low: int
    shard: int | None
    count: int


class BlockNotLoaded(LookupError):
    """A question about a block whose cells were not read."""

    def __init__(self, block: int) -> None:
        super().__init__(f"the cells of block {block} are not loaded")
        self.block = block


@dataclass(frozen=True)
class Histogram:
    """A board's counts: every block's, and the cells of the blocks in `loaded`."""

    blocks: Mapping[int, int] = field(default_factory=dict)
    cells: Mapping[Cell, int] = field(default_factory=dict)
    loaded: frozenset[int] = frozenset()

    @classmethod
    def merge(
        cls,
        blocks: Iterable[Mapping[int, int]],
        cells: Iterable[Mapping[Cell, int]] = (),
        loaded: Iterable[int] = (),
    ) -> Histogram:
        """Sums partial counts (a board's are kept in shards); drops what is 0."""
        block_total: Counter[int] = Counter()
        for part in blocks:
            block_total.update(part)
        cell_total: Counter[Cell] = Counter()
        for cell_part in cells:
            cell_total.update(cell_part)
        return cls(
            {block: n for block, n in block_total.items() if n > 0},
            {cell: n for cell, n in cell_total.items() if n > 0},
            frozenset(loaded),
        )

    def with_cells(self, cells: Mapping[Cell, int], blocks: Iterable[int]) -> Histogram:
        return Histogram(
            self.blocks,
            {**self.cells, **{cell: n for cell, n in cells.items() if n > 0}},
            self.loaded | frozenset(blocks),
        )

    @property
    def total(self) -> int:
        return sum(self.blocks.values())

    def runs(self) -> list[Run]:
        """The board in order: the cells of loaded blocks, other blocks whole."""
        runs: list[Run] = []
        by_block: dict[int, list[tuple[Cell, int]]] = {}
        for cell, n in self.cells.items():
            by_block.setdefault(block_of(cell[0]), []).append((cell, n))
        for block in sorted(self.blocks, reverse=True):
            if block in self.loaded:
                for (points, shard), n in sorted(
                    by_block.get(block, ()), key=lambda item: (-item[0][0], item[0][1])
                ):
                    runs.append(Run(points, points, shard, n))
            else:
                runs.append(Run(block_end(block) - 1, block, None, self.blocks[block]))
        return runs

    def higher(self, points: int) -> int:
        """How many learners have more than `points` (its block must be loaded)."""
        block = block_of(points)
        if block not in self.loaded:
            raise BlockNotLoaded(block)
        above = sum(n for b, n in self.blocks.items() if b > block)
        end = block_end(block)
        return above + sum(n for (p, _), n in self.cells.items() if points < p < end)

    def top_block(self, n: int) -> int | None:
        """The block where the top `n` end (None: the board holds fewer)."""
        seen = 0
        for block in sorted(self.blocks, reverse=True):
            seen += self.blocks[block]
            if seen >= n:
                return block
        return None


def top_end(runs: Sequence[Run], n: int) -> int:
    """The index of the run where the top `n` end (the last run when the board holds fewer)."""
    seen = 0
    for index, run in enumerate(runs):
        seen += run.count
        if seen >= n:
            return index
    return len(runs) - 1


def run_holding(runs: Sequence[Run], points: int, tie: int) -> int:
    """The index of the run holding a learner with `points` and tie value `tie`."""
    shard = shard_of(tie)
    for index, run in enumerate(runs):
        if run.low <= points <= run.high and run.shard in (None, shard):
            return index
    raise LookupError(f"no run holds {points} points")


def around_span(runs: Sequence[Run], mine: int, n: int) -> tuple[int, int]:
    """The first and last runs to read for the `n` learners either side of one in run `mine`
    (counting none of that run's other learners, whose side is unknown)."""
    start, seen = mine, 0
    while start > 0 and seen < n:
        start -= 1
        seen += runs[start].count
    end, seen = mine, 0
    while end < len(runs) - 1 and seen < n:
        end += 1
        seen += runs[end].count
    return start, end
