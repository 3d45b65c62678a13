"""Rate limiting by cost: each client's bucket pays for what it asks, and refills over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.websockets import WebSocket

from domain.access import Role
from resolvers.access import Viewer
from resolvers.services import Services
from schema import build_schema
from schema.context import Context, new_context
from schema.http import graphql_routes
from schema.ratelimit import RateLimiter
from tests.factories import ADMIN, TOKENS, bearer
from tests.schema.conftest import seed_catalog

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_pays_while_it_has_points_then_says_when_to_retry() -> None:
    clock = FakeClock()
    limiter = RateLimiter(capacity=100, refill_per_second=10, clock=clock)

    first = limiter.charge("ada", 70)
    second = limiter.charge("ada", 50)
    clock.now = 2.0  # 20 points back: 50 in all
    third = limiter.charge("ada", 50)

    assert (first.allowed, first.remaining) == (True, 30)
    assert (second.allowed, second.remaining, second.retry_after_seconds) == (False, 30, 2)
    assert (third.allowed, third.remaining) == (True, 0)


def test_clients_have_buckets_of_their_own() -> None:
    limiter = RateLimiter(capacity=100, refill_per_second=10, clock=FakeClock())
    limiter.charge("ada", 100)
    assert limiter.charge("grace", 100).allowed
    assert not limiter.charge("ada", 1).allowed


def test_a_refund_gives_back_what_was_not_used_up_to_the_capacity() -> None:
    limiter = RateLimiter(capacity=100, refill_per_second=10, clock=FakeClock())
    limiter.charge("ada", 80)
    assert limiter.refund("ada", 50) == 70
    assert limiter.refund("ada", 500) == 100


QUERY = '{ learner(id: "ada") { learnerId analytics { questionsAnswered } } }'


async def run(services: Services, limiter: RateLimiter, **context: Any) -> Any:
    schema = build_schema(rate_limiter=limiter)
    context.setdefault("viewer", ADMIN)
    return await schema.execute(QUERY, context_value=new_context(services, **context))


async def test_each_response_reports_its_cost_and_what_the_bucket_has_left(
    services: Services,
) -> None:
    await seed_catalog(services)
    limiter = RateLimiter(capacity=10_000, refill_per_second=1, clock=FakeClock())

    result = await run(services, limiter, client="10.0.0.1")

    cost = result.extensions["cost"]
    assert cost["requested"] == 2
    assert cost["actual"] <= cost["requested"]
    assert cost["remaining"] == 10_000 - cost["actual"]


async def test_a_client_over_its_rate_is_refused_unrun_with_when_to_retry(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RateLimiter(capacity=10_000, refill_per_second=100, clock=FakeClock())
    limiter.charge("viewer:test-admin", 9_999)

    async def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused operation must not run")

    monkeypatch.setattr(services.repositories.learners, "find_by_ids", must_not_run)
    refused = await run(services, limiter, client="10.0.0.1")

    [error] = refused.errors
    assert error.extensions["code"] == "RATE_LIMITED"
    assert error.extensions["retryAfter"] == 1
    assert refused.data is None


async def test_viewers_are_limited_by_who_they_are_not_where_they_come_from(
    services: Services,
) -> None:
    await seed_catalog(services)
    limiter = RateLimiter(capacity=10_000, refill_per_second=1, clock=FakeClock())
    limiter.charge("address:10.0.0.1", 10_000)

    result = await run(
        services, limiter, client="10.0.0.1", viewer=Viewer("ada", frozenset({Role.LEARNER}))
    )

    assert result.errors is None


async def test_over_http_a_refused_request_is_a_429_with_retry_after(services: Services) -> None:
    limiter = RateLimiter(capacity=10_000, refill_per_second=100, clock=FakeClock())
    limiter.charge("viewer:ada", 10_000)

    async def context(connection: Request | WebSocket) -> Context:
        return new_context(services, client="127.0.0.1")

    routes = graphql_routes(
        build_schema(rate_limiter=limiter),
        context_getter=context,
        tokens=TOKENS,
        assets_dir=NODE_MODULES,
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/graphql",
            json={"query": QUERY},
            headers={"Authorization": bearer("ada", Role.LEARNER)},
        )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
