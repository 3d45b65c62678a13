"""End to end: a real GraphQL client over HTTP and WebSocket against the running service."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.e2e.conftest import ADMIN_AUTH, Service, live_subscribers, wait_for_subscribers

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CATALOG = gql(
    """
    mutation {
      upsertSkills(skills: [{id: "e2e-ec2", name: "EC2"}]) { skillId }
      upsertContent(items: [{id: "e2e-q1", title: "Pick an instance", kind: QUESTION,
                             skillIds: ["e2e-ec2"], category: "EC2", certification: "SAA"}]) {
        contentId
      }
    }
    """
)
RECORD = gql(
    """
    mutation($input: RecordEventInput!) {
      recordEvent(input: $input) { status progress { contentId status bestScore } }
    }
    """
)
PROGRESS = gql(
    """
    subscription($learnerId: String!) {
      progressUpdated(learnerId: $learnerId) { learnerId contentId status }
    }
    """
)


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Any]:
    async with Client(
        transport=HTTPXAsyncTransport(url=service.graphql, headers=ADMIN_AUTH)
    ) as session:
        await session.execute(CATALOG)
        yield session


async def test_an_event_recorded_over_http_shows_in_the_learner_query(client: Any) -> None:
    event = {
        "learnerId": "e2e-ada",
        "eventId": "e2e-1",
        "type": "ANSWERED",
        "contentId": "e2e-q1",
        "score": 0.75,
        "timeSpentSeconds": 90,
    }
    recorded = await client.execute(GraphQLRequest(RECORD, variable_values={"input": event}))
    replayed = await client.execute(GraphQLRequest(RECORD, variable_values={"input": event}))

    assert recorded["recordEvent"]["progress"]["bestScore"] == 75.0
    assert replayed["recordEvent"]["status"] == "REPLAYED"
    result = await client.execute(
        gql('{ learner(id: "e2e-ada") { analytics { questionsAnswered averageScore } } }')
    )
    assert result["learner"]["analytics"] == {"questionsAnswered": 1, "averageScore": 75.0}


async def test_a_subscriber_over_websocket_sees_progress_after_an_event(
    service: Service, client: Any
) -> None:
    transport = WebsocketsTransport(
        url=service.websocket,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=ADMIN_AUTH,
    )
    async with Client(transport=transport) as live:
        updates = live.subscribe(
            GraphQLRequest(PROGRESS, variable_values={"learnerId": "e2e-grace"})
        )
        before = live_subscribers(service)
        first = asyncio.ensure_future(anext(aiter(updates)))
        await wait_for_subscribers(service, int(before) + 1)
        event = {
            "learnerId": "e2e-grace",
            "eventId": "g-1",
            "type": "VIEWED",
            "contentId": "e2e-q1",
        }
        await client.execute(GraphQLRequest(RECORD, variable_values={"input": event}))
        update = await asyncio.wait_for(first, timeout=15)
        await updates.aclose()

    assert update["progressUpdated"] == {
        "learnerId": "e2e-grace",
        "contentId": "e2e-q1",
        "status": "IN_PROGRESS",
    }


async def test_graphiql_and_every_asset_it_loads_are_served_locally(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=ADMIN_AUTH) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets, "the page loads no script or stylesheet"
        for asset in assets:
            assert asset.startswith("/graphql/assets/"), f"{asset} is not served locally"
            response = await http.get(asset)
            assert response.status_code == 200, asset


async def test_the_http_endpoint_follows_graphql_over_http(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=ADMIN_AUTH) as http:
        mutation_over_get = await http.get(
            "/graphql", params={"query": "mutation { upsertSkills(skills: []) { skillId } }"}
        )
        parse_error = await http.post(
            "/graphql",
            json={"query": "{ learner("},
            headers={"Accept": "application/graphql-response+json"},
        )
        live = await http.get("/health/live")
        ready = await http.get("/health/ready")

    assert mutation_over_get.status_code == 405
    assert parse_error.status_code == 400
    assert parse_error.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in parse_error.json()
    assert (live.status_code, ready.status_code) == (200, 200)
