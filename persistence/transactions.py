"""Running a unit of work as one transaction, with MongoDB's retry rules.

The rules are those of the drivers' `with_transaction` (the Convenient Transactions API spec):

- an error labelled `TransientTransactionError`, whatever its class (a write conflict, a network
  error or a failover inside the transaction), aborts and runs the whole unit again;
- an error labelled `UnknownTransactionCommitResult` on commit retries the commit alone (the server
  commits a transaction at most once, so a retried commit never applies the unit twice);
- either retry stops at a deadline; between attempts the runner sleeps a jittered, growing delay,
  so writers that collided do not collide again in lock step.

A lost optimistic version check (`ConcurrentUpdate`) counts as transient: another process changed
what the unit read, and the unit must run again on fresh reads.

Without transactions (only the in-memory test database) a unit's writes are applied in order and
never retried: a retry could apply half a unit twice. The service itself refuses to start on a
server without transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pymongo.errors import PyMongoError
from pymongo.write_concern import WriteConcern

from persistence import metrics
from persistence.database import Database
from persistence.repositories import Repositories
from persistence.unit_of_work import UnitOfWork
from persistence.versioned import ConcurrentUpdate

log = logging.getLogger("cairn.transactions")

T = TypeVar("T")
Work = Callable[[UnitOfWork], Awaitable[T]]

TRANSIENT = "TransientTransactionError"
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"
_MAX_TIME_MS_EXPIRED = 50
# A commit is acknowledged once a majority of the replica set has it: no failover takes it back.
COMMIT_CONCERN = WriteConcern(w="majority")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a unit may keep retrying, and how long it waits between attempts."""

    deadline_seconds: float = 30.0
    first_delay_seconds: float = 0.002
    max_delay_seconds: float = 0.25

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: anywhere up to an exponentially growing ceiling."""
        ceiling = min(self.max_delay_seconds, self.first_delay_seconds * 2 ** min(attempt, 20))
        return rng.uniform(0, ceiling)


DEFAULT_RETRY = RetryPolicy()


def has_label(error: BaseException, label: str) -> bool:
    if isinstance(error, ConcurrentUpdate):
        return label == TRANSIENT
    if isinstance(error, PyMongoError):
        return error.has_error_label(label)
    return False


def _commit_timed_out(error: BaseException) -> bool:
    # MaxTimeMSExpired on commit: the server gave up, so retrying the commit cannot help.
    return getattr(error, "code", None) == _MAX_TIME_MS_EXPIRED


@dataclass
class TransactionRunner:
    """Runs units of work over one database; counts retries (also in `persistence.metrics`)."""

    repositories: Repositories
    policy: RetryPolicy = DEFAULT_RETRY
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    unit_retries: int = 0
    commit_retries: int = 0

    @property
    def database(self) -> Database:
        return self.repositories.database

    async def run(self, work: Work[T]) -> T:
        self.database.availability.check()  # fail at once rather than wait for the driver
        if not self.database.supports_transactions:
            unit = UnitOfWork(self.repositories, session=None)
            result = await work(unit)
            await unit.flush()
            unit.committed()
            return result
        deadline = self.clock() + self.policy.deadline_seconds
        attempt = 0
        while True:
            attempt += 1
            async with await self.database.client.start_session() as session:
                session.start_transaction(write_concern=COMMIT_CONCERN)
                try:
                    unit = UnitOfWork(self.repositories, session=session)
                    result = await work(unit)
                    await unit.flush()
                except BaseException as error:
                    if isinstance(error, PyMongoError):
                        metrics.count_database_error(error)
                    if session.in_transaction:
                        # A failed abort must not hide why the unit failed; the server drops
                        # the transaction anyway when its session goes.
                        with contextlib.suppress(PyMongoError):
                            await session.abort_transaction()
                    if not has_label(error, TRANSIENT) or self.clock() >= deadline:
                        raise
                    log.debug("unit of work retried (attempt %d): %r", attempt, error)
                    self.unit_retries += 1
                    metrics.count_retry("unit")
                else:
                    if await self._commit(session, deadline):
                        unit.committed()
                        return result
            await self.sleep(self.policy.delay(attempt, self.rng))

    async def _commit(self, session: Any, deadline: float) -> bool:
        """Commits; True once committed, False when the whole unit must run again."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await session.commit_transaction()
                return True
            except PyMongoError as error:
                metrics.count_database_error(error)
                retry_commit = has_label(error, UNKNOWN_COMMIT) and not _commit_timed_out(error)
                if retry_commit and self.clock() < deadline:
                    log.debug("commit retried (attempt %d): %r", attempt, error)
                    self.commit_retries += 1
                    metrics.count_retry("commit")
                    await self.sleep(self.policy.delay(attempt, self.rng))
                    continue
                if has_label(error, TRANSIENT) and self.clock() < deadline:
                    self.unit_retries += 1
                    metrics.count_retry("unit")
                    return False
                raise
