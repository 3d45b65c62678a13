"""Errors clients can rely on: a stable `extensions.code`; anything unexpected is masked.

Expected errors are the client's doing: a `DomainError` (BAD_USER_INPUT, NOT_FOUND,
IDEMPOTENCY_CONFLICT), a GraphQL syntax, validation or coercion error, an operation the transport
refuses. They are logged at DEBUG, without a traceback: the access line already says the request
ended in a client error. Anything else is a fault: logged once, at ERROR, with its traceback and
the request id, and the client gets `INTERNAL_SERVER_ERROR` with that id in `extensions.requestId`.

`report_errors` is the schema's `process_errors` (see `schema.CairnSchema`), so strawberry's own
logger (`strawberry.execution`, which logs every error with a traceback) stays silent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult, StreamExecutionResult

from domain.errors import DomainError, InvalidInput
from persistence import metrics
from schema.logs import RequestContext, current_request, describe_operation

log = logging.getLogger("cairn.errors")

INTERNAL = "INTERNAL_SERVER_ERROR"
INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The database is unavailable; retry shortly"
# What a client can cause; any other exception behind an error is a fault.
EXPECTED = (
    DomainError,
    GraphQLError,
    MissingQueryError,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
_LOGGED = "_cairn_logged"


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


def root_cause(error: GraphQLError) -> BaseException | None:
    """The exception behind a GraphQL error, through any GraphQL errors wrapping it."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def is_unexpected(error: GraphQLError) -> bool:
    cause = root_cause(error)
    return cause is not None and not isinstance(cause, EXPECTED)


def _request_id() -> str | None:
    context = current_request()
    return None if context is None else context.request_id


def masked(error: GraphQLError, request_id: str | None = None) -> GraphQLError:
    """What the client sees of an unexpected error: its place, a code, the id to quote.

    A database outage is no fault of the client's or of the code: `SERVICE_UNAVAILABLE`."""
    cause = root_cause(error)
    unavailable = cause is not None and metrics.is_unavailable(cause)
    extensions: dict[str, object] = {"code": UNAVAILABLE if unavailable else INTERNAL}
    request_id = request_id or _request_id()
    if request_id:
        extensions["requestId"] = request_id
    message = UNAVAILABLE_MESSAGE if unavailable else INTERNAL_MESSAGE
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)


def mask_unexpected(errors: list[GraphQLError], request_id: str | None) -> list[GraphQLError]:
    """A result's errors as a client may see them: unexpected ones masked."""
    return [masked(error, request_id) if is_unexpected(error) else error for error in errors]


def _where(error: GraphQLError) -> str:
    return ".".join(str(key) for key in error.path) if error.path else "-"


def report_errors(
    errors: list[GraphQLError], execution_context: ExecutionContext | None = None
) -> None:
    """Logs an operation's errors as their kind deserves; counts the request's outcome."""
    context = current_request()
    if context is not None and execution_context is not None:
        describe_operation(context, execution_context)
    for error in errors:
        cause = root_cause(error)
        if cause is None or isinstance(cause, EXPECTED):
            _report_client_error(context, error.message, _where(error))
        else:
            report_exception(cause, context, where=_where(error))


def report_shared_errors(errors: list[GraphQLError], logged_under: str | None) -> None:
    """Reports, for the current request, errors of an execution it shares with another request
    (`schema.live`) that reported them first: a fault gets a line of its own here, pointing to
    the traceback logged under `logged_under`."""
    context = current_request()
    for error in errors:
        cause = root_cause(error)
        if cause is None or isinstance(cause, EXPECTED):
            _report_client_error(context, error.message, _where(error))
            continue
        if context is not None:
            context.worsen("unavailable" if metrics.is_unavailable(cause) else "server_error")
        log.error(
            "unexpected error at %s: %s (a shared live update: traceback under request %s)",
            _where(error),
            type(cause).__name__,
            logged_under,
            extra={} if context is None else context.fields(),
        )


def report_exception(
    error: BaseException, context: RequestContext | None, *, where: str = "-"
) -> None:
    """One exception behind a failed request: a client error, or a fault logged exactly once."""
    if isinstance(error, EXPECTED):
        _report_client_error(context, str(error), where)
        return
    metrics.count_database_error(error)
    unavailable = metrics.is_unavailable(error)
    if context is not None:
        context.worsen("unavailable" if unavailable else "server_error")
    if getattr(error, _LOGGED, False):
        return  # the same exception behind several fields (a failed batch load, say)
    with contextlib.suppress(AttributeError):  # an exception class with __slots__
        setattr(error, _LOGGED, True)
    if unavailable:  # an outage, reported by the availability watchers: no traceback
        log.warning(
            "database unavailable at %s: %s",
            where,
            error,
            extra={} if context is None else context.fields(),
        )
        return
    log.error(
        "unexpected error at %s: %s",
        where,
        type(error).__name__,
        exc_info=error,
        extra={} if context is None else context.fields(),
    )


def _report_client_error(context: RequestContext | None, message: str, where: str) -> None:
    if context is not None:
        context.worsen("client_error")
    log.debug(
        "client error at %s: %s", where, message, extra={} if context is None else context.fields()
    )


def _coded(error: GraphQLError, request_id: str | None) -> GraphQLError:
    original = root_cause(error)
    if isinstance(original, DomainError):
        return GraphQLError(
            str(original),
            nodes=error.nodes,
            path=error.path,
            original_error=original,
            extensions=error_extensions(original),
        )
    if is_unexpected(error):
        return masked(error, request_id)  # logged by `report_errors`
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
            request_id = _request_id()
            result.errors = [_coded(error, request_id) for error in result.errors]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # Subscription events do not pass through `on_execute`: mask what went wrong there too.
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = mask_unexpected(result.errors, _request_id())
        yield
