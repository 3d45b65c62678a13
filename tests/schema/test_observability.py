"""Logs, request ids, metrics: client errors stay quiet, faults are logged once, counters move."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import strawberry
from bson.timestamp import Timestamp
from pymongo.errors import ServerSelectionTimeoutError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import ExecutionResult

from domain.access import Role
from persistence.metrics import REGISTRY, count_database_error, observe_change_lag
from persistence.transactions import TRANSIENT, UNKNOWN_COMMIT
from resolvers.services import Services
from schema.context import Context, new_context
from schema.errors import INTERNAL
from schema.http import RequestIds, graphql_routes
from schema.logs import (
    JsonFormatter,
    RequestContextFilter,
    TextFormatter,
    request_id_from,
    request_scope,
)
from tests.factories import ADMIN, TOKENS, bearer
from tests.persistence.test_transactions import (
    FakeClient,
    FakeClock,
    failing,
    labelled,
    runner_over,
)
from tests.schema.conftest import Execute, seed_catalog

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

RECORD = """
mutation Record($input: RecordEventInput!) {
  recordEvent(input: $input) { status }
}
"""


def event(event_id: str, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "learnerId": "ada",
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": "saa-ec2-1",
        "score": 0.8,
        "timeSpentSeconds": 600,
        "occurredAt": "2026-03-10T09:00:00+01:00",
    }
    values.update(overrides)
    return values


def field(record: logging.LogRecord, name: str) -> object:
    """A field the request context or the log call's `extra` gave the record."""
    return getattr(record, name, None)


def fields(record: logging.LogRecord, *names: str) -> tuple[object, ...]:
    return tuple(field(record, name) for name in names)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Samples:
    """Metric values now, to compare with later ones."""

    def __init__(self, *names: tuple[str, dict[str, str]]) -> None:
        self._names = names
        self._before = [sample(name, **labels) for name, labels in names]

    def deltas(self) -> list[float]:
        return [
            sample(name, **labels) - before
            for (name, labels), before in zip(self._names, self._before, strict=True)
        ]


@pytest.fixture(autouse=True)
async def catalog(services: Services) -> None:
    await seed_catalog(services)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def break_learner_reads(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(services.repositories.learners, "find_by_ids", broken)


# Errors and logs


async def test_a_bad_input_is_logged_without_traceback_and_at_most_at_info(
    execute: Execute, logs: pytest.LogCaptureFixture
) -> None:
    result = await execute(RECORD, input=event("e1", contentId="nope"))
    await execute(RECORD, input=event("e2"))
    conflict = await execute(RECORD, input=event("e2", score=0.1))

    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert conflict["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert [r for r in logs.records if r.levelno > logging.INFO] == []
    assert [r for r in logs.records if r.exc_info or r.exc_text] == []
    assert "Traceback" not in logs.text
    access = [r for r in logs.records if r.name == "cairn.access"]
    assert [(r.levelno, field(r, "operation"), field(r, "outcome")) for r in access] == [
        (logging.INFO, "Record", "client_error"),
        (logging.INFO, "Record", "ok"),
        (logging.INFO, "Record", "client_error"),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "{ learner(id: 3) { id } }",  # validation
        "{ nope }",  # validation
        "{ learner(id: ",  # syntax
        'query($d: Date!) { learner(id: "ada") { dailyActivity(from: $d, to: $d) { events } } }',
        # NOT_FOUND
        'mutation { awardPoints(input: {learnerId: "ghost", awardId: "a1", amount: 5, '
        'reason: "r"}) { totalPoints } }',
        '{ node(id: "garbage") { id } }',
    ],
)
async def test_client_errors_of_every_kind_leave_no_traceback(
    execute: Execute, logs: pytest.LogCaptureFixture, query: str
) -> None:
    result = await execute(query, d="not a date")

    assert result["errors"]
    assert [r for r in logs.records if r.levelno > logging.INFO] == []
    assert "Traceback" not in logs.text


async def test_an_unexpected_error_is_logged_once_with_the_id_the_client_sees(
    execute: Execute,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    break_learner_reads(services, monkeypatch)

    # Both fields fail on the same batched read: one fault, one log entry.
    result = await execute('{ a: learner(id: "ada") { id } b: learner(id: "bob") { id } }')

    errors = result["errors"]
    assert len(errors) == 2
    request_ids = {error["extensions"]["requestId"] for error in errors}
    assert [error["message"] for error in errors] == ["Internal server error"] * 2
    assert {error["extensions"]["code"] for error in errors} == {"INTERNAL_SERVER_ERROR"}
    assert "secret" not in json.dumps(errors)
    [request_id] = request_ids
    [logged] = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert logged.name == "cairn.errors"
    assert field(logged, "request_id") == request_id
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], RuntimeError)
    assert logs.text.count("Traceback") <= 1
    [access] = [r for r in logs.records if r.name == "cairn.access"]
    assert field(access, "outcome") == "server_error"
    assert field(access, "request_id") == request_id


