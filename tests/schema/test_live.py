"""Shared live subscriptions: one execution and one encoding for every subscriber of an operation.

The WebSocket app runs as served (strawberry's graphql-transport-ws handler with Cairn's
`LiveTransport`), its sockets in memory in the test's event loop; values are published on the
feed as a writer publishes them after commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, MutableMapping
from datetime import timedelta
from typing import Any

import pytest
from starlette.requests import Request
from starlette.websockets import WebSocket

from domain.access import Role
from domain.progress import ContentProgress, ProgressStatus
from persistence.feed import QUEUE_SIZE
from persistence.topics import PROGRESS_UPDATES, UNLOCKS_FEED
from resolvers.services import Services
from schema import build_schema
from schema.context import Context, new_context
from schema.live import MAX_PREPARED, Multiplexer
from schema.websocket import SubscriptionsApp
from tests.factories import TOKENS, bearer, unlock
from tests.schema.conftest import seed_catalog

ADMIN = bearer("live-admin", Role.ADMIN)
UNLOCKS = """
subscription Unlocks($learnerId: String!, $after: ID) {
  achievementUnlocked(learnerId: $learnerId, after: $after) { id key seq title }
}
"""
TITLES = (
    "subscription($learnerId: String!) { achievementUnlocked(learnerId: $learnerId) { title } }"
)
PROGRESS = """
subscription($learnerId: String!) { progressUpdated(learnerId: $learnerId) { contentId status } }
"""


class Socket:
    """A graphql-transport-ws client of the app, in memory. `slow()` makes the app's sends to
    it wait until `catch_up()`, as a socket whose buffer is full does."""

    def __init__(self, app: SubscriptionsApp) -> None:
        self._app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.texts: list[str] = []
        self._read = 0
        self._arrived = asyncio.Event()
        self._open = asyncio.Event()
        self._open.set()
        self._task: asyncio.Task[None] | None = None

    async def connect(self, authorization: str) -> Socket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": ["graphql-transport-ws"],
            "state": {},
        }
        self._task = asyncio.create_task(self._app(scope, self._to_app.get, self._from_app))
        self._to_app.put_nowait({"type": "websocket.connect"})
        self.send({"type": "connection_init", "payload": {"Authorization": authorization}})
        assert (await self.next())["type"] == "connection_ack"
        return self

    def send(self, message: dict[str, Any]) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})

    def subscribe(self, op: str, query: str, **variables: Any) -> None:
        self.send(
            {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def _from_app(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await self._open.wait()
            self.texts.append(message["text"])
            self._arrived.set()

    async def next(self) -> dict[str, Any]:
        while self._read >= len(self.texts):
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), timeout=5)
        self._read += 1
        message: dict[str, Any] = json.loads(self.texts[self._read - 1])
        return message

    def unread(self) -> int:
        return len(self.texts) - self._read

    def slow(self) -> None:
        self._open.clear()

    def catch_up(self) -> None:
        self._open.set()

    async def close(self) -> None:
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=5)


@pytest.fixture
async def app(services: Services) -> SubscriptionsApp:
    await seed_catalog(services)

    async def context_for(connection: Request | WebSocket) -> Context:
        return new_context(services)

    return SubscriptionsApp(
        build_schema(),
        context_for,
        TOKENS,
        max_connections=100,
        max_per_viewer=100,
        init_timeout=timedelta(seconds=10),
    )


@pytest.fixture
async def sockets(app: SubscriptionsApp) -> AsyncIterator[Callable[..., Any]]:
    opened: list[Socket] = []

    async def open_socket(authorization: str = ADMIN) -> Socket:
        socket = await Socket(app).connect(authorization)
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        socket.catch_up()
        if socket._task is not None and not socket._task.done():
            await socket.close()


async def until(condition: Callable[[], bool]) -> None:
    """Lets the app run until the condition holds (it has no clock to wait on)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def sharing(multiplexer: Multiplexer, members: int) -> Callable[[], bool]:
    return lambda: multiplexer.members == members


def payload_of(message: dict[str, Any]) -> Any:
    assert message["type"] == "next", message
    return message["payload"]


