"""Shared live subscriptions, the less travelled paths, on a schema and a topic of their own:
a payload field that awaits, and extensions that keep an operation from being shared."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from domain.access import Role
from persistence.feed import QUEUE_SIZE, Feed, Topic
from resolvers.services import Services
from schema import CairnSchema
from schema.context import Context, Info, new_context
from schema.live import live
from schema.websocket import SubscriptionsApp
from tests.factories import TOKENS, bearer
from tests.fakes import mongomock_database
from tests.schema.test_live import Socket, payload_of, sharing, until

ADMIN = bearer("paths-admin", Role.ADMIN)
BOXES: Topic[str] = Topic("boxes", "key", lambda doc: str(doc["name"]))
QUERY = 'subscription { box(key: "k") { name later } }'


@strawberry.type
class Box:
    name: str

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()


@strawberry.type
class Query:
    ok: bool = True


class AsyncResults(SchemaExtension):
    async def get_results(self) -> dict[str, Any]:
        return {"late": True}


class ResolveHook(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


def boxes_schema(feed: Feed, extensions: list[type[SchemaExtension]]) -> strawberry.Schema:
    async def follow(key: str) -> AsyncGenerator[str, None]:
        async with feed.subscribe(BOXES, key) as names:
            async for name in names:
                yield name

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def box(self, info: Info, key: str) -> AsyncGenerator[Box, None]:
            async for box in live(info, follow(key), lambda name: Box(name=name)):
                yield box

    return CairnSchema(query=Query, subscription=Subscription, extensions=extensions)


@pytest.fixture
def feed() -> Feed:
    return Feed(mongomock_database("boxes"), [BOXES])


@pytest.fixture
def app_for(
    services: Services, feed: Feed
) -> Iterator[Callable[[list[type[SchemaExtension]]], SubscriptionsApp]]:
    async def context_for(connection: Request | WebSocket) -> Context:
        return new_context(services)

    def app(extensions: list[type[SchemaExtension]]) -> SubscriptionsApp:
        return SubscriptionsApp(
            boxes_schema(feed, extensions),
            context_for,
            TOKENS,
            max_connections=10,
            max_per_viewer=10,
            init_timeout=timedelta(seconds=10),
        )

    yield app


@pytest.fixture
async def opened() -> AsyncIterator[list[Socket]]:
    sockets: list[Socket] = []
    yield sockets
    for socket in sockets:
        await socket.close()


async def subscribers(app: SubscriptionsApp, opened: list[Socket], count: int) -> list[Socket]:
    for _ in range(count):
        socket = await Socket(app).connect(ADMIN)
        socket.subscribe("1", QUERY)
        opened.append(socket)
    return opened


async def test_values_whose_execution_awaits_are_delivered_in_order(
    app_for: Callable[..., SubscriptionsApp], feed: Feed, opened: list[Socket]
) -> None:
    app = app_for([])
    first, second = await subscribers(app, opened, 2)
    await until(sharing(app.multiplexer, 2))

    for name in ("a", "b", "c"):
        feed.publish(BOXES, "k", name)  # the first execution awaits: the others wait their turn
    updates = [
        [payload_of(await socket.next())["data"]["box"] for _ in range(3)]
        for socket in (first, second)
    ]

    expected = [{"name": name, "later": name.upper()} for name in ("a", "b", "c")]
    assert updates == [expected, expected]
    assert app.multiplexer.executions == 3


async def test_values_beyond_what_the_group_can_hold_while_it_waits_lose_the_oldest(
    app_for: Callable[..., SubscriptionsApp], feed: Feed, opened: list[Socket]
) -> None:
    app = app_for([])
    [socket] = await subscribers(app, opened, 1)
    await until(sharing(app.multiplexer, 1))

    for n in range(QUEUE_SIZE + 3):
        feed.publish(BOXES, "k", f"box-{n}")
    received = [
        payload_of(await socket.next())["data"]["box"]["name"] for _ in range(QUEUE_SIZE + 1)
    ]

    assert received == ["box-0", *(f"box-{n}" for n in range(3, QUEUE_SIZE + 3))]


@pytest.mark.parametrize("extension", [AsyncResults, ResolveHook])
async def test_an_operation_an_extension_works_on_per_subscriber_is_not_shared(
    app_for: Callable[..., SubscriptionsApp],
    feed: Feed,
    opened: list[Socket],
    extension: type[SchemaExtension],
) -> None:
    app = app_for([extension])
    first, second = await subscribers(app, opened, 2)
    await until(lambda: feed.subscriber_count(BOXES, "k") == 2)

    feed.publish(BOXES, "k", "a")
    updates = [payload_of(await first.next()), payload_of(await second.next())]

    assert [update["data"]["box"]["name"] for update in updates] == ["a", "a"]
    assert (app.multiplexer.groups, app.multiplexer.executions) == (0, 0)
