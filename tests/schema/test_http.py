"""The GraphQL endpoint over HTTP and WebSocket, on a tiny schema of its own."""

import asyncio
import json
import re
import warnings
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import strawberry
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.types import Info

from domain.access import ANONYMOUS, Viewer
from persistence.availability import DatabaseUnavailable
from schema import CairnSchema, build_schema
from schema.errors import ErrorCodes
from schema.http import graphql_routes
from tests.factories import TOKENS

# Starlette 1.10's TestClient warns when it runs on httpx rather than its successor httpx2, and
# requirements-dev pins httpx; the client works the same on both.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@dataclass
class Caller:
    """The tiny schema's context: who the x-caller header says, and what authentication sets."""

    caller: str
    viewer: Viewer = ANONYMOUS
    credential_error: str | None = None
    connection_params: dict[str, object] | None = None


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"Hello, {name}!"

    @strawberry.field
    def caller(self, info: Info[Caller, None]) -> str:
        return info.context.caller

    @strawberry.field
    def flaky(self) -> str | None:
        raise ValueError("flaky failed")

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("broken failed")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def double(self, value: int) -> int:
        return value * 2


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, to: int, info: Info[Caller, None]) -> AsyncGenerator[str, None]:
        for number in range(1, to + 1):
            yield f"{info.context.caller}:{number}"


async def context_for(request: Request | WebSocket) -> Caller:
    return Caller(request.headers.get("x-caller", "anonymous"))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    schema = strawberry.Schema(Query, Mutation, Subscription)
    routes = graphql_routes(
        schema, context_getter=context_for, tokens=TOKENS, assets_dir=NODE_MODULES
    )
    with TestClient(Starlette(routes=routes)) as test_client:
        yield test_client


def post(
    client: TestClient, body: object, *, accept: str | None = GRAPHQL_RESPONSE
) -> tuple[int, str, Any]:
    headers = {"accept": accept} if accept is not None else {}
    response = client.post("/graphql", json=body, headers=headers)
    return response.status_code, response.headers["content-type"], response.json()


def codes(body: Any) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


def test_a_post_query_returns_data_in_the_media_type_the_client_asked_for(
    client: TestClient,
) -> None:
    status, content_type, body = post(client, {"query": "{ hello }"})

    assert status == 200
    assert content_type == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert body == {"data": {"hello": "Hello, world!"}}


def test_a_post_passes_variables_operation_name_and_the_request_context(
    client: TestClient,
) -> None:
    response = client.post(
        "/graphql",
        json={
            "query": "query A { caller } query B($name: String!) { hello(name: $name) }",
            "variables": {"name": "Ada"},
            "operationName": "B",
            "extensions": None,
        },
        headers={"x-caller": "ada", "content-type": "application/json; charset=utf-8"},
    )
    named = client.post(
        "/graphql", json={"query": "{ caller }"}, headers={"x-caller": "ada"}
    ).json()

    assert response.json() == {"data": {"hello": "Hello, Ada!"}}
    assert named == {"data": {"caller": "ada"}}


def test_a_get_query_reads_query_variables_and_operation_name_from_the_url(
    client: TestClient,
) -> None:
    response = client.get(
        "/graphql",
        params={
            "query": "query Greet($name: String!) { hello(name: $name) }",
            "variables": json.dumps({"name": "Grace"}),
            "operationName": "Greet",
        },
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{JSON}; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert response.json() == {"data": {"hello": "Hello, Grace!"}}


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"*/*, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON};q=0, */*", GRAPHQL_RESPONSE),
        (f"text/html, {JSON}; charset=utf-8", JSON),
    ],
)
def test_the_response_media_type_is_negotiated_from_accept(
    client: TestClient, accept: str | None, chosen: str
) -> None:
    status, content_type, _ = post(client, {"query": "{ hello }"}, accept=accept)

    assert status == 200
    assert content_type == f"{chosen}; charset=utf-8"


