"""The GraphQL schema: types, inputs and the Query/Mutation/Subscription roots."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from schema.authentication import RequireAuthentication
from schema.catalog import ContentItem, Skill
from schema.cost import DEFAULT_MAX_QUERY_COST, QueryCost
from schema.errors import ErrorCodes, report_errors
from schema.groups import Group
from schema.learners import Learner
from schema.live import note_execution
from schema.logs import RequestLogging
from schema.progress import ContentProgress
from schema.ratelimit import RateLimiter
from schema.root import Mutation, Query, Subscription


class CairnSchema(strawberry.Schema):
    """Strawberry's schema, logging errors as `schema.errors` says instead of all as faults, and
    telling a shared live subscription (`schema.live`) how its operation runs."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        report_errors(errors, execution_context)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        runner = super().create_extensions_runner(execution_context, extensions)
        note_execution(execution_context, runner)
        return runner


def build_schema(
    *,
    max_query_cost: int = DEFAULT_MAX_QUERY_COST,
    rate_limiter: RateLimiter | None = None,
    analyse_cost: bool = True,
) -> strawberry.Schema:
    """The schema; an operation costing more than `max_query_cost` is refused (`schema.cost`),
    and so is one its client's `rate_limiter` bucket cannot pay for (`schema.ratelimit`).
    Without `analyse_cost` neither happens: only the benchmark measuring their cost wants that."""
    cost = (
        [lambda: QueryCost(max_cost=max_query_cost, limiter=rate_limiter)] if analyse_cost else []
    )
    return CairnSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Learner, ContentItem, Skill, ContentProgress, Group],
        extensions=[
            # First, so that its request context spans every other extension's work.
            RequestLogging,
            ErrorCodes,
            lambda: QueryDepthLimiter(max_depth=12),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=5000),
            # Before the cost: an anonymous request is refused without charging any bucket.
            RequireAuthentication,
            # Last: it costs only operations the limiters and validation let through.
            *cost,
        ],
    )
