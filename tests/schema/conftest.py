from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import strawberry

from domain.access import Viewer
from domain.catalog import ContentItem, Skill
from persistence.feed import Feed
from persistence.topics import TOPICS
from resolvers.recording import Recorder
from resolvers.services import Services
from schema import build_schema
from schema.context import new_context
from tests.factories import ADMIN, NOW, content_item, skill
from tests.fakes import fake_repositories

Execute = Callable[..., Coroutine[Any, Any, dict[str, Any]]]


@pytest.fixture
async def services() -> Services:
    repositories = await fake_repositories()
    feed = Feed(repositories.database, TOPICS)
    return Services(repositories, feed, Recorder(repositories, feed), clock=lambda: NOW)


@pytest.fixture(scope="session")
def graphql_schema() -> strawberry.Schema:
    return build_schema()


@pytest.fixture
def execute(services: Services, graphql_schema: strawberry.Schema) -> Execute:
    """Runs an operation with a fresh context, as an administrator unless `as_viewer` says
    otherwise; returns {"data":..., "errors": [...]}."""

    async def run(query: str, as_viewer: Viewer = ADMIN, **variables: Any) -> dict[str, Any]:
        result = await graphql_schema.execute(
            query, variable_values=variables, context_value=new_context(services, as_viewer)
        )
        return {
            "data": result.data,
            "errors": [error.formatted for error in result.errors or []],
        }

    return run


async def seed_catalog(
    services: Services, items: list[ContentItem] | None = None, skills: list[Skill] | None = None
) -> None:
    await services.repositories.skills.upsert_many(skills or [skill(), skill(id="s3", name="S3")])
    await services.repositories.content.upsert_many(
        items
        or [
            content_item(),
            content_item(id="saa-s3-1", skill_ids=("s3",), category="S3"),
            content_item(id="ccp-1", certification="CCP", skill_ids=()),
        ]
    )
