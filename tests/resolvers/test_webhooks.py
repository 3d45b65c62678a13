"""The webhook dispatcher against a local receiver: signed deliveries, retries with back-off, dead
letters, and restarts (graceful, and a crash) that neither lose a message nor send one twice
where that can be helped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.webhooks import Delivery, OutboxMessage, RetrySchedule
from persistence.feed import Feed
from persistence.metrics import REGISTRY
from persistence.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    OutboxCounts,
    OutboxEntry,
    OutboxRepository,
)
from persistence.repositories import Repositories
from persistence.topics import TOPICS
from persistence.transactions import TransactionRunner
from persistence.unit_of_work import UnitOfWork
from resolvers.recording import Recorder
from resolvers.webhooks import Outbox, WebhookDispatcher, WebhookSettings
from tests.factories import NOW, content_item, draft
from tests.webhook_receiver import Receiver

SECRET = "webhook-tests-only-secret-0123456789abcdef"
FAST = RetrySchedule(
    max_attempts=5, first_delay=timedelta(milliseconds=10), max_delay=timedelta(milliseconds=40)
)


class Clock:
    """Now, until a test moves it on (leases and back-off then run out at once)."""

    def __init__(self) -> None:
        now = datetime.now(UTC)  # in whole milliseconds, as the database keeps times
        self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def message(number: int, *, at: datetime | None = None) -> OutboxMessage:
    return OutboxMessage(
        id=f"unlock|ada|rule-{number}",
        kind="achievement_unlocked",
        user_id="ada",
        payload={"achievement": f"rule-{number}", "points": 10},
        created_at=at or datetime.now(UTC) - timedelta(seconds=1),
    )


async def write(repositories: Repositories, *messages: OutboxMessage) -> None:
    async def work(unit: UnitOfWork) -> None:
        unit.add_outbox(messages)

    await TransactionRunner(repositories).run(work)


async def eventually(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    """Waits until `condition` holds; fails if it does not within `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def entry(outbox: OutboxRepository, message_id: str) -> OutboxEntry:
    found = await outbox.get(message_id)
    assert found is not None
    return found


async def statuses(outbox: OutboxRepository, ids: list[str]) -> set[str]:
    return {(await entry(outbox, message_id)).status for message_id in ids}


async def settled(outbox: OutboxRepository, ids: list[str], *, within: float = 10.0) -> None:
    """Waits until every message is delivered or dead, and recorded so."""
    deadline = asyncio.get_running_loop().time() + within
    while PENDING in await statuses(outbox, ids):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def failed_once(outbox: OutboxRepository, sent: OutboxMessage) -> OutboxEntry:
    """Waits until the first attempt has failed and been rescheduled."""
    async with asyncio.timeout(10):
        while True:
            found = await entry(outbox, sent.id)
            if found.status == PENDING and found.attempts == 1:
                return found
            await asyncio.sleep(0.005)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(SECRET) as running:
        yield running


def settings(url: str, **overrides: object) -> WebhookSettings:
    fields: dict[str, object] = {
        "url": url,
        "secret": SECRET,
        "schedule": FAST,
        "timeout_seconds": 2.0,
        "poll_seconds": 0.01,
        "lease": timedelta(seconds=5),
    }
    fields.update(overrides)
    return WebhookSettings(**fields)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(dispatcher: WebhookDispatcher) -> AsyncIterator[WebhookDispatcher]:
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


def real_time() -> datetime:
    return datetime.now(UTC)


def dispatcher_for(
    repositories: Repositories,
    receiver: Receiver,
    clock: Callable[[], datetime] = real_time,
    **overrides: object,
) -> WebhookDispatcher:
    return WebhookDispatcher(
        repositories.outbox, settings(receiver.url, **overrides), clock=clock, random=lambda: 0.5
    )


def deliveries(outcome: str) -> float:
    value = REGISTRY.get_sample_value("cairn_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


async def test_every_message_is_delivered_once_with_a_valid_signature(
    repositories: Repositories, receiver: Receiver
) -> None:
    messages = [message(n) for n in range(12)]
    ids = [m.id for m in messages]
    await write(repositories, *messages)
    delivered_before = deliveries("delivered")

    async with running(dispatcher_for(repositories, receiver)):
        await settled(repositories.outbox, ids)

    assert deliveries("delivered") - delivered_before == 12
    assert sorted(receiver.ids) == sorted(ids)
    assert all(delivery.signed for delivery in receiver.received)
    assert {delivery.event for delivery in receiver.received} == {"achievement_unlocked"}
    first = next(d for d in receiver.received if d.delivery_id == ids[0])
    assert json.loads(first.body)["data"] == {"achievement": "rule-0", "points": 10}
    assert await statuses(repositories.outbox, ids) == {DELIVERED}
    assert (await entry(repositories.outbox, ids[0])).attempts == 1


async def test_a_failing_receiver_gets_the_message_again_after_back_off_with_the_same_id(
    repositories: Repositories, receiver: Receiver
) -> None:
    clock = Clock()
    receiver.answers = [500]
    await write(repositories, message(1))
    retried_before = deliveries("retried")

    async with running(dispatcher_for(repositories, receiver, clock)):
        failed = await failed_once(repositories.outbox, message(1))
        # Not before its time: half the 10 ms ceiling of the first retry (the draw is 0.5).
        assert failed.next_at == clock.now + timedelta(milliseconds=5)
        await asyncio.sleep(0.05)  # several polls
        assert len(receiver.received) == 1
        clock.advance(timedelta(milliseconds=5))
        await settled(repositories.outbox, [message(1).id])

    assert deliveries("retried") == retried_before + 1
    assert receiver.ids == [message(1).id, message(1).id]
    assert all(delivery.signed for delivery in receiver.received)
    delivered = await entry(repositories.outbox, message(1).id)
    assert (delivered.status, delivered.attempts, delivered.last_error) == (
        DELIVERED,
        2,
        "HTTP 500",
    )


async def test_a_message_is_dead_after_the_last_allowed_attempt_fails(
    repositories: Repositories, receiver: Receiver
) -> None:
    receiver.answers = [503] * 10
    await write(repositories, message(1))
    dead_before = deliveries("dead")

    async with running(dispatcher_for(repositories, receiver)):  # back-off in real time
        await settled(repositories.outbox, [message(1).id])

    assert deliveries("dead") == dead_before + 1
    assert receiver.ids == [message(1).id] * FAST.max_attempts
    dead = await entry(repositories.outbox, message(1).id)
    assert (dead.status, dead.attempts, dead.last_error) == (DEAD, 5, "HTTP 503")


async def test_a_receiver_answering_gone_makes_the_message_dead_at_once(
    repositories: Repositories, receiver: Receiver
) -> None:
    receiver.answers = [410]
    await write(repositories, message(1), message(2))

    async with running(dispatcher_for(repositories, receiver)):
        await settled(repositories.outbox, [message(1).id, message(2).id])
        await asyncio.sleep(0.05)  # several polls

    assert len(receiver.received) == 2  # neither sent again
    assert await statuses(repositories.outbox, [message(1).id, message(2).id]) == {
        DEAD,
        DELIVERED,
    }


async def test_a_receiver_that_does_not_answer_in_time_gets_it_again(
    repositories: Repositories, receiver: Receiver
) -> None:
    clock = Clock()
    receiver.holding = True
    await write(repositories, message(1))

    async with running(dispatcher_for(repositories, receiver, clock, timeout_seconds=0.2)):
        await failed_once(repositories.outbox, message(1))
        receiver.release()
        clock.advance(timedelta(seconds=1))
        await settled(repositories.outbox, [message(1).id])

    assert receiver.ids == [message(1).id] * 2
    delivered = await entry(repositories.outbox, message(1).id)
    assert delivered.status == DELIVERED
    assert delivered.last_error == "no answer within 0.2 s"


async def test_an_unreachable_receiver_is_tried_again_later(repositories: Repositories) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = Clock()
    await write(repositories, message(1))
    dispatcher = WebhookDispatcher(
        repositories.outbox,
        settings(f"http://127.0.0.1:{port}/hooks"),
        clock=clock,
        random=lambda: 0.5,
    )

    async with running(dispatcher):
        failed = await failed_once(repositories.outbox, message(1))

    assert failed.last_error is not None and failed.last_error.startswith("ConnectError")


async def test_wake_sends_a_new_message_without_waiting_for_the_next_poll(
    repositories: Repositories, receiver: Receiver
) -> None:
    dispatcher = dispatcher_for(repositories, receiver, poll_seconds=3600)
    outbox = Outbox(dispatcher)

    async with running(dispatcher):
        await asyncio.sleep(0.05)  # its first look at the outbox found nothing

        async def work(unit: UnitOfWork) -> None:
            outbox.write(unit, [message(1)])

        await TransactionRunner(repositories).run(work)
        outbox.wake()
        await eventually(lambda: len(receiver.received) == 1, within=5)


async def test_a_graceful_restart_sends_every_message_exactly_once(
    repositories: Repositories, receiver: Receiver
) -> None:
    messages = [message(n) for n in range(12)]
    await write(repositories, *messages)
    receiver.holding = True
    first = dispatcher_for(repositories, receiver, concurrency=4)
    first.start()
    await eventually(lambda: receiver.held == 4)

    # Stopping while four deliveries are in flight: no new claims, the four answered and recorded.
    stopping = asyncio.create_task(first.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()
    receiver.release()
    await stopping
    assert len(receiver.received) == 4
    assert await repositories.outbox.counts() == counts(pending=8, delivered=4)

    async with running(dispatcher_for(repositories, receiver, concurrency=4)):
        await settled(repositories.outbox, [m.id for m in messages])
        await asyncio.sleep(0.05)  # several polls

    assert sorted(receiver.ids) == sorted(m.id for m in messages)  # each exactly once
    assert await statuses(repositories.outbox, [m.id for m in messages]) == {DELIVERED}


async def test_after_a_crash_a_message_is_sent_again_with_the_same_id_once_its_lease_ends(
    repositories: Repositories, receiver: Receiver
) -> None:
    clock = Clock()
    lease = timedelta(seconds=5)
    messages = [message(n) for n in range(3)]
    await write(repositories, *messages)
    receiver.holding = True
    crashed = dispatcher_for(repositories, receiver, clock, lease=lease)
    task = crashed.start()
    await eventually(lambda: receiver.held == 3)

    # The receiver has them; the dispatcher dies before it hears back or records anything.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await crashed.stop()  # only closes its HTTP client: nothing is left to record
    receiver.release()
    assert await repositories.outbox.counts() == counts(pending=3)

    async with running(dispatcher_for(repositories, receiver, clock, lease=lease)):
        await asyncio.sleep(0.05)
        assert len(receiver.received) == 3  # still leased to the crashed process
        clock.advance(lease)
        await settled(repositories.outbox, [m.id for m in messages])

    assert sorted(receiver.ids) == sorted([m.id for m in messages] * 2)  # the same ids again
    assert sorted(receiver.deduplicated()) == sorted(m.id for m in messages)  # each once
    assert await statuses(repositories.outbox, [m.id for m in messages]) == {DELIVERED}


def counts(*, pending: int = 0, delivered: int = 0, dead: int = 0) -> OutboxCounts:
    return OutboxCounts(pending=pending, delivered=delivered, dead=dead)


async def test_an_outbox_without_a_notification_service_writes_nothing(
    repositories: Repositories,
) -> None:
    outbox = Outbox()

    async def work(unit: UnitOfWork) -> None:
        outbox.write(unit, [message(1)])

    await TransactionRunner(repositories).run(work)
    outbox.wake()

    assert not outbox.enabled
    assert await repositories.outbox.counts() == counts()


async def test_the_outbox_gauge_counts_messages_by_status(
    repositories: Repositories, receiver: Receiver
) -> None:
    receiver.answers = [410]
    await write(repositories, message(1), message(2), message(3))
    dispatcher = dispatcher_for(repositories, receiver, concurrency=1)

    async with running(dispatcher):
        await settled(repositories.outbox, [message(n).id for n in (1, 2, 3)])
        await dispatcher.refresh_counts()

    def gauge(status: str) -> float | None:
        return REGISTRY.get_sample_value("cairn_webhook_outbox_messages", {"status": status})

    assert (gauge("pending"), gauge("delivered"), gauge("dead")) == (0, 2, 1)


class FlakyOutbox(OutboxRepository):
    """The outbox, with the database failing the first few claims and records."""

    def __init__(self, repositories: Repositories, *, claims: int = 0, records: int = 0) -> None:
        super().__init__(repositories.database)
        self.failing_claims, self.failing_records = claims, records

    async def claim_due(
        self, now: datetime, *, lease: timedelta, limit: int, owner: str
    ) -> list[Delivery]:
        if self.failing_claims:
            self.failing_claims -= 1
            raise ConnectionError("the database is away")
        return await super().claim_due(now, lease=lease, limit=limit, owner=owner)

    async def mark_delivered(self, message_id: str, owner: str, at: datetime) -> bool:
        if self.failing_records:
            self.failing_records -= 1
            raise ConnectionError("the database is away")
        return await super().mark_delivered(message_id, owner, at)


async def test_a_database_outage_delays_claims_and_records_but_loses_nothing(
    repositories: Repositories, receiver: Receiver
) -> None:
    outbox = FlakyOutbox(repositories, claims=3, records=2)
    await write(repositories, message(1))
    dispatcher = WebhookDispatcher(outbox, settings(receiver.url), random=lambda: 0.5)

    async with running(dispatcher):
        await settled(repositories.outbox, [message(1).id])

    assert (outbox.failing_claims, outbox.failing_records) == (0, 0)
    assert receiver.ids == [message(1).id]


async def test_a_delivery_outlasting_the_graceful_stop_is_cancelled_and_sent_again_later(
    repositories: Repositories, receiver: Receiver
) -> None:
    clock = Clock()
    receiver.holding = True
    await write(repositories, message(1))
    dispatcher = dispatcher_for(repositories, receiver, clock, stop_seconds=0.05)
    dispatcher.start()
    await eventually(lambda: receiver.held == 1)

    await dispatcher.stop()

    assert dispatcher.in_flight == 0
    assert (await entry(repositories.outbox, message(1).id)).status == PENDING
    receiver.release()
    clock.advance(timedelta(seconds=5))  # the lease
    async with running(dispatcher_for(repositories, receiver, clock)):
        await settled(repositories.outbox, [message(1).id])
    assert receiver.ids == [message(1).id] * 2


def test_a_lease_must_outlast_an_attempt() -> None:
    with pytest.raises(ValueError, match="lease"):
        WebhookSettings(
            url="http://x.test", secret=SECRET, timeout_seconds=10, lease=timedelta(seconds=10)
        )
    assert WebhookSettings(url="http://x.test", secret=SECRET).lease_time == timedelta(seconds=70)


async def test_a_dispatcher_starts_once(repositories: Repositories, receiver: Receiver) -> None:
    async with running(dispatcher_for(repositories, receiver)) as dispatcher:
        with pytest.raises(RuntimeError):
            dispatcher.start()


async def test_a_recorded_event_notifies_the_service_with_the_inbox_notifications_id(
    repositories: Repositories, receiver: Receiver
) -> None:
    """From an event to a signed delivery: the notification is written to the outbox in the
    unit that recorded the event, and delivered under the inbox notification's id."""
    await repositories.content.upsert_many([content_item()])
    dispatcher = dispatcher_for(repositories, receiver)
    recorder = Recorder(
        repositories, Feed(repositories.database, TOPICS), outbox=Outbox(dispatcher)
    )
    async with running(dispatcher):
        result = await recorder.record_one(draft(event_id="e1", score=0.5), received_at=NOW)
        ids = [n.id for n in result.notifications]
        await settled(repositories.outbox, ids)

    assert "achievement_unlocked" in [n.kind.value for n in result.notifications]
    assert sorted(receiver.ids) == sorted(ids)
    assert all(delivery.signed for delivery in receiver.received)
    body = json.loads(receiver.received[0].body)
    assert body["userId"] == "ada"
    assert body["data"]["data"]["key"] == "first-event"
