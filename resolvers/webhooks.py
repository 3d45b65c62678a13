"""The outbound channel: signed webhooks to the notification service, sent from the outbox.

Producers write `OutboxMessage`s in the unit of work that caused them, through `Outbox.write`
(which writes nothing when no notification service is configured), and call `Outbox.wake` once
the unit has committed. Each process runs one `WebhookDispatcher`: it claims due messages (a lease
in the database, so processes never send one message at the same time), posts each, and records
the outcome: a 2xx answer delivers it; any other answer, a timeout or a connection error
reschedules it with back-off; 410 Gone, or the last allowed attempt failing, makes it dead.

Delivery is at least once, under a stable id: a process stopped gracefully finishes and records
the deliveries in flight, so a restart sends nothing twice; a process that dies mid-delivery
leaves its lease to run out, and the message is sent again with the same `Cairn-Delivery-Id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import random as _draw

import httpx

from domain.webhooks import (
    Dead,
    Delivery,
    OutboxMessage,
    Random,
    RetrySchedule,
    after_failure,
    delivery_headers,
    encode_body,
    is_delivered,
    is_gone,
)
from persistence import metrics
from persistence.outbox import OutboxRepository
from persistence.unit_of_work import UnitOfWork

log = logging.getLogger("cairn.webhooks")

Clock = Callable[[], datetime]
USER_AGENT = "Cairn-Webhooks/1"
# A settled outcome that could not be recorded is tried again this many times, this far apart;
# if it still fails, the lease runs out and the message is sent again.
SETTLE_TRIES = 3
SETTLE_PAUSE_SECONDS = 0.2


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str
    secret: str
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    timeout_seconds: float = 10.0  # for a whole attempt: connecting, sending and the answer
    poll_seconds: float = 0.5  # how often the outbox is looked at without a wake-up
    concurrency: int = 8  # deliveries in flight per process
    # How long a claim holds a message; it must outlast an attempt and its recording, since a
    # message whose lease runs out is sent again. Default: the timeout plus a minute.
    lease: timedelta | None = None
    # How long a graceful stop waits for deliveries in flight. Default: the timeout plus 5 s.
    stop_seconds: float | None = None
    retention: timedelta = timedelta(days=7)  # delivered messages are kept this long
    housekeeping_seconds: float = 30.0  # how often the counts are refreshed and the old purged

    def __post_init__(self) -> None:
        if self.lease is not None and self.lease.total_seconds() <= self.timeout_seconds:
            raise ValueError("a lease must outlast the delivery timeout")

    @property
    def lease_time(self) -> timedelta:
        return self.lease or timedelta(seconds=self.timeout_seconds + 60)

    @property
    def stop_time(self) -> float:
        return self.stop_seconds if self.stop_seconds is not None else self.timeout_seconds + 5


class WebhookDispatcher:
    """Sends the outbox's due messages to one URL; one per process, started and stopped with it.

    Call `start` once the event loop runs, `wake` after committing new messages (or let the next
    poll find them), and `stop` on shutdown.
    """

    def __init__(
        self,
        outbox: OutboxRepository,
        settings: WebhookSettings,
        *,
        clock: Clock = _utc_now,
        random: Random = _draw,
        owner: str | None = None,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.owner = owner or _process_owner()
        self._clock = clock
        self._random = random
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._next_housekeeping = 0.0
        self._claim_failing = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def start(self) -> asyncio.Task[None]:
        """Starts claiming and sending; returns the task doing it."""
        if self._task is not None:
            raise RuntimeError("a dispatcher starts once")
        self._client = httpx.AsyncClient(
            timeout=self.settings.timeout_seconds,
            follow_redirects=False,  # a redirect is a failure: the URL is configured, not found
            headers={"User-Agent": USER_AGENT},
        )
        self._task = asyncio.create_task(self._run(), name="cairn-webhook-dispatcher")
        return self._task

    def wake(self) -> None:
        """Looks for due messages now rather than at the next poll (call it after a commit)."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Stops claiming, lets the deliveries in flight finish and be recorded (for at most
        `stop_time` seconds; any still running then are cancelled and sent again after their
        lease), and closes the HTTP client."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.wait([self._task])  # its end, however it ended
        tasks = list(self._in_flight.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.settings.stop_time)
            for task in late:
                log.warning("webhook delivery still running at shutdown: cancelled")
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        try:
            while not self._stopping:
                self._wakeup.clear()
                await self._claim()
                await self._housekeeping()
                if self._stopping:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.settings.poll_seconds)
        except asyncio.CancelledError:
            # Cancelled outright (not stopped): whatever is in flight goes with it, unrecorded,
            # and is sent again once its lease runs out.
            for task in self._in_flight.values():
                task.cancel()
            raise

    async def _claim(self) -> None:
        free = self.settings.concurrency - len(self._in_flight)
        if free <= 0:
            return
        try:
            due = await self.outbox.claim_due(
                self._clock(), lease=self.settings.lease_time, limit=free, owner=self.owner
            )
        except Exception:
            if not self._claim_failing:
                log.warning("could not claim webhook messages; trying again", exc_info=True)
            self._claim_failing = True
            return
        if self._claim_failing:
            log.info("claiming webhook messages again")
            self._claim_failing = False
        for delivery in due:
            message_id = delivery.message.id
            if message_id in self._in_flight:
                continue  # still being sent by this process: the new lease covers it
            task = asyncio.create_task(self._deliver(delivery), name=f"webhook {message_id}")
            self._in_flight[message_id] = task
            task.add_done_callback(functools.partial(self._finished, message_id))

    def _finished(self, message_id: str, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(message_id, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("webhook %s: delivery failed", message_id, exc_info=error)
        self._wakeup.set()  # a free slot: more may be claimed

    async def _deliver(self, delivery: Delivery) -> None:
        message, outbox, owner = delivery.message, self.outbox, self.owner
        attempt = delivery.attempts + 1
        status, error = await self._post(message)
        now = self._clock()
        if status is not None and is_delivered(status):
            await self._settle(
                message, "delivered", lambda: outbox.mark_delivered(message.id, owner, now)
            )
            log.debug("webhook %s delivered (attempt %d)", message.id, attempt)
            return
        decision = after_failure(
            self.settings.schedule,
            attempts=attempt,
            now=now,
            random=self._random,
            gone=status is not None and is_gone(status),
        )
        if isinstance(decision, Dead):
            await self._settle(
                message,
                "dead",
                lambda: outbox.mark_dead(message.id, owner, attempts=attempt, at=now, error=error),
            )
            log.warning("webhook %s dead after %d attempts: %s", message.id, attempt, error)
            return
        next_at = decision.at
        await self._settle(
            message,
            "retried",
            lambda: outbox.reschedule(
                message.id, owner, attempts=attempt, next_at=next_at, error=error
            ),
        )
        log.info(
            "webhook %s failed (attempt %d): %s; next attempt at %s",
            message.id,
            attempt,
            error,
            next_at.isoformat(timespec="seconds"),
        )

    async def _post(self, message: OutboxMessage) -> tuple[int | None, str]:
        """The answer's status (None if there was none) and, for a failure, what went wrong."""
        assert self._client is not None
        body = encode_body(message)
        headers = delivery_headers(message, body, secret=self.settings.secret, now=self._clock())
        try:
            # httpx's timeout bounds each read and write; this bounds the whole attempt.
            async with asyncio.timeout(self.settings.timeout_seconds):
                response = await self._client.post(self.settings.url, content=body, headers=headers)
        except TimeoutError:
            return None, f"no answer within {self.settings.timeout_seconds:g} s"
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return response.status_code, f"HTTP {response.status_code}"

    async def _settle(
        self,
        message: OutboxMessage,
        outcome: metrics.WebhookOutcome,
        record: Callable[[], Awaitable[bool]],
    ) -> None:
        """Records an attempt's outcome under this dispatcher's lease, trying a few times: if it
        cannot be recorded, the lease runs out and the message is sent again."""
        metrics.count_webhook(outcome)
        for attempt in range(1, SETTLE_TRIES + 1):
            try:
                recorded = await record()
            except Exception:
                if attempt == SETTLE_TRIES:
                    log.error(
                        "could not record webhook %s as %s; it will be sent again",
                        message.id,
                        outcome,
                        exc_info=True,
                    )
                    return
                await asyncio.sleep(SETTLE_PAUSE_SECONDS * attempt)
                continue
            if not recorded:
                log.warning(
                    "webhook %s was %s after its lease ran out; it may be sent again",
                    message.id,
                    outcome,
                )
            return

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_housekeeping:
            return
        self._next_housekeeping = time.monotonic() + self.settings.housekeeping_seconds
        try:
            await self.outbox.purge_delivered(self._clock() - self.settings.retention)
            await self.refresh_counts()
        except Exception:
            log.warning("webhook outbox housekeeping failed", exc_info=True)

    async def refresh_counts(self) -> None:
        """Sets `cairn_webhook_outbox_messages` from the outbox."""
        counts = await self.outbox.counts()
        metrics.set_outbox_counts(
            pending=counts.pending, delivered=counts.delivered, dead=counts.dead
        )


class Outbox:
    """The outbound channel as producers see it. Without a dispatcher (no notification service
    configured) it is off: `write` writes nothing, so nothing piles up that no one would send."""

    def __init__(self, dispatcher: WebhookDispatcher | None = None) -> None:
        self.dispatcher = dispatcher

    @property
    def enabled(self) -> bool:
        return self.dispatcher is not None

    def write(self, unit: UnitOfWork, messages: Iterable[OutboxMessage]) -> None:
        """Adds `messages` to `unit`: written with it, or not at all."""
        if self.dispatcher is not None:
            unit.add_outbox(messages)

    def wake(self) -> None:
        """Call once the unit that wrote messages has committed, to send them at once."""
        if self.dispatcher is not None:
            self.dispatcher.wake()
