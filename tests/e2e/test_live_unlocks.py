"""Live unlocks across processes: two services on one database, a real WebSocket client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.e2e.conftest import (
    ADMIN_AUTH,
    Service,
    live_subscribers,
    start_service,
    stop_service,
    wait_for_subscribers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

QUESTIONS = ["live-1", "live-2", *(f"live-q{n}" for n in range(10))]
ITEMS = ", ".join(
    f'{{id: "{item}", title: "{item}", kind: QUESTION, skillIds: ["live-s"], certification: "SAA"}}'
    for item in QUESTIONS
)
CATALOG_TEXT = f"""
mutation {{
  upsertSkills(skills: [{{id: "live-s", name: "Live skill"}}]) {{ skillId }}
  upsertContent(items: [{ITEMS}]) {{ contentId }}
}}
"""
CATALOG = gql(CATALOG_TEXT)
RECORD_TEXT = """
mutation($input: RecordEventInput!) {
  recordEvent(input: $input) {
    status pointsEarned
    newAchievements { key title description badgeIcon points }
  }
}
"""
RECORD = gql(RECORD_TEXT)
UNLOCKED = gql(
    """
    subscription($learnerId: String!, $after: ID) {
      achievementUnlocked(learnerId: $learnerId, after: $after) { id key seq title points }
    }
    """
)


@pytest.fixture(scope="module")
def two_services(
    real_mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, Service]]:
    database = f"cairn_live_{uuid.uuid4().hex[:8]}"
    env = {"CAIRN_MONGODB_URI": real_mongodb_uri}
    first, a = start_service(Path(tmp_path_factory.mktemp("a")), database=database, env=env)
    try:
        second, b = start_service(Path(tmp_path_factory.mktemp("b")), database=database, env=env)
        try:
            yield a, b
        finally:
            stop_service(second)
    finally:
        stop_service(first)


@pytest.fixture
async def writer(two_services: tuple[Service, Service]) -> AsyncIterator[Any]:
    async with Client(
        transport=HTTPXAsyncTransport(url=two_services[0].graphql, headers=ADMIN_AUTH)
    ) as session:
        await session.execute(CATALOG)
        yield session


def record(learner_id: str, event_id: str, **fields: object) -> GraphQLRequest:
    event: dict[str, object] = {
        "learnerId": learner_id,
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": "live-1",
        **fields,
    }
    return GraphQLRequest(RECORD, variable_values={"input": event})


def subscriber(service: Service) -> Client:
    transport = WebsocketsTransport(
        url=service.websocket,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=ADMIN_AUTH,
    )
    return Client(transport=transport)


async def next_unlock(updates: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.wait_for(anext(updates), timeout=15)
    unlock: dict[str, Any] = result["achievementUnlocked"]
    return unlock


async def test_an_unlock_made_through_one_process_reaches_a_subscriber_of_another(
    two_services: tuple[Service, Service], writer: Any
) -> None:
    learner = f"live-{uuid.uuid4().hex[:6]}"
    async with subscriber(two_services[1]) as live:
        updates = live.subscribe(GraphQLRequest(UNLOCKED, variable_values={"learnerId": learner}))
        before = live_subscribers(two_services[1])
        pending = asyncio.ensure_future(next_unlock(updates))
        await wait_for_subscribers(two_services[1], int(before) + 1)
        payload = await writer.execute(record(learner, "e1", score=0.5))
        unlock = await pending
        await updates.aclose()

    assert payload["recordEvent"]["newAchievements"] == [
        {
            "key": "first-event",
            "title": "First Steps",
            "description": "Recorded your first learning activity",
            "badgeIcon": "👣",
            "points": 10,
        }
    ]
    assert unlock["key"] == "first-event"
    assert unlock["seq"] == 1


async def test_a_reconnecting_subscriber_gets_what_it_missed_then_live_unlocks(
    two_services: tuple[Service, Service], writer: Any
) -> None:
    learner = f"live-{uuid.uuid4().hex[:6]}"
    async with subscriber(two_services[1]) as live:
        updates = live.subscribe(GraphQLRequest(UNLOCKED, variable_values={"learnerId": learner}))
        before = live_subscribers(two_services[1])
        pending = asyncio.ensure_future(next_unlock(updates))
        await wait_for_subscribers(two_services[1], int(before) + 1)
        await writer.execute(record(learner, "e1", score=0.5))
        seen = await pending
        await updates.aclose()

    # While disconnected: a perfect score unlocks "perfect-score".
    await writer.execute(record(learner, "e2", contentId="live-2", score=1.0))

    async with subscriber(two_services[1]) as live:
        variables = {"learnerId": learner, "after": seen["id"]}
        updates = live.subscribe(GraphQLRequest(UNLOCKED, variable_values=variables))
        missed = await next_unlock(updates)  # it is registered: it already sent what was missed
        pending = asyncio.ensure_future(next_unlock(updates))
        # Live again: ten questions answered at 100% unlock the average-score achievements.
        for n in range(10):
            await writer.execute(record(learner, f"a{n}", contentId=f"live-q{n}", score=1.0))
        following = await pending
        await updates.aclose()

    assert missed["key"] == "perfect-score"
    assert missed["seq"] == 2
    assert following["seq"] == 3


SHARED_UNLOCKS = """
subscription($learnerId: String!) {
  achievementUnlocked(learnerId: $learnerId) { id key seq title points }
}
"""


def shared_counts(service: Service) -> tuple[float, float]:
    """`cairn_live_executions_total` and `cairn_live_deliveries_total` of the service."""
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    counts = {
        name: float(line.split()[1])
        for line in text.splitlines()
        for name in ("cairn_live_executions_total", "cairn_live_deliveries_total")
        if line.startswith(f"{name} ")
    }
    return counts["cairn_live_executions_total"], counts["cairn_live_deliveries_total"]


async def subscribed_socket(service: Service, op: str, learner: str) -> ClientConnection:
    """A raw graphql-transport-ws client, acknowledged and subscribed."""
    websocket = await connect(service.websocket, subprotocols=[Subprotocol("graphql-transport-ws")])
    await websocket.send(json.dumps({"type": "connection_init", "payload": ADMIN_AUTH}))
    assert json.loads(await asyncio.wait_for(websocket.recv(), timeout=10)) == {
        "type": "connection_ack"
    }
    payload = {"query": SHARED_UNLOCKS, "variables": {"learnerId": learner}}
    await websocket.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
    return websocket


async def test_many_clients_of_one_operation_receive_one_and_the_same_payload(
    service: Service,
) -> None:
    learner = f"many-{uuid.uuid4().hex[:6]}"
    before = live_subscribers(service)
    executions, deliveries = shared_counts(service)
    clients = [await subscribed_socket(service, f"op-{n}", learner) for n in range(20)]
    try:
        await wait_for_subscribers(service, int(before) + 20)
        async with httpx.AsyncClient(headers=ADMIN_AUTH, timeout=15) as http:
            await http.post(service.graphql, json={"query": CATALOG_TEXT})
            event = {
                "learnerId": learner,
                "eventId": "e1",
                "type": "ANSWERED",
                "contentId": "live-1",
                "score": 0.5,
            }
            recorded = await http.post(
                service.graphql, json={"query": RECORD_TEXT, "variables": {"input": event}}
            )
        messages = [
            json.loads(await asyncio.wait_for(client.recv(), timeout=15)) for client in clients
        ]
    finally:
        await asyncio.gather(*(client.close() for client in clients))

    assert recorded.json()["data"]["recordEvent"]["status"] == "RECORDED"
    # One execution, delivered to the twenty.
    assert shared_counts(service) == (executions + 1, deliveries + 20)
    assert [message["id"] for message in messages] == [f"op-{n}" for n in range(20)]
    assert {message["type"] for message in messages} == {"next"}
    payloads = {json.dumps(message["payload"], sort_keys=True) for message in messages}
    assert len(payloads) == 1
    unlock = messages[0]["payload"]["data"]["achievementUnlocked"]
    assert (unlock["key"], unlock["seq"]) == ("first-event", 1)
