"""Who is asking, over HTTP and WebSocket: bearer tokens, and what an anonymous client may do."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect

from domain.access import Role
from resolvers.services import Services
from schema import build_schema
from schema.context import Context, new_context
from schema.http import graphql_routes
from schema.ratelimit import RateLimiter
from schema.tokens import TokenSettings, TokenVerifier, issue_token
from tests.factories import NOW, TEST_SECRET, TOKENS, bearer
from tests.schema.conftest import seed_catalog

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
PROTOCOL = ["graphql-transport-ws"]
ADA = bearer("ada", Role.LEARNER)


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(capacity=10_000, refill_per_second=1)


@pytest.fixture
async def client(services: Services, limiter: RateLimiter) -> AsyncIterator[TestClient]:
    await seed_catalog(services)

    async def context_for(connection: Request | WebSocket) -> Context:
        return new_context(services, client="10.0.0.9")

    routes = graphql_routes(
        build_schema(rate_limiter=limiter),
        context_getter=context_for,
        tokens=TOKENS,
        assets_dir=Path("/nonexistent"),
        max_websockets_per_viewer=2,
    )
    with TestClient(Starlette(routes=routes)) as test_client:
        yield test_client


def post(
    client: TestClient,
    query: str,
    *,
    authorization: str | None = None,
    accept: str = GRAPHQL_RESPONSE,
) -> tuple[int, dict[str, str], Any]:
    headers = {"accept": accept}
    if authorization is not None:
        headers["authorization"] = authorization
    response = client.post("/graphql", json={"query": query}, headers=headers)
    return response.status_code, dict(response.headers), response.json()


def codes(body: Any) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


# --- HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ __typename }",
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Learner") { name } }',
        "query Docs { ...Root } fragment Root on Query { __schema { types { name } } }",
    ],
)
def test_without_a_token_introspection_still_answers(client: TestClient, query: str) -> None:
    status, _, body = post(client, query)

    assert status == 200
    assert "errors" not in body and body["data"]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
def test_without_a_token_anything_else_is_a_401_with_a_bearer_challenge(
    client: TestClient, accept: str
) -> None:
    status, headers, body = post(client, '{ learner(id: "ada") { learnerId } }', accept=accept)

    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="cairn"'
    assert codes(body) == ["UNAUTHENTICATED"]
    assert "data" not in body
    assert "Authorization" in body["errors"][0]["message"]


def test_introspection_does_not_carry_a_data_field_past_the_check(client: TestClient) -> None:
    status, _, body = post(client, '{ __typename learner(id: "ada") { learnerId } }')

    assert status == 401
    assert codes(body) == ["UNAUTHENTICATED"]


def expired() -> str:
    token = issue_token(
        TEST_SECRET,
        subject="ada",
        roles=[Role.LEARNER],
        ttl_seconds=60,
        now=NOW - timedelta(days=1),
    )
    return f"Bearer {token}"


def forged() -> str:
    token = issue_token(
        "another-secret-of-at-least-32-bytes!!", subject="ada", roles=["admin"], ttl_seconds=60
    )
    return f"Bearer {token}"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (expired(), "expired"),
        (forged(), "signature"),
        ("Bearer not.a.token", "malformed"),
        ("Basic YWRhOnNlY3JldA==", "Bearer"),
    ],
)
def test_an_invalid_token_is_a_401_saying_why(
    client: TestClient, authorization: str, reason: str
) -> None:
    status, headers, body = post(client, "{ viewer { userId } }", authorization=authorization)

    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="cairn", error="invalid_token"'
    assert codes(body) == ["UNAUTHENTICATED"]
    assert reason in body["errors"][0]["message"]


def test_an_invalid_token_still_lets_the_docs_load(client: TestClient) -> None:
    status, _, body = post(client, "{ __schema { queryType { name } } }", authorization=expired())

    assert status == 200
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_a_valid_token_makes_the_viewer(client: TestClient) -> None:
    status, _, body = post(client, "{ viewer { userId roles } }", authorization=ADA)

    assert status == 200
    assert body["data"] == {"viewer": {"userId": "ada", "roles": ["LEARNER"]}}


def test_a_forbidden_object_is_a_field_error_that_tells_nothing(client: TestClient) -> None:
    known = post(client, '{ learner(id: "bob") { learnerId } }', authorization=ADA)
    unknown = post(client, '{ learner(id: "nobody-at-all") { learnerId } }', authorization=ADA)

    for status, _, body in (known, unknown):
        assert status == 200
        assert body["data"] == {"learner": None}
        assert codes(body) == ["FORBIDDEN"]
    assert known[2]["errors"][0]["message"] == unknown[2]["errors"][0]["message"]


def test_an_anonymous_refusal_costs_no_rate_limit_points(
    client: TestClient, limiter: RateLimiter
) -> None:
    for _ in range(3):
        post(client, '{ learners(ids: ["a", "b", "c"]) { learnerId } }')

    assert limiter.charge("address:10.0.0.9", 0).remaining == 10_000


def test_requests_are_rate_limited_per_viewer(client: TestClient, limiter: RateLimiter) -> None:
    limiter.charge("viewer:ada", 10_000)

    status, headers, body = post(client, '{ learner(id: "ada") { learnerId } }', authorization=ADA)
    assert headers["retry-after"]
    other = post(client, "{ viewer { userId } }", authorization=bearer("bob", Role.LEARNER))

    assert status == 429 and codes(body) == ["RATE_LIMITED"]
    assert other[0] == 200


# --- WebSocket -------------------------------------------------------------------------------


def refusal(message: Any) -> str:
    """The code of a subscription refused at its start: an `error` message, or a `next`
    carrying the error (a resolver that raised before its first item)."""
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    code: str = errors[0]["extensions"]["code"]
    return code


def subscribe(websocket: Any, query: str, op: str = "1") -> None:
    websocket.send_json({"id": op, "type": "subscribe", "payload": {"query": query}})


def test_a_websocket_authenticates_in_connection_init(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as websocket:
        websocket.send_json({"type": "connection_init", "payload": {"Authorization": ADA}})
        assert websocket.receive_json() == {"type": "connection_ack"}
        subscribe(websocket, 'subscription { progressUpdated(learnerId: "bob") { contentId } }')
        refused = websocket.receive_json()

    assert refusal(refused) == "FORBIDDEN"


def test_the_authorization_key_is_read_in_any_case(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as websocket:
        websocket.send_json({"type": "connection_init", "payload": {"authorization": ADA}})
        assert websocket.receive_json() == {"type": "connection_ack"}
        subscribe(websocket, "subscription { __typename }")
        websocket.send_json(
            {"id": "2", "type": "subscribe", "payload": {"query": "{ viewer { userId } }"}}
        )
        messages = [websocket.receive_json() for _ in range(2)]

    viewer = next(m for m in messages if m.get("id") == "2" and m["type"] == "next")
    assert viewer["payload"]["data"] == {"viewer": {"userId": "ada"}}


def test_a_websocket_with_an_invalid_token_is_closed_4403(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as websocket:
        websocket.send_json({"type": "connection_init", "payload": {"Authorization": expired()}})
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()

    assert closed.value.code == 4403


def test_a_websocket_without_a_token_may_only_introspect(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as websocket:
        websocket.send_json({"type": "connection_init"})
        assert websocket.receive_json() == {"type": "connection_ack"}
        subscribe(websocket, 'subscription { achievementUnlocked(learnerId: "ada") { key } }')
        refused = websocket.receive_json()

    assert refusal(refused) == "UNAUTHENTICATED"


def test_a_viewer_may_hold_only_so_many_websockets(client: TestClient) -> None:
    with contextlib.ExitStack() as open_sockets:

        def opened(authorization: str = ADA) -> Any:
            websocket = open_sockets.enter_context(
                client.websocket_connect("/graphql", subprotocols=PROTOCOL)
            )
            websocket.send_json(
                {"type": "connection_init", "payload": {"Authorization": authorization}}
            )
            return websocket

        # The first is closed mid-test: leaving its block waits for the server to be done.
        first_session = client.websocket_connect("/graphql", subprotocols=PROTOCOL)
        first = first_session.__enter__()
        first.send_json({"type": "connection_init", "payload": {"Authorization": ADA}})
        second = opened()
        assert first.receive_json()["type"] == second.receive_json()["type"] == "connection_ack"
        third = opened()
        with pytest.raises(WebSocketDisconnect) as closed:
            third.receive_json()
        assert closed.value.code == 4403
        assert opened(bearer("bob", Role.LEARNER)).receive_json()["type"] == "connection_ack"

        first_session.__exit__(None, None, None)
        assert opened().receive_json()["type"] == "connection_ack"


async def test_a_websocket_is_closed_4401_when_its_token_expires(services: Services) -> None:
    strict = TokenVerifier(TokenSettings(secret=TEST_SECRET, leeway_seconds=0))

    async def context_for(connection: Request | WebSocket) -> Context:
        return new_context(services)

    routes = graphql_routes(
        build_schema(), context_getter=context_for, tokens=strict, assets_dir=Path("/nonexistent")
    )
    short = issue_token(TEST_SECRET, subject="ada", roles=[Role.LEARNER], ttl_seconds=1)
    with (
        TestClient(Starlette(routes=routes)) as client,
        client.websocket_connect("/graphql", subprotocols=PROTOCOL) as websocket,
    ):
        websocket.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {short}"}}
        )
        assert websocket.receive_json() == {"type": "connection_ack"}
        subscribe(websocket, 'subscription { progressUpdated(learnerId: "ada") { contentId } }')
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()  # nothing happens until the token runs out

    assert closed.value.code == 4401
