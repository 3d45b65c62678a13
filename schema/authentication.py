"""Who is asking: the bearer token of a request or of a WebSocket's `connection_init`.

A request without a valid token still runs introspection (`__schema`, `__type`, `__typename`),
so GraphiQL's documentation loads; anything else is refused whole, unrun, with
`UNAUTHENTICATED` (HTTP 401 with `WWW-Authenticate`). What an authenticated viewer may see and
change is decided by the use cases (`resolvers.access`), not here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Protocol

from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

from domain.access import ANONYMOUS, Viewer
from schema.tokens import InvalidToken, TokenVerifier

log = logging.getLogger("cairn.auth")

UNAUTHENTICATED = "UNAUTHENTICATED"
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
NO_TOKEN = "send a bearer token in the Authorization header (see the README: Authentication)"


class Credentials(Protocol):
    """What authentication sets on a request's context (`schema.context.Context` has it)."""

    viewer: Viewer
    credential_error: str | None
    connection_params: dict[str, object] | None


async def authenticate(
    context: Credentials, verifier: TokenVerifier, authorization: str | None
) -> None:
    """Sets the context's viewer from an `Authorization` value; an invalid credential leaves
    the viewer anonymous and says why in `credential_error`."""
    try:
        context.viewer = await verifier.viewer_for(authorization)
        context.credential_error = None
    except InvalidToken as refused:
        context.viewer = ANONYMOUS
        context.credential_error = refused.reason
        log.info("credential refused: %s", refused.reason)


def authorization_of(params: Mapping[str, object] | None) -> str | None:
    """The `Authorization` entry of a `connection_init` payload (any case), if a string."""
    for key, value in (params or {}).items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


def introspection_only(operation: OperationDefinitionNode, fragments: Mapping[str, object]) -> bool:
    """True when the operation's root fields are all introspection fields."""
    return all(
        name in INTROSPECTION_FIELDS for name in _root_fields(operation.selection_set, fragments)
    )


def _root_fields(selections: SelectionSetNode, fragments: Mapping[str, object]) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            selection_set = getattr(fragment, "selection_set", None)
            if isinstance(selection_set, SelectionSetNode):
                yield from _root_fields(selection_set, fragments)


def unauthenticated(reason: str | None, operation: OperationDefinitionNode | None) -> GraphQLError:
    presented = reason is not None
    return GraphQLError(
        f"Not authenticated: {reason if presented else NO_TOKEN}",
        nodes=operation,
        extensions={"code": UNAUTHENTICATED, "invalidToken": presented},
    )


class RequireAuthentication(SchemaExtension):
    """Refuses, before anything runs, an operation of an anonymous viewer that asks for more
    than introspection."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        viewer = getattr(context, "viewer", ANONYMOUS)
        document = execution.graphql_document
        if viewer.authenticated or document is None:
            yield
            return
        operation = get_operation_ast(document, execution.operation_name)
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        if operation is None or introspection_only(operation, fragments):
            yield
            return
        error = unauthenticated(getattr(context, "credential_error", None), operation)
        if operation.operation is OperationType.SUBSCRIPTION:
            raise error  # subscriptions ignore a result set here
        execution.result = GraphQLExecutionResult(data=None, errors=[error])
        yield
