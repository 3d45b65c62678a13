"""The GraphQL schema: types, inputs and the Query/Mutation/Subscription roots."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from schema.catalog import ContentItem, Skill
from schema.errors import ErrorCodes
from schema.learners import Learner
from schema.progress import ContentProgress
from schema.root import Mutation, Query, Subscription


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Learner, ContentItem, Skill, ContentProgress],
        extensions=[
            ErrorCodes,
            lambda: QueryDepthLimiter(max_depth=12),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=5000),
        ],
    )