async def test_subscribers_of_one_operation_share_one_execution_and_one_encoding(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    clients = [await sockets() for _ in range(5)]
    for n, client in enumerate(clients):
        client.subscribe(f"op-{n}", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 5))

    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=1))
    received = [await client.next() for client in clients]

    assert app.multiplexer.executions == 1
    assert app.multiplexer.encodings == 1
    assert [message["id"] for message in received] == [f"op-{n}" for n in range(5)]
    payloads = [payload_of(message) for message in received]
    assert all(payload == payloads[0] for payload in payloads)
    assert payloads[0]["data"]["achievementUnlocked"] == {
        "id": "QWNoaWV2ZW1lbnRVbmxvY2s6YWRhfDE=",
        "key": "first-event",
        "seq": 1,
        "title": "First Steps",
    }
    # Byte for byte what strawberry sends, the id aside: the operation's cost included.
    assert payloads[0]["extensions"] == {"cost": {"requested": 1, "maximum": 10000}}
    texts = {client.texts[-1].replace(f'"op-{n}"', '"op"') for n, client in enumerate(clients)}
    assert len(texts) == 1


async def test_different_variables_or_operations_are_executed_apart(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    ada, ada_too, ada_titles, grace = [await sockets() for _ in range(4)]
    ada.subscribe("1", UNLOCKS, learnerId="ada")
    ada_too.subscribe("1", UNLOCKS, learnerId="ada")
    ada_titles.subscribe("1", TITLES, learnerId="ada")
    grace.subscribe("1", UNLOCKS, learnerId="grace")
    await until(sharing(app.multiplexer, 4))

    assert app.multiplexer.groups == 3
    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=1))
    services.feed.publish(UNLOCKS_FEED, "grace", unlock(learner_id="grace", seq=1))

    assert payload_of(await ada.next()) == payload_of(await ada_too.next())
    assert payload_of(await ada_titles.next())["data"] == {
        "achievementUnlocked": {"title": "First Steps"}
    }
    assert payload_of(await grace.next())["data"]["achievementUnlocked"]["id"] == (
        "QWNoaWV2ZW1lbnRVbmxvY2s6Z3JhY2V8MQ=="
    )
    assert app.multiplexer.executions == 3
    assert app.multiplexer.encodings == 3


async def test_access_is_checked_for_each_subscriber_of_a_shared_operation(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    allowed = await sockets()
    allowed.subscribe("1", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 1))
    other_learner = await sockets(bearer("bob", Role.LEARNER))

    other_learner.subscribe("1", UNLOCKS, learnerId="ada")
    refusal = await other_learner.next()
    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=1))
    update = await allowed.next()

    assert [error["extensions"]["code"] for error in refusal["payload"]["errors"]] == ["FORBIDDEN"]
    assert refusal["payload"]["data"] is None
    assert (await other_learner.next())["type"] == "complete"
    assert payload_of(update)["data"]["achievementUnlocked"]["seq"] == 1
    assert app.multiplexer.members == 1
    assert other_learner.unread() == 0


async def test_a_resuming_subscriber_gets_its_catch_up_then_the_shared_updates(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    stored = [unlock(seq=1), unlock(key="perfect-score", seq=2)]
    await services.repositories.unlocks.insert_many(stored, session=None)
    live, resuming = await sockets(), await sockets()
    live.subscribe("1", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 1))

    resuming.subscribe("1", UNLOCKS, learnerId="ada", after="QWNoaWV2ZW1lbnRVbmxvY2s6YWRhfDE=")
    missed = await resuming.next()  # its own execution, through strawberry
    await until(sharing(app.multiplexer, 2))
    # Seq 2 again (its change stream copy, say): both have it already.
    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=2, key="perfect-score"))
    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=3, key="completions-10"))
    shared = [await live.next(), await resuming.next()]

    assert payload_of(missed)["data"]["achievementUnlocked"]["seq"] == 2
    assert [payload_of(m)["data"]["achievementUnlocked"]["seq"] for m in shared] == [3, 3]
    assert (live.unread(), resuming.unread()) == (0, 0)
    assert app.multiplexer.groups == 2  # its variables differ: an `after`
    # The catch-up and the shared update come in the same envelope.
    assert payload_of(missed).keys() == payload_of(shared[1]).keys()


