"""The running service's `/metrics` and its JSON logs (`CAIRN_LOG_FORMAT=json`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ADMIN_AUTH, Service, start_service, stop_service

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CATALOG = """
mutation {
  upsertSkills(skills: [{id: "obs-s", name: "Observed"}]) { skillId }
  upsertContent(items: [{id: "obs-q1", title: "Observed question", kind: QUESTION,
                         skillIds: ["obs-s"], certification: "SAA", estimatedMinutes: 10}]) {
    contentId
  }
}
"""
RECORD = """
mutation Record($input: RecordEventInput!) { recordEvent(input: $input) { status } }
"""
PROGRESS = gql(
    """
    subscription Follow($learnerId: String!) {
      progressUpdated(learnerId: $learnerId) { contentId status }
    }
    """
)
CAIRN_METRICS = (
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
    "cairn_webhook_deliveries_total",
)


@dataclass(frozen=True)
class Running:
    service: Service
    log: Path


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("observed")
    process, service = start_service(
        data_dir,
        database=f"cairn_obs_{uuid.uuid4().hex[:8]}",
        env={"CAIRN_LOG_FORMAT": "json", "CAIRN_LOG_LEVEL": "info"},
    )
    # start_service sends the process's stdout and stderr to this file.
    log = data_dir / f"service-{urlsplit(service.url).port}.log"
    try:
        yield Running(service, log)
    finally:
        stop_service(process)


def event(event_id: str, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "learnerId": "obs-ada",
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": "obs-q1",
        "score": 0.9,
        "timeSpentSeconds": 60,
    }
    values.update(overrides)
    return values


async def post(
    http: httpx.AsyncClient, query: str, request_id: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"X-Request-ID": request_id} if request_id else {}
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient) -> tuple[set[str], Samples]:
    """The metric families /metrics declares, and every sample's value."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return declared, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = 15, what: str = "condition"
) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_metrics_are_served_in_the_prometheus_text_format(running: Running) -> None:
    service = running.service
    async with httpx.AsyncClient(base_url=service.url, headers=ADMIN_AUTH) as http:
        assert (await post(http, CATALOG)).status_code == 200
        await post(http, RECORD, input=event("m-1"))
        await post(http, RECORD, input=event("m-1"))  # replayed
        await post(http, RECORD, input=event("m-2", contentId="obs-nope"))  # failed
        await post(http, RECORD, input=event("m-3", timeSpentSeconds=7200))  # time capped
        await post(http, '{ learner(id: "obs-ada") { id } }')
        await post(http, "{ nope }")  # a validation error

        declared, samples = await scrape(http)

        for name in CAIRN_METRICS:
            assert name in declared, name
        assert value(samples, "cairn_events_total", outcome="recorded") == 2
        assert value(samples, "cairn_events_total", outcome="replayed") == 1
        assert value(samples, "cairn_events_total", outcome="failed") == 1
        assert value(samples, "cairn_events_guarded_total", reason="time_capped") == 1
        requests = "cairn_graphql_requests_total"
        assert value(samples, requests, operation_type="mutation", outcome="ok") >= 4
        assert value(samples, requests, operation_type="mutation", outcome="client_error") == 1
        assert value(samples, requests, operation_type="query", outcome="ok") >= 1
        assert value(samples, requests, operation_type="query", outcome="client_error") == 1
        assert value(samples, requests, operation_type="query", outcome="server_error") == 0
        histogram = "cairn_graphql_request_duration_seconds_count"
        assert value(samples, histogram, operation_type="mutation") >= 5
        assert value(samples, "cairn_transaction_retries_total", kind="unit") >= 0
        assert ("cairn_live_subscribers", ()) in samples


async def test_a_live_subscriber_shows_in_the_gauge_and_gets_an_access_line(
    running: Running,
) -> None:
    service = running.service
    transport = WebsocketsTransport(
        url=service.websocket,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=ADMIN_AUTH,
    )
    async with httpx.AsyncClient(base_url=service.url, headers=ADMIN_AUTH) as http:
        await post(http, CATALOG)

        def subscribers(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                _, samples = await scrape(http)
                return value(samples, "cairn_live_subscribers") == count

            return check

        async with Client(transport=transport) as live:
            updates = live.subscribe(
                GraphQLRequest(PROGRESS, variable_values={"learnerId": "obs-grace"})
            )
            first = asyncio.ensure_future(anext(aiter(updates)))
            await eventually(subscribers(1), what="the subscriber to register")
            await post(http, RECORD, input=event("w-1", learnerId="obs-grace", type="VIEWED"))
            update = await asyncio.wait_for(first, timeout=15)
            await updates.aclose()
            # The embedded server has change streams: while a topic is followed, its writes
            # arrive on the process's stream for it.
            _, samples = await scrape(http)
            assert value(samples, "cairn_change_stream_lag_seconds_count") > 0
        await eventually(subscribers(0), what="the subscriber to leave")

    assert update["progressUpdated"]["contentId"] == "obs-q1"

    async def access_line() -> bool:
        return any(
            line.get("logger") == "cairn.access" and line.get("operation") == "Follow"
            for line in read_log(running.log)
        )

    await eventually(access_line, what="the subscription's access line")
    [line] = [r for r in read_log(running.log) if r.get("operation") == "Follow"]
    assert (line["operation_type"], line["outcome"]) == ("subscription", "ok")
    assert len(line["request_id"]) == 32


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every line the service wrote, each parsed as JSON (a line that is not fails the test)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


async def test_the_logs_are_json_lines_carrying_the_request_id(running: Running) -> None:
    service = running.service
    async with httpx.AsyncClient(base_url=service.url, headers=ADMIN_AUTH) as http:
        await post(http, CATALOG)
        ok = await post(http, 'query Mine { learner(id: "obs-ada") { id } }', "e2e-json-1")
        bad = await post(http, RECORD, "e2e-json-2", input=event("j-1", contentId="obs-nope"))
        health = await http.get("/health/live")

    assert ok.headers["x-request-id"] == "e2e-json-1"
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(health.headers["x-request-id"]) == 32

    async def both_logged() -> bool:
        ids = {line.get("request_id") for line in read_log(running.log)}
        return {"e2e-json-1", "e2e-json-2"} <= ids

    await eventually(both_logged, what="the access lines")
    records = read_log(running.log)
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert record["time"].endswith("Z")
    assert any(r["logger"].startswith("uvicorn") for r in records)  # uvicorn's lines too
    [mine] = [r for r in records if r.get("request_id") == "e2e-json-1"]
    assert (mine["logger"], mine["level"], mine["operation"]) == ("cairn.access", "INFO", "Mine")
    assert mine["outcome"] == "ok"
    assert isinstance(mine["duration_ms"], float)
    client_error = [r for r in records if r.get("request_id") == "e2e-json-2"]
    assert [r["outcome"] for r in client_error] == ["client_error"]
    # Nothing the clients did here is a fault: no error lines, no tracebacks.
    assert [r for r in records if r["level"] in ("ERROR", "CRITICAL") or "exc_info" in r] == []
