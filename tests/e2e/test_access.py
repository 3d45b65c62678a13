"""End to end: who may do what, with real tokens, over HTTP and WebSocket.

An administrator sets up a group (an educator and a member) and a guardianship through the
GraphQL mutations; then each role's token is tried against the running service.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from domain.access import Role
from schema.tokens import issue_token
from tests.e2e.conftest import (
    ADMIN_AUTH,
    Service,
    live_subscribers,
    start_service,
    stop_service,
    wait_for_subscribers,
)
from tests.factories import TEST_SECRET, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
OTHER_SECRET = "another-service-entirely-its-own-secret-0123"
CHALLENGE = 'Bearer realm="cairn"'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="cairn", error="invalid_token"'

SETUP = """
mutation($skill: String!, $item: String!, $other: String!, $group: String!,
         $educator: String!, $member: String!, $parent: String!, $child: String!) {
  upsertSkills(skills: [{id: $skill, name: "Access skill"}]) { skillId }
  upsertContent(items: [{id: $item, title: "Access question", kind: QUESTION,
                         skillIds: [$skill], certification: "SAA"}]) { contentId }
  upsertLearner(input: {id: $other, displayName: "Someone else"}) { learnerId }
  upsertGroup(input: {id: $group, name: "Access class", educatorIds: [$educator]}) {
    groupId educatorIds
  }
  addGroupMembers(groupId: $group, learnerIds: [$member]) { changed }
  linkGuardian(parentId: $parent, learnerId: $child) { linked changed }
}
"""
RECORD = """
mutation($input: RecordEventInput!) {
  recordEvent(input: $input) { learnerId status newAchievements { key seq } }
}
"""
LEARNER = """
query($id: String!) { learner(id: $id) { learnerId } }
"""
OWN_DATA = """
query($id: String!) {
  learner(id: $id) {
    learnerId
    analytics { questionsAnswered averageScore totalEvents }
    dashboard { totalPoints overallAnalytics { totalEvents } }
  }
}
"""
AWARD = """
mutation($input: AwardPointsInput!) { awardPoints(input: $input) { totalPoints replayed } }
"""
UNLOCKED = gql(
    """
    subscription($learnerId: String!) {
      achievementUnlocked(learnerId: $learnerId) { learnerId key seq }
    }
    """
)

PROGRESS = gql(
    """
    subscription($learnerId: String!) { progressUpdated(learnerId: $learnerId) { status } }
    """
)


@dataclass(frozen=True)
class World:
    """The people of one test run; ids unique to it, so other e2e tests sharing the service
    do not see them."""

    item: str
    learner: str  # a learner with no ties to anyone
    other: str  # another learner, known to the service, tied to no one here
    group: str
    educator: str
    member: str  # in the educator's group
    parent: str
    child: str  # the parent's


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(service: Service) -> World:
    run = uuid.uuid4().hex[:8]
    people = World(
        item=f"acc-{run}-q1",
        learner=f"acc-{run}-learner",
        other=f"acc-{run}-other",
        group=f"acc-{run}-class",
        educator=f"acc-{run}-educator",
        member=f"acc-{run}-member",
        parent=f"acc-{run}-parent",
        child=f"acc-{run}-child",
    )
    variables = {
        "skill": f"acc-{run}-skill",
        "item": people.item,
        "other": people.other,
        "group": people.group,
        "educator": people.educator,
        "member": people.member,
        "parent": people.parent,
        "child": people.child,
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(
            service.graphql,
            json={"query": SETUP, "variables": variables},
            headers=ADMIN_AUTH,
            timeout=15,
        )
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    assert body["data"]["upsertGroup"]["educatorIds"] == [people.educator]
    assert body["data"]["addGroupMembers"]["changed"] == 1
    assert body["data"]["linkGuardian"] == {"linked": True, "changed": True}
    return people


async def post(
    service: Service,
    query: str,
    *,
    authorization: str | None = None,
    **variables: object,
) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient() as http:
        return await http.post(
            service.graphql,
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=15,
        )


def ok(response: httpx.Response) -> dict[str, Any]:
    """The data of a response that must have succeeded whole."""
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def codes(body: dict[str, Any]) -> list[object]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def event(learner_id: str, event_id: str, content_id: str, **fields: object) -> dict[str, object]:
    return {
        "learnerId": learner_id,
        "eventId": event_id,
        "type": "ANSWERED",
        "contentId": content_id,
        "score": 0.8,
        "timeSpentSeconds": 60,
        **fields,
    }


def unsigned_token(subject: str, *roles: Role) -> str:
    """An `alg: none` token: a header and claims, and an empty signature."""

    def part(value: dict[str, object]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    expires = int(time.time()) + 3600
    claims = {"sub": subject, "roles": [str(role) for role in roles], "exp": expires}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


# HTTP: who gets in


async def test_anonymous_introspection_is_answered(service: Service) -> None:
    typename = await post(service, "{ __typename }")
    schema = await post(service, "{ __schema { queryType { name } } }")

    assert ok(typename) == {"__typename": "Query"}
    assert ok(schema) == {"__schema": {"queryType": {"name": "Query"}}}


async def test_anonymous_request_for_data_is_refused_with_a_challenge(service: Service) -> None:
    response = await post(service, "{ viewer { userId } }")

    body = response.json()
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "data" not in body


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_the_refusal_is_a_401_whatever_the_media_type(service: Service, accept: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            service.graphql, json={"query": "{ viewer { userId } }"}, headers={"Accept": accept}
        )

    assert response.status_code == 401
    assert response.headers["content-type"].startswith(accept)
    assert response.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize(
    ("query", "operation_name"),
    [
        ("{ ...Smuggled } fragment Smuggled on Query { viewer { userId } }", None),
        ("{ ... on Query { viewer { userId } } }", None),
        ("query Harmless { __typename } query Wanted { viewer { userId } }", "Wanted"),
    ],
    ids=["fragment spread", "inline fragment", "second operation"],
)
async def test_anonymous_data_reached_through_fragments_or_operations_is_refused(
    service: Service, query: str, operation_name: str | None
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            service.graphql, json={"query": query, "operationName": operation_name}, timeout=15
        )

    body = response.json()
    assert response.status_code == 401, body
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "data" not in body


async def test_introspection_is_answered_despite_an_invalid_token(service: Service) -> None:
    response = await post(service, "{ __typename }", authorization="Bearer junk")

    assert ok(response) == {"__typename": "Query"}


async def test_anonymous_request_mixing_introspection_and_data_is_refused_whole(
    service: Service,
) -> None:
    response = await post(service, "{ __typename viewer { userId } }")

    assert response.status_code == 401
    assert "data" not in response.json()


async def test_an_expired_token_is_refused_as_invalid(service: Service) -> None:
    token = issue_token(
        TEST_SECRET,
        subject="acc-late",
        roles=[Role.LEARNER],
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=2),
    )

    response = await post(service, "{ viewer { userId } }", authorization=f"Bearer {token}")

    body = response.json()
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "expired" in body["errors"][0]["message"]
    assert "data" not in body


async def test_a_token_signed_with_another_secret_is_refused_as_invalid(
    service: Service,
) -> None:
    token = issue_token(OTHER_SECRET, subject="acc-forger", roles=[Role.ADMIN], ttl_seconds=600)

    response = await post(service, "{ viewer { userId } }", authorization=f"Bearer {token}")

    body = response.json()
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "signature" in body["errors"][0]["message"]
    assert "data" not in body


async def test_an_unsigned_token_is_refused_as_invalid(service: Service) -> None:
    token = unsigned_token("acc-forger", Role.ADMIN)

    response = await post(service, "{ viewer { userId } }", authorization=f"Bearer {token}")

    body = response.json()
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "algorithm" in body["errors"][0]["message"]
    assert "data" not in body


async def test_a_valid_token_says_who_the_viewer_is(service: Service) -> None:
    response = await post(
        service,
        "{ viewer { userId roles } }",
        authorization=bearer("acc-someone", Role.LEARNER, Role.PARENT),
    )

    assert ok(response) == {"viewer": {"userId": "acc-someone", "roles": ["LEARNER", "PARENT"]}}


# HTTP: what each role may do


async def test_a_learner_records_for_themselves_and_reads_their_own_data(
    service: Service, world: World
) -> None:
    token = bearer(world.learner, Role.LEARNER)

    recorded = await post(
        service,
        RECORD,
        authorization=token,
        input=event(world.learner, "own-1", world.item, score=0.8),
    )
    read = await post(service, OWN_DATA, authorization=token, id=world.learner)

    assert ok(recorded)["recordEvent"]["status"] == "RECORDED"
    learner = ok(read)["learner"]
    assert learner["learnerId"] == world.learner
    assert learner["analytics"] == {"questionsAnswered": 1, "averageScore": 80.0, "totalEvents": 1}
    assert learner["dashboard"]["overallAnalytics"] == {"totalEvents": 1}
    assert learner["dashboard"]["totalPoints"] > 0


async def test_a_learner_may_not_read_another_learner(service: Service, world: World) -> None:
    response = await post(
        service, LEARNER, authorization=bearer(world.learner, Role.LEARNER), id=world.other
    )

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"learner": None}
    assert codes(body) == ["FORBIDDEN"]


async def test_a_learner_may_not_record_for_another_learner(service: Service, world: World) -> None:
    response = await post(
        service,
        RECORD,
        authorization=bearer(world.learner, Role.LEARNER),
        input=event(world.other, "not-mine-1", world.item),
    )

    body = response.json()
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


async def test_a_learner_may_not_reach_another_learner_by_global_id_or_in_a_batch(
    service: Service, world: World
) -> None:
    global_id = ok(
        await post(
            service,
            "query($id: String!) { learner(id: $id) { id } }",
            authorization=ADMIN_AUTH["Authorization"],
            id=world.other,
        )
    )["learner"]["id"]
    token = bearer(world.learner, Role.LEARNER)

    node = await post(
        service,
        "query($id: ID!) { node(id: $id) { id } }",
        authorization=token,
        id=global_id,
    )
    batch = await post(
        service,
        "query($ids: [String!]!) { learners(ids: $ids) { learnerId } }",
        authorization=token,
        ids=[world.learner, world.other],
    )

    node_body = node.json()
    assert node_body["data"] == {"node": None}
    assert codes(node_body) == ["FORBIDDEN"]
    batch_body = batch.json()
    assert batch_body["data"] is None  # learners is non-null: the refusal nulls the whole data
    assert codes(batch_body) == ["FORBIDDEN"]


async def test_a_parent_reads_their_child_and_no_one_else(service: Service, world: World) -> None:
    token = bearer(world.parent, Role.PARENT)

    child = await post(service, LEARNER, authorization=token, id=world.child)
    stranger = await post(service, LEARNER, authorization=token, id=world.other)

    assert ok(child) == {"learner": {"learnerId": world.child}}
    body = stranger.json()
    assert body["data"] == {"learner": None}
    assert codes(body) == ["FORBIDDEN"]


async def test_a_parent_sees_their_children_as_the_viewer(service: Service, world: World) -> None:
    response = await post(
        service,
        "{ viewer { userId children { learnerId } } }",
        authorization=bearer(world.parent, Role.PARENT),
    )

    assert ok(response)["viewer"] == {
        "userId": world.parent,
        "children": [{"learnerId": world.child}],
    }


async def test_an_educator_sees_the_members_of_their_group(service: Service, world: World) -> None:
    response = await post(
        service,
        "query($id: String!) { group(id: $id) { memberCount members { nodes { learnerId } } } }",
        authorization=bearer(world.educator, Role.EDUCATOR),
        id=world.group,
    )

    assert ok(response)["group"] == {
        "memberCount": 1,
        "members": {"nodes": [{"learnerId": world.member}]},
    }


async def test_an_educator_reads_and_awards_points_to_a_member(
    service: Service, world: World
) -> None:
    token = bearer(world.educator, Role.EDUCATOR)
    award = {"learnerId": world.member, "awardId": "acc-award-1", "amount": 25, "reason": "Help"}

    member = await post(service, LEARNER, authorization=token, id=world.member)
    awarded = await post(service, AWARD, authorization=token, input=award)

    assert ok(member) == {"learner": {"learnerId": world.member}}
    assert ok(awarded)["awardPoints"] == {"totalPoints": 25, "replayed": False}


async def test_an_educator_may_not_read_or_award_a_learner_outside_their_groups(
    service: Service, world: World
) -> None:
    token = bearer(world.educator, Role.EDUCATOR)
    award = {"learnerId": world.other, "awardId": "acc-award-2", "amount": 25, "reason": "Help"}

    read = await post(service, LEARNER, authorization=token, id=world.other)
    awarded = await post(service, AWARD, authorization=token, input=award)

    read_body = read.json()
    assert read_body["data"] == {"learner": None}
    assert codes(read_body) == ["FORBIDDEN"]
    award_body = awarded.json()
    assert award_body["data"] is None
    assert codes(award_body) == ["FORBIDDEN"]


async def test_a_service_records_events_for_any_learner(service: Service, world: World) -> None:
    response = await post(
        service,
        RECORD,
        authorization=bearer(f"acc-backend-{uuid.uuid4().hex[:6]}", Role.SERVICE),
        input=event(world.other, "svc-1", world.item),
    )

    result = ok(response)["recordEvent"]
    assert result["learnerId"] == world.other
    assert result["status"] == "RECORDED"


# WebSocket


def subscriber(service: Service, authorization: str | None) -> Client:
    payload = {} if authorization is None else {"Authorization": authorization}
    transport = WebsocketsTransport(
        url=service.websocket,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=payload,
    )
    return Client(transport=transport)


async def next_result(updates: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.wait_for(anext(updates), timeout=15)
    return result


async def test_a_learner_follows_their_own_unlocks(service: Service, world: World) -> None:
    learner = f"{world.learner}-live-{uuid.uuid4().hex[:6]}"
    token = bearer(learner, Role.LEARNER)
    async with subscriber(service, token) as live:
        updates = live.subscribe(GraphQLRequest(UNLOCKED, variable_values={"learnerId": learner}))
        before = live_subscribers(service)
        pending = asyncio.ensure_future(next_result(updates))
        await wait_for_subscribers(service, int(before) + 1)
        recorded = await post(
            service,
            RECORD,
            authorization=token,
            input=event(learner, "live-1", world.item, score=0.9, type="COMPLETED"),
        )
        unlock = await pending
        await updates.aclose()

    first_unlocks = ok(recorded)["recordEvent"]["newAchievements"]
    assert {"key": "first-event", "seq": 1} in first_unlocks
    assert unlock["achievementUnlocked"] == {"learnerId": learner, "key": "first-event", "seq": 1}


@pytest.mark.parametrize("subscription", [UNLOCKED, PROGRESS], ids=["unlocks", "progress"])
async def test_following_another_learner_is_forbidden_at_once(
    service: Service, world: World, subscription: Any
) -> None:
    async with subscriber(service, bearer(world.learner, Role.LEARNER)) as live:
        updates = live.subscribe(
            GraphQLRequest(subscription, variable_values={"learnerId": world.other})
        )
        with pytest.raises(TransportQueryError) as refused:
            await next_result(updates)

    assert refused.value.errors is not None
    assert [error["extensions"]["code"] for error in refused.value.errors] == ["FORBIDDEN"]


async def test_a_websocket_with_an_invalid_token_is_closed(service: Service) -> None:
    with pytest.raises(TransportError):
        async with subscriber(service, "Bearer junk"):
            pass


async def open_websocket(service: Service, authorization: str | None) -> ClientConnection:
    """A raw graphql-transport-ws connection that has sent its `connection_init`."""
    websocket = await connect(service.websocket, subprotocols=[GRAPHQL_TRANSPORT_WS])
    payload = {} if authorization is None else {"Authorization": authorization}
    await websocket.send(json.dumps({"type": "connection_init", "payload": payload}))
    return websocket


async def acknowledged(websocket: ClientConnection) -> bool:
    message = json.loads(await asyncio.wait_for(websocket.recv(), timeout=10))
    return bool(message["type"] == "connection_ack")


async def close_code(websocket: ClientConnection) -> int | None:
    """The code the server closes the connection with (it must close it, unasked)."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(websocket.recv(), timeout=10)
    return None if closed.value.rcvd is None else closed.value.rcvd.code