async def test_a_database_outage_counts_as_unavailable(
    execute: Execute, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*args: object, **kwargs: object) -> None:
        raise ServerSelectionTimeoutError("no server")

    monkeypatch.setattr(services.repositories.learners, "find_by_ids", unreachable)
    samples = Samples(
        ("cairn_graphql_requests_total", {"operation_type": "query", "outcome": "unavailable"}),
        ("cairn_database_errors_total", {"kind": "ServerSelectionTimeoutError"}),
    )

    result = await execute('{ learner(id: "ada") { id } }')

    assert result["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert samples.deltas() == [1, 1]


async def test_a_database_error_is_counted_once_wherever_it_is_seen() -> None:
    error = ServerSelectionTimeoutError("no server")
    samples = Samples(("cairn_database_errors_total", {"kind": "ServerSelectionTimeoutError"}))

    count_database_error(error)
    try:
        raise RuntimeError("wrapped") from error
    except RuntimeError as wrapped:
        count_database_error(wrapped)

    assert samples.deltas() == [1]


async def test_an_unexpected_error_in_a_subscription_is_masked_and_logged_once(
    services: Services,
    graphql_schema: strawberry.Schema,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret feed failure")

    monkeypatch.setattr(services.feed, "subscribe", broken)
    stream = await subscribe(
        graphql_schema,
        services,
        'subscription Live { progressUpdated(learnerId: "ada") { contentId } }',
    )
    result = await anext(stream)
    await stream.aclose()

    [error] = result.errors or []
    extensions = error.extensions or {}
    assert (error.message, extensions["code"]) == ("Internal server error", INTERNAL)
    [logged] = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert field(logged, "request_id") == extensions["requestId"]
    [access] = [r for r in logs.records if r.name == "cairn.access"]
    assert fields(access, "operation", "operation_type", "outcome") == (
        "Live",
        "subscription",
        "server_error",
    )


async def test_each_subscription_gets_its_own_request_id_and_access_line(
    execute: Execute,
    services: Services,
    graphql_schema: strawberry.Schema,
    logs: pytest.LogCaptureFixture,
) -> None:
    samples = Samples(
        ("cairn_graphql_requests_total", {"operation_type": "subscription", "outcome": "ok"}),
        ("cairn_live_subscribers", {}),
    )
    streams = [await subscribe(graphql_schema, services, LIVE_PROGRESS) for _ in range(2)]
    arrivals = [asyncio.ensure_future(anext(stream)) for stream in streams]
    await until(lambda: services.feed.live_subscribers == 2)
    assert samples.deltas() == [0, 2]

    await execute(RECORD, input=event("live-1"))
    results = [await asyncio.wait_for(arrival, timeout=5) for arrival in arrivals]
    for stream in streams:
        await stream.aclose()
    await until(lambda: services.feed.live_subscribers == 0)  # released a moment after closing

    assert [r.data for r in results] == [{"progressUpdated": {"contentId": "saa-ec2-1"}}] * 2
    assert samples.deltas() == [2, 0]
    subscriptions = [
        r
        for r in logs.records
        if r.name == "cairn.access" and field(r, "operation_type") == "subscription"
    ]
    assert len({field(r, "request_id") for r in subscriptions}) == 2
    assert {field(r, "operation") for r in subscriptions} == {"subscription"}


LIVE_PROGRESS = 'subscription { progressUpdated(learnerId: "ada") { contentId } }'


async def subscribe(
    schema: strawberry.Schema, services: Services, query: str
) -> AsyncGenerator[ExecutionResult, None]:
    stream = await schema.subscribe(query, context_value=new_context(services, ADMIN))
    assert not isinstance(stream, ExecutionResult)
    return stream


async def until(condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


# Request ids over HTTP


def app_over(services: Services) -> Starlette:
    from schema import build_schema

    async def context_for(connection: Request | WebSocket) -> Context:
        return new_context(services)

    routes = graphql_routes(
        build_schema(), context_getter=context_for, tokens=TOKENS, assets_dir=NODE_MODULES
    )
    return Starlette(routes=routes, middleware=[Middleware(RequestIds)])


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_over(services))
    headers = {"Authorization": bearer("test-admin", Role.ADMIN)}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cairn", headers=headers
    ) as client:
        yield client


async def test_a_sane_request_id_is_kept_and_returned(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ skills { id } }"}, headers={"X-Request-ID": "abc-123.x_Y"}
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123.x_Y"


@pytest.mark.parametrize("sent", ["a" * 65, "has space", "semi;colon", "ünïcode", ""])
async def test_an_odd_request_id_is_replaced(http: httpx.AsyncClient, sent: str) -> None:
    response = await http.post(
        "/graphql",
        json={"query": "{ skills { id } }"},
        headers={b"X-Request-ID": sent.encode()},
    )

    returned = response.headers["x-request-id"]
    assert returned != sent
    assert len(returned) == 32 and int(returned, 16) >= 0


def test_request_ids_are_sane_tokens_of_at_most_64_characters() -> None:
    assert request_id_from("a" * 64) == "a" * 64
    assert request_id_from("a" * 65) != "a" * 65
    assert request_id_from(None) != request_id_from(None)
    assert request_id_from("x\ny") != "x\ny"


async def test_the_masked_error_quotes_the_response_request_id(
    http: httpx.AsyncClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    break_learner_reads(services, monkeypatch)

    response = await http.post(
        "/graphql",
        json={"query": 'query Who { learner(id: "ada") { id } }'},
        headers={"X-Request-ID": "quote-me"},
    )

    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "quote-me"}
    [logged] = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert field(logged, "request_id") == "quote-me"
    [access] = [r for r in logs.records if r.name == "cairn.access"]
    assert (field(access, "operation"), field(access, "outcome")) == ("Who", "server_error")


async def test_refused_http_requests_count_as_client_errors(
    http: httpx.AsyncClient, logs: pytest.LogCaptureFixture
) -> None:
    samples = Samples(
        ("cairn_graphql_requests_total", {"operation_type": "mutation", "outcome": "client_error"}),
        ("cairn_graphql_requests_total", {"operation_type": "unknown", "outcome": "client_error"}),
    )

    over_get = await http.get(
        "/graphql", params={"query": "mutation { upsertSkills(skills: []) { id } }"}
    )
    not_json = await http.post(
        "/graphql", content=b"{", headers={"content-type": "application/json"}
    )

    assert (over_get.status_code, not_json.status_code) == (405, 400)
    assert samples.deltas() == [1, 1]
    assert [r for r in logs.records if r.levelno > logging.INFO] == []


async def test_an_exception_escaping_the_app_is_logged_once_and_answered_500(
    services: Services, logs: pytest.LogCaptureFixture
) -> None:
    async def failing_context(connection: Request | WebSocket) -> Context:
        raise RuntimeError("no context today")

    from schema import build_schema

    routes = graphql_routes(
        build_schema(), context_getter=failing_context, tokens=TOKENS, assets_dir=NODE_MODULES
    )
    app = Starlette(routes=routes, middleware=[Middleware(RequestIds)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://cairn") as client:
        response = await client.post("/graphql", json={"query": "{ skills { id } }"})

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["errors"][0]["extensions"]["requestId"] == request_id
    [logged] = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert field(logged, "request_id") == request_id


# Formatters


@pytest.fixture
def log_lines() -> Iterator[tuple[logging.Logger, list[str]]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("cairn.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, lines
    finally:
        logger.removeHandler(handler)


def test_the_json_formatter_writes_one_object_per_line(
    log_lines: tuple[logging.Logger, list[str]],
) -> None:
    logger, lines = log_lines
    with request_scope("req-1") as context:
        context.operation = "Record"
        context.viewer = "teacher-1"
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            logger.exception("it broke\nbadly", extra={"duration_ms": 12.5})
    logger.info("outside a request: \u2028 \u00e9")

    assert len(lines) == 2
    assert all("\n" not in line for line in lines)
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "it broke\nbadly"
    assert first["level"] == "ERROR"
    assert first["logger"] == "cairn.test.json"
    assert (first["request_id"], first["operation"], first["viewer"]) == (
        "req-1",
        "Record",
        "teacher-1",
    )
    assert first["duration_ms"] == 12.5
    assert "ValueError: line one" in first["exc_info"]
    assert first["exc_info"].startswith("Traceback")
    time = datetime.fromisoformat(first["time"])
    assert time.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - time) < timedelta(minutes=1)
    assert set(second) == {"time", "level", "logger", "message"}
    assert second["message"] == "outside a request: \u2028 \u00e9"


def test_the_text_formatter_adds_the_request_context() -> None:
    record = logging.LogRecord("cairn.x", logging.INFO, __file__, 1, "hello", None, None)
    with request_scope("req-2"):
        RequestContextFilter().filter(record)

    assert TextFormatter().format(record).endswith("INFO cairn.x: hello [request_id=req-2]")


# Metrics


async def test_event_counters_move_for_recorded_replayed_failed_and_guarded_events(
    execute: Execute,
) -> None:
    samples = Samples(
        ("cairn_events_total", {"outcome": "recorded"}),
        ("cairn_events_total", {"outcome": "replayed"}),
        ("cairn_events_total", {"outcome": "failed"}),
        ("cairn_events_guarded_total", {"reason": "time_capped"}),
        ("cairn_graphql_requests_total", {"operation_type": "mutation", "outcome": "ok"}),
    )

    # 10 estimated minutes, at most 3 times that credited: two hours is capped.
    recorded = await execute(RECORD, input=event("e1", timeSpentSeconds=7200))
    replayed = await execute(RECORD, input=event("e1", timeSpentSeconds=7200))
    failed = await execute(RECORD, input=event("e2", contentId="nope"))

    assert recorded["data"]["recordEvent"]["status"] == "RECORDED"
    assert replayed["data"]["recordEvent"]["status"] == "REPLAYED"
    assert failed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert samples.deltas() == [1, 1, 1, 1, 2]


async def test_transaction_retries_are_counted_by_kind() -> None:
    samples = Samples(
        ("cairn_transaction_retries_total", {"kind": "unit"}),
        ("cairn_transaction_retries_total", {"kind": "commit"}),
        ("cairn_database_errors_total", {"kind": "AutoReconnect"}),
    )
    from pymongo.errors import AutoReconnect

    uncertain = labelled(AutoReconnect("commit reply lost"), UNKNOWN_COMMIT)
    client, clock = FakeClient(commit_errors=[uncertain]), FakeClock()
    work, _ = failing([labelled(AutoReconnect("connection reset"), TRANSIENT)])
    runner = runner_over(client, clock)

    assert await runner.run(work) == "done"

    assert (runner.unit_retries, runner.commit_retries) == (1, 1)
    assert samples.deltas() == [1, 1, 2]


def test_change_stream_lag_is_now_minus_the_events_time() -> None:
    now = datetime(2026, 3, 10, 9, 0, 0, 250_000, tzinfo=UTC)
    before = sample("cairn_change_stream_lag_seconds_count")

    cluster_only = observe_change_lag({"clusterTime": Timestamp(int(now.timestamp()) - 2, 1)}, now)
    with_wall_time = observe_change_lag(
        {
            "clusterTime": Timestamp(int(now.timestamp()), 1),
            "wallTime": (now - timedelta(milliseconds=40)).replace(tzinfo=None),
        },
        now,
    )
    clock_skew = observe_change_lag({"wallTime": now + timedelta(seconds=1)}, now)

    assert cluster_only == pytest.approx(2.25)
    assert with_wall_time == pytest.approx(0.04)
    assert clock_skew == 0
    assert observe_change_lag({}, now) is None
    assert sample("cairn_change_stream_lag_seconds_count") - before == 3


def test_the_exposition_holds_every_cairn_metric() -> None:
    from persistence.metrics import exposition

    body, content_type = exposition()

    assert content_type.startswith("text/plain")
    text = body.decode()
    for name in (
        "cairn_graphql_requests_total",
        "cairn_graphql_request_duration_seconds",
        "cairn_events_total",
        "cairn_events_guarded_total",
        "cairn_transaction_retries_total",
        "cairn_change_stream_lag_seconds",
        "cairn_live_subscribers",
        "cairn_live_executions_total",
        "cairn_live_deliveries_total",
        "cairn_database_errors_total",
    ):
        assert f"# TYPE {name} " in text, name
    assert 'cairn_events_guarded_total{reason="rate"}' in text
