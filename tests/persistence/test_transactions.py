"""The transaction runner's retry rules, driven by a fake session that fails on cue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, OperationFailure, PyMongoError

from persistence.database import Database
from persistence.repositories import Repositories
from persistence.transactions import (
    TRANSIENT,
    UNKNOWN_COMMIT,
    RetryPolicy,
    TransactionRunner,
)
from persistence.unit_of_work import UnitOfWork
from persistence.versioned import ConcurrentUpdate
from tests.fakes import fake_repositories


def labelled(error: PyMongoError, label: str) -> PyMongoError:
    error._add_error_label(label)
    return error


class FakeSession:
    """Counts what the runner does with a transaction; commits fail while `commit_errors` last."""

    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.in_transaction = False

    async def __aenter__(self) -> FakeSession:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.in_transaction = False

    def start_transaction(self, **options: Any) -> None:
        self.client.started += 1
        self.in_transaction = True

    async def abort_transaction(self) -> None:
        self.client.aborted += 1
        self.in_transaction = False

    async def commit_transaction(self) -> None:
        self.client.commit_attempts += 1
        if self.client.commit_errors:
            raise self.client.commit_errors.pop(0)
        self.client.committed += 1
        self.in_transaction = False


class FakeClient:
    def __init__(self, commit_errors: list[PyMongoError] | None = None) -> None:
        self.commit_errors = commit_errors or []
        self.started = self.aborted = self.commit_attempts = self.committed = 0

    async def start_session(self) -> FakeSession:
        return FakeSession(self)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def runner_over(client: FakeClient, clock: FakeClock, deadline: float = 5.0) -> TransactionRunner:
    no_database: Any = _NoDatabase()  # the units here write nothing
    database = Database(
        client=client, db=no_database, supports_transactions=True, supports_change_streams=True
    )
    return TransactionRunner(
        Repositories.over(database),
        RetryPolicy(deadline_seconds=deadline, first_delay_seconds=0.01, max_delay_seconds=0.1),
        clock=clock,
        sleep=clock.sleep,
    )


class _NoDatabase:
    def __getitem__(self, name: str) -> None:
        return None


def failing(
    errors: list[BaseException],
) -> tuple[Callable[[UnitOfWork], Awaitable[str]], list[int]]:
    """A unit that raises the given errors on its first runs, then returns "done"."""
    runs = [0]

    async def work(unit: UnitOfWork) -> str:
        runs[0] += 1
        if errors:
            raise errors.pop(0)
        return "done"

    return work, runs


async def test_a_network_error_inside_the_transaction_reruns_the_whole_unit() -> None:
    client, clock = FakeClient(), FakeClock()
    work, runs = failing([labelled(AutoReconnect("connection reset"), TRANSIENT)])

    assert await runner_over(client, clock).run(work) == "done"

    assert runs == [2]
    assert (client.started, client.aborted, client.committed) == (2, 1, 1)


async def test_a_lost_version_check_reruns_the_whole_unit() -> None:
    client, clock = FakeClient(), FakeClock()
    work, runs = failing([ConcurrentUpdate("learner_totals"), ConcurrentUpdate("learner_totals")])
    runner = runner_over(client, clock)

    assert await runner.run(work) == "done"

    assert runs == [3]
    assert runner.unit_retries == 2


async def test_an_uncertain_commit_retries_the_commit_alone() -> None:
    uncertain = labelled(AutoReconnect("commit reply lost"), UNKNOWN_COMMIT)
    client, clock = FakeClient(commit_errors=[uncertain]), FakeClock()
    work, runs = failing([])
    runner = runner_over(client, clock)

    assert await runner.run(work) == "done"

    assert runs == [1]  # the unit ran once: a retried commit never applies it twice
    assert (client.started, client.commit_attempts, client.committed) == (1, 2, 1)
    assert runner.commit_retries == 1


async def test_a_transient_commit_failure_reruns_the_whole_unit() -> None:
    conflict = labelled(OperationFailure("write conflict", code=112), TRANSIENT)
    client, clock = FakeClient(commit_errors=[conflict]), FakeClock()
    work, runs = failing([])

    assert await runner_over(client, clock).run(work) == "done"

    assert runs == [2]
    assert (client.started, client.committed) == (2, 1)


async def test_an_error_without_a_retry_label_reaches_the_caller_at_once() -> None:
    client, clock = FakeClient(), FakeClock()
    work, runs = failing([OperationFailure("document too large", code=10334)])

    with pytest.raises(OperationFailure):
        await runner_over(client, clock).run(work)

    assert runs == [1]
    assert (client.aborted, client.committed) == (1, 0)


async def test_a_unit_that_keeps_conflicting_gives_up_at_the_deadline() -> None:
    client, clock = FakeClient(), FakeClock()
    errors: list[BaseException] = [ConcurrentUpdate("learner_totals") for _ in range(10_000)]
    work, runs = failing(errors)

    with pytest.raises(ConcurrentUpdate):
        await runner_over(client, clock, deadline=1.0).run(work)

    assert clock.now >= 1.0
    assert 1 < runs[0] < 10_000


async def test_an_uncertain_commit_past_the_deadline_reaches_the_caller() -> None:
    errors = [labelled(AutoReconnect("lost"), UNKNOWN_COMMIT) for _ in range(10_000)]
    client, clock = FakeClient(commit_errors=list(errors)), FakeClock()
    work, runs = failing([])

    with pytest.raises(AutoReconnect):
        await runner_over(client, clock, deadline=1.0).run(work)

    assert runs == [1]


def test_back_off_is_jittered_and_bounded() -> None:
    import random

    policy = RetryPolicy(first_delay_seconds=0.01, max_delay_seconds=0.2)
    rng = random.Random(7)
    delays = [policy.delay(attempt, rng) for attempt in range(1, 40)]
    assert all(0 <= d <= 0.2 for d in delays)
    assert len(set(delays)) == len(delays)


async def test_on_commit_callbacks_run_once_after_the_commit_and_never_for_a_failed_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conflict = labelled(OperationFailure("write conflict", code=112), TRANSIENT)
    client, clock = FakeClient(commit_errors=[conflict]), FakeClock()
    seen: list[tuple[int, int]] = []  # (attempt, commits when the callback ran)
    attempts = [0]

    def fail() -> None:
        raise RuntimeError("a subscriber's bug")

    async def work(unit: UnitOfWork) -> str:
        attempts[0] += 1
        attempt = attempts[0]
        unit.on_commit(lambda: seen.append((attempt, client.committed)))
        unit.on_commit(fail)  # a failing callback is logged, the others still run
        unit.on_commit(lambda: seen.append((attempt, client.committed)))
        return "done"

    assert await runner_over(client, clock).run(work) == "done"

    # The first attempt's commit failed: only the second attempt's callbacks ran, after it.
    assert seen == [(2, 1), (2, 1)]
    assert "an on-commit callback failed" in caplog.text


async def test_without_transactions_on_commit_callbacks_run_after_the_writes() -> None:
    repositories = await fake_repositories()
    runner = TransactionRunner(repositories)
    seen: list[str] = []

    async def work(unit: UnitOfWork) -> None:
        unit.on_commit(lambda: seen.append("after"))
        seen.append("work")

    await runner.run(work)

    assert seen == ["work", "after"]