@pytest.mark.parametrize("accept", ["text/plain", f"{GRAPHQL_RESPONSE};q=0, text/html"])
def test_an_unsupported_accept_is_refused_with_406(client: TestClient, accept: str) -> None:
    status, _, body = post(client, {"query": "{ hello }"}, accept=accept)

    assert status == 406
    assert codes(body) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ hello", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("fragment F on Query { hello }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query Q($name: String!) { hello(name: $name) }", {"name": 3}, "BAD_USER_INPUT"),
    ],
)
def test_request_errors_have_no_data_and_400_only_for_graphql_response_json(
    client: TestClient, query: str, variables: dict[str, object] | None, code: str
) -> None:
    body = {"query": query, "variables": variables}
    new_status, _, new_body = post(client, body, accept=GRAPHQL_RESPONSE)
    legacy_status, _, legacy_body = post(client, body, accept=JSON)

    assert (new_status, legacy_status) == (400, 200)
    assert "data" not in new_body
    assert "data" not in legacy_body
    assert codes(new_body) == codes(legacy_body) == [code]


def test_an_unknown_operation_name_is_a_request_error(client: TestClient) -> None:
    status, _, body = post(client, {"query": "query A { hello }", "operationName": "B"})

    assert status == 400
    assert body["errors"] == [
        {
            "message": "Unknown operation named 'B'.",
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }
    ]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
def test_field_errors_keep_data_and_answer_200(client: TestClient, accept: str) -> None:
    status, _, partial = post(client, {"query": "{ hello flaky }"}, accept=accept)
    null_status, _, nulled = post(client, {"query": "{ hello broken }"}, accept=accept)

    assert (status, null_status) == (200, 200)
    assert partial["data"] == {"hello": "Hello, world!", "flaky": None}
    assert nulled["data"] is None
    assert [error["path"] for error in partial["errors"]] == [["flaky"]]
    assert [error["path"] for error in nulled["errors"]] == [["broken"]]


def test_a_mutation_runs_over_post(client: TestClient) -> None:
    status, _, body = post(client, {"query": "mutation { double(value: 21) }"})

    assert (status, body) == (200, {"data": {"double": 42}})