async def test_a_websocket_with_an_invalid_token_is_closed_with_4403(service: Service) -> None:
    websocket = await open_websocket(service, "Bearer junk")
    try:
        assert await close_code(websocket) == 4403
    finally:
        await websocket.close()


async def test_a_websocket_with_an_expired_token_is_closed_with_4403(service: Service) -> None:
    token = issue_token(
        TEST_SECRET,
        subject="acc-late",
        roles=[Role.LEARNER],
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    websocket = await open_websocket(service, f"Bearer {token}")
    try:
        assert await close_code(websocket) == 4403
    finally:
        await websocket.close()


async def test_an_anonymous_websocket_may_not_follow_a_learner(
    service: Service, world: World
) -> None:
    async with subscriber(service, None) as live:
        updates = live.subscribe(
            GraphQLRequest(UNLOCKED, variable_values={"learnerId": world.learner})
        )
        with pytest.raises(TransportQueryError) as refused:
            await next_result(updates)

    assert refused.value.errors is not None
    assert [error["extensions"]["code"] for error in refused.value.errors] == ["UNAUTHENTICATED"]


# The per-viewer WebSocket cap


@pytest.fixture
def capped_service(tmp_path: Path) -> Iterator[Service]:
    """A service of its own that lets each viewer open two WebSockets at most."""
    process, running = start_service(
        tmp_path,
        database=f"cairn_e2e_cap_{uuid.uuid4().hex[:8]}",
        env={"CAIRN_MAX_WEBSOCKETS_PER_VIEWER": "2"},
    )
    try:
        yield running
    finally:
        stop_service(process)


@pytest_asyncio.fixture(loop_scope="session")
async def websockets_to_close() -> AsyncIterator[list[ClientConnection]]:
    opened: list[ClientConnection] = []
    try:
        yield opened
    finally:
        for websocket in opened:
            await websocket.close()


async def test_a_viewer_beyond_their_websocket_cap_is_closed_with_4403(
    capped_service: Service, websockets_to_close: list[ClientConnection]
) -> None:
    token = bearer("acc-busy", Role.LEARNER)

    async def opened(authorization: str) -> ClientConnection:
        websocket = await open_websocket(capped_service, authorization)
        websockets_to_close.append(websocket)
        return websocket

    first = await opened(token)
    assert await acknowledged(first)
    second = await opened(token)
    assert await acknowledged(second)

    third = await opened(token)
    assert await close_code(third) == 4403
    someone_else = await opened(bearer("acc-quiet", Role.LEARNER))
    assert await acknowledged(someone_else)

    await first.close()
    await first.wait_closed()
    again = await opened(token)
    assert await acknowledged(again)
