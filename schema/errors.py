"""Errors clients can rely on: a stable `extensions.code`; anything unexpected is masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import DomainError, InvalidInput

log = logging.getLogger("cairn.errors")

INTERNAL = "INTERNAL_SERVER_ERROR"


def error_extensions(error: DomainError) -> dict[str, object]:
    extensions: dict[str, object] = {"code": error.code}
    field = getattr(error, "field", None)
    if field:
        extensions["field"] = field
    if isinstance(error, InvalidInput):
        extensions["rule"] = error.rule
    return extensions


def as_graphql_error(error: DomainError) -> GraphQLError:
    """For subscriptions, whose errors do not pass through the `ErrorCodes` extension."""
    return GraphQLError(str(error), original_error=error, extensions=error_extensions(error))


def _coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        return GraphQLError(
            str(original),
            nodes=error.nodes,
            path=error.path,
            original_error=original,
            extensions=error_extensions(original),
        )
    if original is not None and not isinstance(original, GraphQLError):
        log.error("unexpected error at %s", error.path, exc_info=original)
        return GraphQLError(
            "Internal server error",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": INTERNAL},
        )
    if not (error.extensions or {}).get("code"):
        # Errors graphql-core raises itself while executing, e.g. a variable of the wrong type.
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            path=error.path,
            extensions={**(error.extensions or {}), "code": "BAD_USER_INPUT"},
        )
    return error


class ErrorCodes(SchemaExtension):
    """Gives every execution error a code and masks unexpected exceptions."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_coded(error) for error in result.errors]
