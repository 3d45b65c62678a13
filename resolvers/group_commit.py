"""Group commit: writes for the same learners never race each other inside one process.

Each job names the learners it writes for. A job whose learners are free starts at once; jobs
that arrive while one of their learners is being written wait, and when it is done every waiting
job that can go is merged into one unit of work. Fifty concurrent events for one learner so cost
two or three transactions rather than fifty that conflict and retry; retries are left for writers
in other processes.

A job that must wait also holds back later jobs for any of its learners, so each learner's jobs
start in arrival order and none starves. If a merged unit fails, its jobs run again one by one,
so one job's fault reaches only that job's caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Run = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


@dataclass(eq=False)
class _Job(Generic[T, R]):
    keys: frozenset[str]
    items: Sequence[T]
    done: asyncio.Future[Sequence[R]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[T, R]):
    """Runs `run(items)` over merged jobs; `run` returns one result per item, in order."""

    def __init__(self, run: Run[T, R], *, max_items: int = 2_000) -> None:
        self._run = run
        self._max_items = max_items
        self._waiting: list[_Job[T, R]] = []
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.units = 0  # units of work started, for tests and metrics

    async def submit(self, keys: frozenset[str], items: Sequence[T]) -> Sequence[R]:
        job: _Job[T, R] = _Job(keys, items)
        self._waiting.append(job)
        self._dispatch()
        return await job.done

    def _dispatch(self) -> None:
        taken: list[_Job[T, R]] = []
        held: set[str] = set(self._busy)  # learners a waiting job may not write for now
        size = 0
        for job in self._waiting:
            too_big = bool(taken) and size + len(job.items) > self._max_items
            if too_big or not job.keys.isdisjoint(held):
                held |= job.keys
                continue
            taken.append(job)
            size += len(job.items)
        if not taken:
            return
        for job in taken:
            self._busy |= job.keys
        self._waiting = [job for job in self._waiting if job not in taken]
        self.units += 1
        task = asyncio.create_task(self._execute(taken))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, jobs: list[_Job[T, R]]) -> None:
        try:
            await self._settle(jobs)
        finally:
            for job in jobs:
                self._busy -= job.keys
            self._dispatch()

    async def _settle(self, jobs: list[_Job[T, R]]) -> None:
        items = [item for job in jobs for item in job.items]
        try:
            results = await self._run(items)
        except BaseException as error:
            if len(jobs) == 1 or isinstance(error, asyncio.CancelledError):
                for job in jobs:
                    _fail(job, error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                return
            for job in jobs:  # one job's fault must not fail the others
                self.units += 1
                await self._settle([job])
            return
        start = 0
        for job in jobs:
            end = start + len(job.items)
            if not job.done.done():
                job.done.set_result(results[start:end])
            start = end


def _fail(job: _Job[T, R], error: BaseException) -> None:
    if not job.done.done():
        job.done.set_exception(error)