async def test_a_slow_subscriber_holds_up_no_one(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    slow, fast = await sockets(), await sockets()
    slow.subscribe("1", PROGRESS, learnerId="ada")
    fast.subscribe("1", PROGRESS, learnerId="ada")
    await until(sharing(app.multiplexer, 2))
    slow.slow()

    for n in range(QUEUE_SIZE + 10):
        services.feed.publish(PROGRESS_UPDATES, "ada", progress(f"item-{n}"))
    received = [await fast.next() for _ in range(QUEUE_SIZE + 10)]
    slow.catch_up()
    await until(lambda: slow.unread() == QUEUE_SIZE + 1)

    assert [payload_of(m)["data"]["progressUpdated"]["contentId"] for m in received] == [
        f"item-{n}" for n in range(QUEUE_SIZE + 10)
    ]
    # Its first update was on its way when it stalled; of the rest it lost the oldest.
    late = [payload_of(await slow.next())["data"]["progressUpdated"]["contentId"] for _ in range(2)]
    assert late == ["item-0", "item-10"]
    assert app.multiplexer.executions == QUEUE_SIZE + 10


async def test_a_subscriber_falling_behind_on_unlocks_is_let_go_after_what_it_has(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    slow, fast = await sockets(), await sockets()
    slow.subscribe("1", UNLOCKS, learnerId="ada")
    fast.subscribe("1", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 2))
    slow.slow()

    for seq in range(1, QUEUE_SIZE + 4):
        services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=seq, key=f"k{seq}"))
    received = [await fast.next() for _ in range(QUEUE_SIZE + 3)]
    slow.catch_up()
    kept = [await slow.next() for _ in range(QUEUE_SIZE + 1)]
    let_go = await slow.next()

    assert [payload_of(m)["data"]["achievementUnlocked"]["seq"] for m in received] == list(
        range(1, QUEUE_SIZE + 4)
    )
    assert [payload_of(m)["data"]["achievementUnlocked"]["seq"] for m in kept] == list(
        range(1, QUEUE_SIZE + 2)
    )
    [error] = payload_of(let_go)["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "after",
    )
    assert (await slow.next())["type"] == "complete"
    assert app.multiplexer.members == 1


async def test_a_subscriber_that_leaves_leaves_the_others_served(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    leaving, completing, staying = [await sockets() for _ in range(3)]
    for client in (leaving, completing, staying):
        client.subscribe("1", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 3))

    await leaving.close()
    completing.send({"id": "1", "type": "complete"})
    await until(sharing(app.multiplexer, 1))
    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=1))

    assert payload_of(await staying.next())["data"]["achievementUnlocked"]["seq"] == 1
    await staying.close()
    await until(lambda: app.multiplexer.groups == 0)
    assert completing.unread() == 0
    assert services.feed.subscriber_count(UNLOCKS_FEED, "ada") == 0


