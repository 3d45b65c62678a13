"""The service answers only to its own names, and browsers only from allowed origins."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from main import Settings, create_app
from schema.origins import WebSocketOrigins, allowed_hosts
from tests.factories import TEST_SECRET

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

APP_ORIGIN = "https://app.example"


@pytest.fixture
def service() -> Iterator[TestClient]:
    """The real app, without its lifespan: only routes that need no database are called."""
    settings = Settings(host="127.0.0.1", cors_origins=APP_ORIGIN, jwt_secret=TEST_SECRET)
    app = create_app(settings, "mongodb://127.0.0.1:9/unused")
    yield TestClient(app, base_url="http://localhost:8000")


def test_a_request_for_another_host_name_is_refused(service: TestClient) -> None:
    rebound = service.get("/metrics", headers={"host": "attacker.example"})
    own = service.get("/metrics")

    assert rebound.status_code == 400
    assert own.status_code == 200


def test_a_listed_origin_gets_cors_and_another_does_not(service: TestClient) -> None:
    def preflight(origin: str) -> httpx.Response:
        response: httpx.Response = service.options(
            "/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, authorization",
            },
        )
        return response

    allowed = preflight(APP_ORIGIN)
    refused = preflight("https://evil.example")

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


@pytest.fixture
def sockets() -> TestClient:
    app = Starlette(routes=[WebSocketRoute("/ws", echo)])
    return TestClient(WebSocketOrigins(app, origins=[APP_ORIGIN]), base_url="http://testserver")


@pytest.mark.parametrize(
    "headers",
    [{}, {"origin": APP_ORIGIN}, {"origin": "http://testserver"}],
    ids=["no origin: not a browser", "a listed origin", "the service's own origin"],
)
def test_a_websocket_from_an_allowed_origin_is_accepted(
    sockets: TestClient, headers: dict[str, str]
) -> None:
    with sockets.websocket_connect("/ws", headers=headers) as connection:
        assert connection.receive_text() == "hello"


def test_a_websocket_from_another_origin_is_refused(sockets: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        sockets.websocket_connect("/ws", headers={"origin": "https://evil.example"}),
    ):
        pass


def test_by_default_only_loopback_names_are_served_on_loopback() -> None:
    assert allowed_hosts([], bind_host="127.0.0.1") == ["127.0.0.1", "localhost", "::1", "[::1]"]
    assert allowed_hosts([], bind_host="0.0.0.0") == ["*"]
    assert allowed_hosts(["cairn.example"], bind_host="0.0.0.0") == ["cairn.example"]