@pytest.mark.parametrize(
    "params",
    [
        {"query": "query Q { hello } mutation M { double(value: 1) }", "operationName": "M"},
        {"query": "mutation { nope }"},  # refused before validation, as the spec orders it
    ],
)
def test_a_mutation_over_get_is_refused_with_405_allowing_post(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get("/graphql", params=params, headers={"accept": GRAPHQL_RESPONSE})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert codes(response.json()) == ["BAD_REQUEST"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_subscription_over_http_points_to_the_websocket(client: TestClient, method: str) -> None:
    query = "subscription { count(to: 2) }"
    if method == "GET":
        response = client.get("/graphql", params={"query": query})
    else:
        response = client.post("/graphql", json={"query": query})

    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/graphql"])
def test_a_post_body_that_is_not_json_is_refused_with_415(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/graphql", content=b"{ hello }", headers=headers)

    assert response.status_code == 415
    assert codes(response.json()) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    "body",
    [
        b"{ not json",
        b"[]",
        b'[{"query": "{ hello }"}]',
        b"{}",
        b'{"query": 1}',
        b'{"query": "{ hello }", "variables": [1]}',
        b'{"query": "{ hello }", "variables": "{}"}',
        b'{"query": "{ hello }", "operationName": 1}',
        b'{"query": "{ hello }", "extensions": 1}',
    ],
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
def test_a_malformed_post_is_refused_with_400(client: TestClient, body: bytes, accept: str) -> None:
    response = client.post(
        "/graphql", content=body, headers={"content-type": JSON, "accept": accept}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    assert "data" not in response.json()
    assert codes(response.json()) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"query": "{ hello }", "variables": "{not json"},
        {"query": "{ hello }", "variables": "[1]"},
        {"query": "{ hello }", "extensions": "1"},
    ],
)
def test_a_malformed_get_is_refused_with_400(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/graphql", params=params, headers={"accept": JSON})

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


def test_other_methods_are_refused_with_405(client: TestClient) -> None:
    response = client.put("/graphql", json={"query": "{ hello }"})

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


def graphiql_page(client: TestClient) -> str:
    response = client.get("/graphql", headers={"accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page: str = response.text
    return page


def test_a_browser_gets_graphiql_wired_for_queries_and_subscriptions(client: TestClient) -> None:
    page = graphiql_page(client)

    assert "GraphiQL.createFetcher" in page
    assert "graphqlWs.createClient" in page
    assert "isHeadersEditorEnabled: true" in page
    assert "__typename" in page
    assert "://" not in page, "the page must not reach any other host"


def test_every_asset_of_the_graphiql_page_is_served_locally(client: TestClient) -> None:
    page = graphiql_page(client)
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page)
    stylesheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', page)

    assert len(scripts) >= 4
    assert len(stylesheets) >= 1
    for url, expected_type in [(s, "javascript") for s in scripts] + [
        (s, "text/css") for s in stylesheets
    ]:
        assert url.startswith("/graphql/assets/")
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected_type in response.headers["content-type"], url
        assert len(response.content) > 1000, url


@pytest.mark.parametrize(
    "path",
    [
        "graphiql/package.json",
        "react/umd/react.development.js",
        "react/../graphiql/package.json",
        "%2e%2e/package.json",
        "",
    ],
)
def test_only_the_pages_assets_are_served_from_node_modules(client: TestClient, path: str) -> None:
    assert client.get(f"/graphql/assets/{path}").status_code == 404


def test_a_subscription_streams_over_graphql_transport_ws(client: TestClient) -> None:
    with client.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"], headers={"x-caller": "ws"}
    ) as websocket:
        assert websocket.accepted_subprotocol == "graphql-transport-ws"
        websocket.send_json({"type": "connection_init"})
        assert websocket.receive_json() == {"type": "connection_ack"}
        websocket.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": "subscription { count(to: 3) }"}}
        )
        messages = [websocket.receive_json() for _ in range(4)]
        websocket.close()

    assert messages == [
        {"id": "1", "type": "next", "payload": {"data": {"count": f"ws:{n}"}}} for n in (1, 2, 3)
    ] + [{"id": "1", "type": "complete"}]


@strawberry.type
class DatabaseQuery:
    @strawberry.field
    def learners(self) -> list[str]:
        raise DatabaseUnavailable("the embedded database exited with code -9")


def test_while_the_database_is_down_requests_are_refused_at_once_with_503() -> None:
    schema = strawberry.Schema(Query)
    routes = graphql_routes(
        schema,
        context_getter=context_for,
        tokens=TOKENS,
        assets_dir=NODE_MODULES,
        outage=lambda: "the embedded database exited with code -9",
    )
    with TestClient(Starlette(routes=routes)) as down:
        status, _, body = post(down, {"query": "{ hello }"})
        response = down.post("/graphql", json={"query": "{ hello }"})

    assert status == 503
    assert codes(body) == ["SERVICE_UNAVAILABLE"]
    assert "exited" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["requestId"]
    assert response.headers["Retry-After"] == "5"


def test_a_request_that_fails_only_for_a_database_outage_is_a_503() -> None:
    schema = CairnSchema(DatabaseQuery, extensions=[ErrorCodes])
    routes = graphql_routes(
        schema, context_getter=context_for, tokens=TOKENS, assets_dir=NODE_MODULES
    )
    with TestClient(Starlette(routes=routes)) as client:
        status, _, body = post(client, {"query": "{ learners }"})

    assert status == 503
    assert body["data"] is None
    assert codes(body) == ["SERVICE_UNAVAILABLE"]


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_parsed() -> None:
    schema = strawberry.Schema(Query)
    routes = graphql_routes(
        schema,
        context_getter=context_for,
        tokens=TOKENS,
        assets_dir=NODE_MODULES,
        max_body_bytes=2048,
    )
    padding = "x" * 4096
    with TestClient(Starlette(routes=routes)) as small:
        status, _, body = post(small, {"query": "{ hello }", "extensions": {"pad": padding}})
        streamed = small.post(
            "/graphql",
            content=iter([b'{"query": "{ hello }", "pad": "', padding.encode(), b'"}']),
            headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE},
        )

    assert status == 413
    assert codes(body) == ["BAD_REQUEST"]
    assert "2,048 bytes" in body["errors"][0]["message"]
    assert streamed.status_code == 413  # no Content-Length: counted as it streams