async def test_a_selection_that_could_depend_on_the_viewer_runs_per_subscriber(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    query = """
    subscription($learnerId: String!) {
      progressUpdated(learnerId: $learnerId) { content { title } }
    }
    """
    first, second = await sockets(), await sockets()
    first.subscribe("1", query, learnerId="ada")
    second.subscribe("1", query, learnerId="ada")
    await until(lambda: services.feed.subscriber_count(PROGRESS_UPDATES, "ada") == 2)

    services.feed.publish(PROGRESS_UPDATES, "ada", progress("saa-ec2-1"))
    updates = [await first.next(), await second.next()]

    assert [payload_of(m)["data"]["progressUpdated"]["content"] for m in updates] == [
        {"title": "EC2 instance types"},
        {"title": "EC2 instance types"},
    ]
    assert (app.multiplexer.groups, app.multiplexer.executions) == (0, 0)


async def test_a_failed_execution_is_each_subscribers_own_error(
    app: SubscriptionsApp,
    services: Services,
    sockets: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = await sockets(), await sockets()
    first.subscribe("1", UNLOCKS, learnerId="ada")
    second.subscribe("1", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 2))

    broken = unlock(seq=1, title=None)  # a non-null field without a value: a fault
    services.feed.publish(UNLOCKS_FEED, "ada", broken)
    failures = [payload_of(await first.next()), payload_of(await second.next())]

    assert [failure["data"] for failure in failures] == [None, None]
    errors = [failure["errors"][0]["extensions"] for failure in failures]
    assert [error["code"] for error in errors] == ["INTERNAL_SERVER_ERROR"] * 2
    request_ids = {error["requestId"] for error in errors}
    assert len(request_ids) == 2
    logged = {getattr(record, "request_id", None) for record in caplog.records}
    assert request_ids <= logged
    assert app.multiplexer.executions == 1


def progress(content_id: str) -> ContentProgress:
    return ContentProgress("ada", content_id, "SAA", ProgressStatus.IN_PROGRESS, events=1)


async def test_a_value_prepared_before_its_commit_is_rendered_once_and_sent_as_rendered(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    clients = [await sockets() for _ in range(3)]
    for n, client in enumerate(clients):
        client.subscribe(f"op-{n}", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 3))

    value = unlock(seq=1)
    services.feed.prepare(UNLOCKS_FEED, "ada", value)  # before the commit: nothing is sent
    await asyncio.sleep(0)
    assert [client.unread() for client in clients] == [0, 0, 0]
    assert (app.multiplexer.executions, app.multiplexer.encodings) == (1, 1)

    services.feed.publish(UNLOCKS_FEED, "ada", value)  # after it: sent as rendered
    received = [payload_of(await client.next()) for client in clients]
    assert (app.multiplexer.executions, app.multiplexer.encodings) == (1, 1)
    assert received[0]["data"]["achievementUnlocked"]["title"] == "First Steps"
    assert all(payload == received[0] for payload in received)


async def test_a_prepared_value_whose_commit_failed_is_never_sent_and_not_kept(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    client = await sockets()
    client.subscribe("op", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 1))

    # A unit that failed and ran again prepared values it never published; a group keeps a
    # bounded number of them.
    for _ in range(MAX_PREPARED + 10):
        services.feed.prepare(UNLOCKS_FEED, "ada", unlock(seq=1, title="never committed"))
    (group,) = app.multiplexer._groups.values()
    assert len(group._prepared) == MAX_PREPARED

    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=1))  # the retry's own value
    payload = payload_of(await client.next())
    assert payload["data"]["achievementUnlocked"]["title"] == "First Steps"
    await asyncio.sleep(0)
    assert client.unread() == 0


async def test_a_value_that_cannot_be_prepared_is_executed_when_it_is_published(
    app: SubscriptionsApp, services: Services, sockets: Callable[..., Any]
) -> None:
    client = await sockets()
    client.subscribe("op", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 1))

    broken = unlock(seq=1, title=None)
    services.feed.prepare(UNLOCKS_FEED, "ada", broken)
    assert app.multiplexer.executions == 0  # its error is reported to the subscriber, later

    services.feed.publish(UNLOCKS_FEED, "ada", broken)
    failure = payload_of(await client.next())
    assert failure["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert app.multiplexer.executions == 1


class FutureSocket(Socket):
    """A client of a server whose ASGI `send` returns a future rather than a coroutine."""

    def _from_app(self, message: MutableMapping[str, Any]) -> Any:
        return asyncio.ensure_future(super()._from_app(message))


async def test_a_server_whose_send_is_not_a_coroutine_still_gets_every_message(
    app: SubscriptionsApp, services: Services
) -> None:
    client = await FutureSocket(app).connect(ADMIN)
    client.subscribe("op", UNLOCKS, learnerId="ada")
    await until(sharing(app.multiplexer, 1))

    services.feed.publish(UNLOCKS_FEED, "ada", unlock(seq=1))

    payload = payload_of(await client.next())
    assert payload["data"]["achievementUnlocked"]["title"] == "First Steps"
    await client.close()
