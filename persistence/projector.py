"""The projector: applies each pending aggregate change exactly once, after its write commits.

A write of learners' state does not touch any group's or the system's counters: it inserts what
it changes in them as a document of its own (`aggregate_changes`), in its transaction, so it
commits or rolls back with the write, and a unit retried after a conflict inserts it once. Two
writers for different learners of one group so never update the same document, and never make
each other retry.

After a commit, the writer pokes this process's projector, which applies pending changes in
batches: one transaction adds a batch's counters, summed, to the aggregates and deletes the
batch's change documents. Deleting is the guard: were two projectors (two processes) to take the
same change, the second's delete conflicts or finds it gone, and its whole transaction runs again
on fresh reads, so a change is applied once. A process that dies leaves its changes pending:
the next projector to run (any process's, at start-up, on its periodic sweep, or before a
dashboard is read) applies them.

Within a process one drain runs at a time, so the projector never conflicts with itself.

Why this and not the alternatives: counters sharded by (group, item, learner shard) and updated
in the write's transaction still make two learners of one shard conflict and retry, and cost a
dashboard shards x items documents to read; per-learner contribution documents summed by a
query at read time cost a read per member, which grows with the group (on SecantusDB, whose
planner fetches every matching document before it sorts or limits, a group of 500 then costs
about ten times one of 50). A change document is written by its unit alone, and a batch of
them becomes one update of each counter it touches. The price: aggregates lag their writes by
the projector's delay (milliseconds), which a dashboard read closes by applying what is pending
first (`settle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from domain.aggregates import AggregateChange
from persistence.repositories import Repositories
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork

log = logging.getLogger("cairn.projector")

BATCH = 200  # change documents a transaction applies, at most
SWEEP_SECONDS = 30.0  # how often a running service looks for changes left by others
SETTLE_BATCHES = 50  # what a read applies before it answers, at most (10,000 changes)


class Projector:
    def __init__(
        self,
        repositories: Repositories,
        runner: TransactionRunner,
        *,
        batch: int = BATCH,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self._store = repositories.dashboards
        # A runner of its own: its retries (projectors of several processes meeting on the
        # same counters) are not the writers'.
        self._runner = TransactionRunner(repositories, runner.policy)
        self.owner = uuid.uuid4().hex  # marks the changes this process's writers stage
        self._batch = batch
        self._sweep_seconds = sweep_seconds
        self._lock = asyncio.Lock()
        self._poked = False
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.applied = 0  # change documents applied by this process, for tests and benchmarks

    @property
    def retries(self) -> int:
        """Transactions of this projector that ran again (another process met it)."""
        return self._runner.unit_retries + self._runner.commit_retries

    def poke(self) -> None:
        """Something was committed: apply it soon, in the background."""
        self._poked = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._poked:
            self._poked = False
            try:
                await self.drain(own=True)
            except Exception:
                # Left pending: the next poke, the sweep or a dashboard read applies it.
                log.exception("applying aggregate changes failed; they stay pending")
                return

    async def drain(self, *, max_batches: int | None = None, own: bool = False) -> int:
        """Applies pending changes until none are left (or `max_batches` were applied): only
        those of this process's writers with `own` (other processes apply theirs); returns how
        many change documents this call applied."""
        applied = 0
        batches = 0
        owner = self.owner if own else None

        async def apply_batch(unit: UnitOfWork) -> int:
            return await self._apply_batch(unit, owner)

        async with self._lock:
            while max_batches is None or batches < max_batches:
                done = await self._runner.run(apply_batch)
                applied += done
                batches += 1
                if done < self._batch:
                    break
        self.applied += applied
        return applied

    async def settle(self) -> None:
        """Applies what is pending now (bounded), so a read reflects every committed write."""
        await self.drain(max_batches=SETTLE_BATCHES)

    async def _apply_batch(self, unit: UnitOfWork, owner: str | None) -> int:
        pending = await self._store.pending(self._batch, unit.session, owner=owner)
        if not pending:
            return 0
        merged = AggregateChange()
        for _, change in pending:
            merged.merge(change)
        await self._store.apply([key for key, _ in pending], merged, unit.session)
        return len(pending)

    async def start(self) -> None:
        """Applies what an earlier run left pending, then sweeps now and then."""
        await self.drain()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                await self.drain()
            except Exception:
                log.exception("sweeping aggregate changes failed; trying again later")

    async def stop(self, *, grace_seconds: float = 5.0) -> None:
        """Stops sweeping, and lets a drain under way finish (within `grace_seconds`, else it
        is cancelled: its transaction aborts, and what it had taken stays pending)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), grace_seconds)
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._sweeper = self._task = None
