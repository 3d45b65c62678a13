"""The outbox against a real server: written with its unit of work or not at all, claimed by one
claimer at a time, claimable again once a lease runs out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.webhooks import OutboxMessage
from persistence.database import create_client, open_database
from persistence.indexes import OUTBOX
from persistence.outbox import DEAD, DELIVERED, PENDING, OutboxCounts, OutboxRepository
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from persistence.versioned import ConcurrentUpdate
from resolvers.webhooks import WebhookDispatcher, WebhookSettings
from tests.persistence.conftest import RealServer
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
SECRET = "webhook-tests-only-secret-0123456789abcdef"


def message(number: int, *, at: datetime = NOW) -> OutboxMessage:
    return OutboxMessage(
        id=f"test|message-{number}",
        kind="achievement_unlocked",
        user_id="ada",
        payload={"number": number},
        created_at=at,
    )


class Aborted(Exception):
    pass


async def write(real: RealServer, *messages: OutboxMessage, fail: bool = False) -> None:
    async def work(unit: UnitOfWork) -> None:
        unit.add_outbox(messages)
        await unit.flush()  # written inside the transaction, then the unit fails
        if fail:
            raise Aborted

    await TransactionRunner(real.repositories).run(work)


async def test_a_message_written_in_a_unit_that_commits_is_in_the_outbox(
    real: RealServer,
) -> None:
    await write(real, message(1), message(2))

    entry = await real.repositories.outbox.get("test|message-1")

    assert entry is not None
    assert entry.message == message(1)
    assert (entry.status, entry.attempts, entry.next_at) == (PENDING, 0, NOW)
    assert await real.repositories.outbox.counts() == OutboxCounts(pending=2, delivered=0, dead=0)


async def test_a_message_written_in_a_unit_that_aborts_is_not(real: RealServer) -> None:
    with pytest.raises(Aborted):
        await write(real, message(1), fail=True)

    assert await real.repositories.outbox.get("test|message-1") is None
    assert await real.database[OUTBOX].count_documents({}) == 0


async def test_a_unit_that_runs_again_writes_its_messages_once(real: RealServer) -> None:
    runs = 0

    async def work(unit: UnitOfWork) -> None:
        nonlocal runs
        runs += 1
        unit.add_outbox([message(1)])
        await unit.flush()
        if runs == 1:
            raise ConcurrentUpdate("somebody else")  # transient: the whole unit runs again

    await TransactionRunner(real.repositories).run(work)

    assert runs == 2
    assert await real.database[OUTBOX].count_documents({}) == 1


async def test_writing_a_message_again_leaves_the_stored_one_as_it_is(real: RealServer) -> None:
    outbox = real.repositories.outbox
    await write(real, message(1))
    [claimed] = await outbox.claim_due(NOW, lease=LEASE, limit=10, owner="a")
    assert await outbox.mark_delivered(claimed.message.id, "a", NOW)

    await write(real, message(1), message(2))

    entry = await outbox.get("test|message-1")
    assert entry is not None and entry.status == DELIVERED
    assert await outbox.counts() == OutboxCounts(pending=1, delivered=1, dead=0)


async def test_only_due_messages_are_claimed_oldest_first(real: RealServer) -> None:
    outbox = real.repositories.outbox
    later = NOW + timedelta(minutes=1)
    await write(real, message(3, at=NOW), message(1, at=NOW - timedelta(seconds=2)))
    await write(real, message(2, at=NOW - timedelta(seconds=1)), message(4, at=later))

    claimed = await outbox.claim_due(NOW, lease=LEASE, limit=10, owner="a")

    assert [d.message.id for d in claimed] == [f"test|message-{n}" for n in (1, 2, 3)]
    assert await outbox.claim_due(NOW, lease=LEASE, limit=10, owner="b") == []


async def test_a_claim_takes_at_most_its_limit(real: RealServer) -> None:
    await write(real, *(message(n) for n in range(5)))

    claimed = await real.repositories.outbox.claim_due(NOW, lease=LEASE, limit=2, owner="a")

    assert len(claimed) == 2


async def test_two_concurrent_claimers_never_lease_the_same_message(
    real: RealServer, real_mongodb_uri: str
) -> None:
    outbox = real.repositories.outbox
    # The other claimer has a client of its own, as another process would.
    client = create_client(real_mongodb_uri)
    other = OutboxRepository(await open_database(client, real.database.db.name))
    await write(real, *(message(n) for n in range(40)))

    async def claim_all(repository: OutboxRepository, owner: str) -> list[str]:
        ids: list[str] = []
        while batch := await repository.claim_due(NOW, lease=LEASE, limit=3, owner=owner):
            ids.extend(d.message.id for d in batch)
        return ids

    try:
        first, second = await asyncio.gather(claim_all(outbox, "a"), claim_all(other, "b"))
    finally:
        client.close()

    assert set(first).isdisjoint(second)
    assert len(first) + len(second) == 40
    assert len(set(first) | set(second)) == 40


async def test_a_lease_that_runs_out_can_be_claimed_again(real: RealServer) -> None:
    outbox = real.repositories.outbox
    await write(real, message(1))
    [first] = await outbox.claim_due(NOW, lease=LEASE, limit=1, owner="a")

    before_expiry = NOW + LEASE - timedelta(milliseconds=1)
    assert await outbox.claim_due(before_expiry, lease=LEASE, limit=1, owner="b") == []
    [again] = await outbox.claim_due(NOW + LEASE, lease=LEASE, limit=1, owner="b")

    assert again.message == first.message
    # The first claimer's lease is gone: what it would record now is refused.
    assert not await outbox.mark_delivered(first.message.id, "a", NOW + LEASE)
    assert await outbox.mark_delivered(first.message.id, "b", NOW + LEASE)


async def test_a_rescheduled_message_is_due_again_at_its_time(real: RealServer) -> None:
    outbox = real.repositories.outbox
    await write(real, message(1))
    [claimed] = await outbox.claim_due(NOW, lease=LEASE, limit=1, owner="a")
    retry_at = NOW + timedelta(seconds=4)

    assert await outbox.reschedule(
        claimed.message.id, "a", attempts=1, next_at=retry_at, error="HTTP 500"
    )

    assert (
        await outbox.claim_due(retry_at - timedelta(seconds=1), lease=LEASE, limit=1, owner="b")
        == []
    )
    [again] = await outbox.claim_due(retry_at, lease=LEASE, limit=1, owner="b")
    assert again.attempts == 1
    entry = await outbox.get(claimed.message.id)
    assert entry is not None and entry.last_error == "HTTP 500"


async def test_a_dead_message_is_kept_with_its_error_and_never_claimed(real: RealServer) -> None:
    outbox = real.repositories.outbox
    await write(real, message(1))
    [claimed] = await outbox.claim_due(NOW, lease=LEASE, limit=1, owner="a")

    assert await outbox.mark_dead(claimed.message.id, "a", attempts=20, at=NOW, error="HTTP 410")

    assert await outbox.claim_due(NOW + timedelta(days=1), lease=LEASE, limit=1, owner="b") == []
    entry = await outbox.get(claimed.message.id)
    assert entry is not None
    assert (entry.status, entry.attempts, entry.last_error) == (DEAD, 20, "HTTP 410")
    assert await outbox.counts() == OutboxCounts(pending=0, delivered=0, dead=1)


async def test_delivered_messages_are_purged_after_a_while_and_dead_ones_kept(
    real: RealServer,
) -> None:
    outbox = real.repositories.outbox
    await write(real, message(1), message(2), message(3))
    one, two, three = await outbox.claim_due(NOW, lease=LEASE, limit=3, owner="a")
    await outbox.mark_delivered(one.message.id, "a", NOW)
    await outbox.mark_delivered(two.message.id, "a", NOW + timedelta(days=2))
    await outbox.mark_dead(three.message.id, "a", attempts=1, at=NOW, error="HTTP 410")

    purged = await outbox.purge_delivered(NOW + timedelta(days=1))

    assert purged == 1
    assert await outbox.counts() == OutboxCounts(pending=0, delivered=1, dead=1)


async def test_dispatchers_of_two_processes_send_each_message_once(
    real: RealServer, real_mongodb_uri: str
) -> None:
    messages = [message(n, at=datetime.now(UTC) - timedelta(seconds=1)) for n in range(30)]
    await write(real, *messages)
    client = create_client(real_mongodb_uri)
    other = OutboxRepository(await open_database(client, real.database.db.name))

    async with Receiver(SECRET) as receiver:

        def dispatcher(outbox: OutboxRepository) -> WebhookDispatcher:
            webhooks = WebhookSettings(
                url=receiver.url, secret=SECRET, poll_seconds=0.01, concurrency=4
            )
            return WebhookDispatcher(outbox, webhooks)

        first, second = dispatcher(real.repositories.outbox), dispatcher(other)
        first.start()
        second.start()
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while (await real.repositories.outbox.counts()).delivered < 30:
                assert asyncio.get_running_loop().time() < deadline, "timed out"
                await asyncio.sleep(0.02)
        finally:
            await first.stop()
            await second.stop()
            client.close()

    assert sorted(receiver.ids) == sorted(m.id for m in messages)
    assert all(delivery.signed for delivery in receiver.received)
