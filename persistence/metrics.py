"""Prometheus metrics: one registry per process, served at `GET /metrics`.

Persistence is the lowest layer allowed a framework, so the metrics live here and the layers above
(resolvers, schema, main) import them. Every label takes a bounded set of values (operation types,
outcomes, guard reasons, pymongo exception class names): never a learner id, an event id or any
other value a client chooses.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from bson.timestamp import Timestamp
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from pymongo.errors import ConnectionFailure, PyMongoError

from domain.guard import GuardReason
from persistence.availability import DatabaseUnavailable

OperationType = Literal["query", "mutation", "subscription", "unknown"]
Outcome = Literal["ok", "client_error", "server_error", "unavailable"]
EventOutcome = Literal["recorded", "replayed", "failed"]
RetryKind = Literal["unit", "commit"]
WebhookOutcome = Literal["delivered", "retried", "dead"]

OPERATION_TYPES: tuple[OperationType, ...] = ("query", "mutation", "subscription", "unknown")
OUTCOMES: tuple[Outcome, ...] = ("ok", "client_error", "server_error", "unavailable")
EVENT_OUTCOMES: tuple[EventOutcome, ...] = ("recorded", "replayed", "failed")
RETRY_KINDS: tuple[RetryKind, ...] = ("unit", "commit")
WEBHOOK_OUTCOMES: tuple[WebhookOutcome, ...] = ("delivered", "retried", "dead")

# No `_created` series next to every counter and histogram: they double the output for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()
# The usual process_*, python_info and python_gc_* series, on Cairn's registry.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

GRAPHQL_REQUESTS = Counter(
    "cairn_graphql_requests_total",
    "GraphQL requests (HTTP requests and WebSocket operations), by operation type and outcome.",
    ["operation_type", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_REQUEST_DURATION = Histogram(
    "cairn_graphql_request_duration_seconds",
    "Time to answer a GraphQL request; for a subscription, how long it stayed open.",
    ["operation_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
    registry=REGISTRY,
)
EVENTS = Counter(
    "cairn_events_total",
    "Learning events by outcome: recorded now, replayed (recorded before) or failed.",
    ["outcome"],
    registry=REGISTRY,
)
EVENTS_GUARDED = Counter(
    "cairn_events_guarded_total",
    "Recorded events the reward guard held back, by reason (an event may have several).",
    ["reason"],
    registry=REGISTRY,
)
TRANSACTION_RETRIES = Counter(
    "cairn_transaction_retries_total",
    "Transaction retries: `unit` re-runs a whole unit of work, `commit` retries a commit alone.",
    ["kind"],
    registry=REGISTRY,
)
CHANGE_STREAM_LAG = Histogram(
    "cairn_change_stream_lag_seconds",
    "Wall-clock time from a change's cluster time to its arrival on this process's change stream.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
LIVE_SUBSCRIBERS = Gauge(
    "cairn_live_subscribers",
    "Live subscriptions (progress and unlocks) open in this process.",
    registry=REGISTRY,
)
LIVE_EXECUTIONS = Counter(
    "cairn_live_executions_total",
    "Executions of a shared live subscription's selection set: one per value and operation, "
    "however many subscribers share it.",
    registry=REGISTRY,
)
LIVE_DELIVERIES = Counter(
    "cairn_live_deliveries_total",
    "Live updates handed to subscribers' sockets by shared executions.",
    registry=REGISTRY,
)
DATABASE_ERRORS = Counter(
    "cairn_database_errors_total",
    "Database driver errors seen by the transaction runner or by a request, by pymongo class.",
    ["kind"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "cairn_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered (2xx), retried (failed, to be tried again) "
    "or dead (given up on: 410 Gone, or the last allowed attempt failed).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_OUTBOX = Gauge(
    "cairn_webhook_outbox_messages",
    "Messages in the webhook outbox by status, as this process's dispatcher last counted them.",
    ["status"],
    registry=REGISTRY,
)

# Every series a dashboard may look for starts at zero rather than appearing on first use.
for _type in OPERATION_TYPES:
    GRAPHQL_REQUEST_DURATION.labels(_type)
    for _outcome in OUTCOMES:
        GRAPHQL_REQUESTS.labels(_type, _outcome)
for _event_outcome in EVENT_OUTCOMES:
    EVENTS.labels(_event_outcome)
for _reason in GuardReason:
    EVENTS_GUARDED.labels(_reason.value)
for _kind in RETRY_KINDS:
    TRANSACTION_RETRIES.labels(_kind)
for _webhook_outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(_webhook_outcome)


def exposition() -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def count_request(operation_type: OperationType, outcome: Outcome, seconds: float) -> None:
    GRAPHQL_REQUESTS.labels(operation_type, outcome).inc()
    GRAPHQL_REQUEST_DURATION.labels(operation_type).observe(seconds)


def count_event(outcome: EventOutcome, guarded: Iterable[GuardReason] = ()) -> None:
    EVENTS.labels(outcome).inc()
    for reason in guarded:
        EVENTS_GUARDED.labels(reason.value).inc()


def count_retry(kind: RetryKind) -> None:
    TRANSACTION_RETRIES.labels(kind).inc()


def count_webhook(outcome: WebhookOutcome) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def set_outbox_counts(*, pending: int, delivered: int, dead: int) -> None:
    WEBHOOK_OUTBOX.labels("pending").set(pending)
    WEBHOOK_OUTBOX.labels("delivered").set(delivered)
    WEBHOOK_OUTBOX.labels("dead").set(dead)


def count_live_executions(executions: int, deliveries: int) -> None:
    """Shared executions of live subscriptions, delivered to `deliveries` subscribers in all."""
    LIVE_EXECUTIONS.inc(executions)
    LIVE_DELIVERIES.inc(deliveries)


_COUNTED = "_cairn_metrics_counted"


def database_error_in(error: BaseException) -> PyMongoError | None:
    """The driver error behind `error`: itself, or the nearest one it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, PyMongoError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def count_database_error(error: BaseException) -> PyMongoError | None:
    """Counts the driver error behind `error` once, however many places see it; returns it."""
    found = database_error_in(error)
    if found is None or getattr(found, _COUNTED, False):
        return found
    with contextlib.suppress(AttributeError):  # pymongo's errors take attributes
        setattr(found, _COUNTED, True)
    DATABASE_ERRORS.labels(type(found).__name__).inc()
    return found


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached (no server, a network error, a failover), or the
    service knows it is down and did not try."""
    if isinstance(error, DatabaseUnavailable):
        return True
    return isinstance(database_error_in(error), ConnectionFailure)


def observe_change_lag(change: dict[str, Any], now: datetime | None = None) -> float | None:
    """Observes how long a change event took to arrive; returns the lag, None if it has no time.

    The lag is measured from the event's cluster time. Its `clusterTime` counts whole seconds, so
    its `wallTime` (the same instant in milliseconds, sent by MongoDB 6.0+ and SecantusDB) is
    used when present.
    """
    now = now or datetime.now(UTC)
    wall = change.get("wallTime")
    cluster = change.get("clusterTime")
    if isinstance(wall, datetime):
        at = wall if wall.tzinfo is not None else wall.replace(tzinfo=UTC)
    elif isinstance(cluster, Timestamp):
        at = cluster.as_datetime()
    else:
        return None
    lag = max((now - at).total_seconds(), 0.0)
    CHANGE_STREAM_LAG.observe(lag)
    return lag


class _CountsSubscribers(Protocol):
    @property
    def live_subscribers(self) -> int: ...


_FEEDS: weakref.WeakSet[Any] = weakref.WeakSet()


def track_subscribers(feed: _CountsSubscribers) -> None:
    """Makes `cairn_live_subscribers` include this feed's subscribers while the feed lives."""
    _FEEDS.add(feed)


LIVE_SUBSCRIBERS.set_function(lambda: float(sum(feed.live_subscribers for feed in list(_FEEDS))))
