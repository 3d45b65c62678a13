"""The notification inbox live: real WebSocket clients subscribed as themselves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from domain.access import Role
from tests.e2e.conftest import ADMIN_AUTH, Service, live_subscribers, wait_for_subscribers
from tests.factories import bearer

pytestmark = [pytest.mark.e2e, pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]

CATALOG = gql(
    """
    mutation {
      upsertContent(items: [
        {id: "note-1", title: "Note 1", kind: QUESTION, certification: "SAA"},
        {id: "note-2", title: "Note 2", kind: QUESTION, certification: "SAA"}
      ]) { contentId }
    }
    """
)
RECORD = gql(
    """
    mutation($input: RecordEventInput!) { recordEvent(input: $input) { status } }
    """
)
RECEIVED = gql(
    """
    subscription($after: ID) {
      notificationReceived(after: $after) { id kind title body data read }
    }
    """
)
INBOX = gql(
    """
    { viewer { unreadNotificationCount notifications(first: 10) { nodes { id kind } } } }
    """
)


@pytest.fixture
async def writer(service: Service) -> AsyncIterator[Any]:
    async with Client(
        transport=HTTPXAsyncTransport(url=service.graphql, headers=ADMIN_AUTH)
    ) as session:
        await session.execute(CATALOG)
        yield session


def as_learner(service: Service, learner_id: str) -> Client:
    transport = WebsocketsTransport(
        url=service.websocket,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"Authorization": bearer(learner_id, Role.LEARNER)},
    )
    return Client(transport=transport)


def record(learner_id: str, event_id: str, content_id: str, score: float) -> GraphQLRequest:
    event = {
        "learnerId": learner_id,
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": content_id,
        "score": score,
    }
    return GraphQLRequest(RECORD, variable_values={"input": event})


async def next_notification(updates: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.wait_for(anext(updates), timeout=15)
    notification: dict[str, Any] = result["notificationReceived"]
    return notification


async def test_each_learner_receives_their_own_notifications_live(
    service: Service, writer: Any
) -> None:
    ada, bob = f"ada-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    async with (
        as_learner(service, ada) as first,
        as_learner(service, ada) as second,
        as_learner(service, bob) as other,
    ):
        ada_one = first.subscribe(GraphQLRequest(RECEIVED))
        ada_two = second.subscribe(GraphQLRequest(RECEIVED))
        bobs = other.subscribe(GraphQLRequest(RECEIVED))
        before = live_subscribers(service)
        waiting = [
            asyncio.ensure_future(next_notification(updates))
            for updates in (ada_one, ada_two, bobs)
        ]
        await wait_for_subscribers(service, int(before) + 3)
        await writer.execute(record(ada, "e1", "note-1", 0.5))
        got_one, got_two = await asyncio.gather(waiting[0], waiting[1])
        await asyncio.sleep(0.5)
        bob_received = waiting[2].done()
        waiting[2].cancel()
        await asyncio.gather(waiting[2], return_exceptions=True)
        for updates in (ada_one, ada_two):
            await updates.aclose()

    assert not bob_received, "bob received ada's notification"
    assert got_one == got_two
    assert got_one["kind"] in {"ACHIEVEMENT_UNLOCKED", "LEVEL_UP", "MILESTONE"}
    assert got_one["read"] is False


async def test_a_reconnecting_client_gets_what_it_missed_and_the_inbox_agrees(
    service: Service, writer: Any
) -> None:
    ada = f"ada-{uuid.uuid4().hex[:6]}"
    async with as_learner(service, ada) as live:
        updates = live.subscribe(GraphQLRequest(RECEIVED))
        before = live_subscribers(service)
        pending = asyncio.ensure_future(next_notification(updates))
        await wait_for_subscribers(service, int(before) + 1)
        await writer.execute(record(ada, "e1", "note-1", 0.5))
        seen = await pending
        await updates.aclose()

    # While away: a perfect score on another item unlocks Perfectionist.
    await writer.execute(record(ada, "e2", "note-2", 1.0))

    async with as_learner(service, ada) as live:
        updates = live.subscribe(GraphQLRequest(RECEIVED, variable_values={"after": seen["id"]}))
        missed = await next_notification(updates)
        await updates.aclose()
        inbox = await live.execute(INBOX)

    assert missed["data"]["key"] == "perfect-score"
    ids = [n["id"] for n in inbox["viewer"]["notifications"]["nodes"]]
    assert seen["id"] in ids and missed["id"] in ids
    assert inbox["viewer"]["unreadNotificationCount"] == len(ids)