def test_a_body_nested_a_thousand_deep_is_a_400_not_a_500(client: TestClient) -> None:
    nested = '{"query": "{ hello }", "variables": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"
    response = client.post(
        "/graphql",
        content=nested.encode(),
        headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["message"]


def test_a_body_that_is_not_utf8_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/graphql",
        content=b'{"query": "{ hello(name: \\"\xff\\") }"}',
        headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


def test_an_upsert_of_a_hundred_thousand_items_is_refused_by_size_before_any_work() -> None:
    async def no_context(request: Request | WebSocket) -> Caller:
        raise AssertionError("the request must be refused before any work")

    routes = graphql_routes(
        build_schema(), context_getter=no_context, tokens=TOKENS, assets_dir=NODE_MODULES
    )
    items = [{"id": f"item-{n}", "title": "Item", "kind": "QUESTION"} for n in range(100_000)]
    with TestClient(Starlette(routes=routes)) as cairn:
        status, _, body = post(
            cairn,
            {
                "query": "mutation($items: [ContentItemInput!]!) "
                "{ upsertContent(items: $items) { contentId } }",
                "variables": {"items": items},
            },
        )

    assert status == 413
    assert codes(body) == ["BAD_REQUEST"]


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    schema = strawberry.Schema(Query, Mutation, Subscription)
    routes = graphql_routes(
        schema,
        context_getter=context_for,
        tokens=TOKENS,
        assets_dir=NODE_MODULES,
        body_timeout_seconds=0.2,
        max_websockets=1,
        websocket_init_seconds=0.2,
    )
    with TestClient(Starlette(routes=routes)) as test_client:
        yield test_client


async def test_a_body_that_trickles_in_too_slowly_gets_408() -> None:
    schema = strawberry.Schema(Query)
    app = Starlette(
        routes=graphql_routes(
            schema,
            context_getter=context_for,
            tokens=TOKENS,
            assets_dir=NODE_MODULES,
            body_timeout_seconds=0.2,
        )
    )
    chunks = [b'{"query": ', b'"{ hello }"}']
    sent: list[Message] = []

    async def receive() -> Message:
        if len(chunks) == 1:
            await asyncio.sleep(5)  # the client stalls mid-body
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", JSON.encode()), (b"accept", GRAPHQL_RESPONSE.encode())],
        "query_string": b"",
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=3)

    assert sent[0]["status"] == 408


def test_websockets_beyond_the_process_cap_are_refused(guarded: TestClient) -> None:
    protocols = ["graphql-transport-ws"]
    with guarded.websocket_connect("/graphql", subprotocols=protocols) as first:
        first.send_json({"type": "connection_init"})
        assert first.receive_json()["type"] == "connection_ack"
        with (
            pytest.raises(WebSocketDisconnect),
            guarded.websocket_connect("/graphql", subprotocols=protocols),
        ):
            pass


def test_a_websocket_that_never_says_connection_init_is_closed(guarded: TestClient) -> None:
    with (
        guarded.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as idle,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        idle.receive_json()
    assert closed.value.code == 4408
