"""Logs and request context: a request id for every request, one access line per GraphQL request.

The context of the request being served (its id, the GraphQL operation, the viewer) lives in a
context variable, so every log line written while serving it carries it, whoever writes it:

- an HTTP request gets its context from `RequestIds` (schema/http.py), with the `X-Request-ID`
  the client sent when it is a sane token, else a new one, and returns it in the response header;
- a WebSocket operation, or an operation executed without an HTTP request around it (tests, the
  command line), gets one from the `RequestLogging` schema extension, for as long as it runs.

Whoever opened the context writes the request's access line (`cairn.access`, INFO: operation,
outcome, duration) and counts it in the metrics when the request ends.

`configure_logging` sets the root logger up to write text (for a terminal, the default) or JSON,
one object per line: `time` (ISO 8601, UTC), `level`, `logger`, `message`, and when known
`request_id`, `operation`, `operation_type`, `outcome`, `duration_ms`, `viewer`, `exc_info`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from graphql import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from persistence import metrics
from persistence.metrics import OperationType, Outcome

LogFormat = Literal["text", "json"]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The record attributes a log line shows besides its message, in this order.
CONTEXT_FIELDS = (
    "request_id",
    "operation",
    "operation_type",
    "outcome",
    "duration_ms",
    "viewer",
)
# Worse outcomes win: a request with a client error and a server error is a server error.
_SEVERITY: dict[Outcome, int] = {"ok": 0, "client_error": 1, "unavailable": 2, "server_error": 3}

_OPERATION_TYPES: dict[str, OperationType] = {
    "query": "query",
    "mutation": "mutation",
    "subscription": "subscription",
}

access_log = logging.getLogger("cairn.access")
log = logging.getLogger("cairn.requests")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The client's request id if it is a sane token (at most 64 of [A-Za-z0-9._-]), else new."""
    if header is not None and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return new_request_id()


@dataclass
class RequestContext:
    """What is known about the request being served; filled in as it goes."""

    request_id: str
    operation: str | None = None  # the GraphQL operation's name, or its type when unnamed
    operation_type: OperationType = "unknown"
    viewer: str | None = None
    outcome: Outcome = "ok"
    started: float = field(default_factory=time.perf_counter)
    # Set while a GraphQL request is observed: its owner writes the access line.
    observed: bool = False

    def worsen(self, outcome: Outcome) -> None:
        if _SEVERITY[outcome] > _SEVERITY[self.outcome]:
            self.outcome = outcome

    def fields(self) -> dict[str, object]:
        """For a log call's `extra`: the context's fields that are known."""
        values: dict[str, object] = {
            "request_id": self.request_id,
            "operation": self.operation,
            "viewer": self.viewer,
        }
        return {name: value for name, value in values.items() if value is not None}


_current: ContextVar[RequestContext | None] = ContextVar("cairn_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def mark_outcome(outcome: Outcome) -> None:
    """Makes the current request's outcome at least this bad (no-op outside a request)."""
    context = _current.get()
    if context is not None:
        context.worsen(outcome)


@contextmanager
def request_scope(request_id: str) -> Iterator[RequestContext]:
    """Binds a new request context for the duration of the block."""
    context = RequestContext(request_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _reset(token)


@contextmanager
def bound_request(context: RequestContext | None) -> Iterator[None]:
    """Binds an existing request context for the block: work done for that request elsewhere
    (a shared live update) logs under its id."""
    token = _current.set(context)
    try:
        yield
    finally:
        _reset(token)


@contextmanager
def graphql_request() -> Iterator[RequestContext]:
    """Observes one GraphQL request: its outcome and duration go to the access log and metrics.

    Uses the request context already bound (by `RequestIds`), or binds one for the block.
    """
    context = _current.get()
    token = None
    if context is None:
        context = RequestContext(new_request_id())
        token = _current.set(context)
    context.observed = True
    context.started = time.perf_counter()
    try:
        yield context
    except BaseException as error:
        if not isinstance(error, asyncio.CancelledError):
            context.worsen("unavailable" if metrics.is_unavailable(error) else "server_error")
        raise
    finally:
        finish(context)
        if token is not None:
            _reset(token)


def finish(context: RequestContext) -> None:
    """The request's access line and metrics."""
    seconds = time.perf_counter() - context.started
    metrics.count_request(context.operation_type, context.outcome, seconds)
    duration_ms = round(seconds * 1000, 1)
    named = context.operation not in (None, context.operation_type)
    access_log.info(
        "%s%s: %s in %.1f ms",
        context.operation_type,
        f" {context.operation}" if named else "",
        context.outcome,
        duration_ms,
        extra={
            **context.fields(),
            "operation_type": context.operation_type,
            "outcome": context.outcome,
            "duration_ms": duration_ms,
        },
    )


def _reset(token: Any) -> None:
    # ValueError: closed from another context (a generator finalised elsewhere).
    with contextlib.suppress(ValueError):
        _current.reset(token)


def describe_operation(context: RequestContext, execution: ExecutionContext) -> None:
    """The operation's name (its type when unnamed) and type, once the document is parsed."""
    document = execution.graphql_document
    if document is None:
        return
    operation = get_operation_ast(document, execution.operation_name)
    if operation is None:
        return
    kind = _OPERATION_TYPES.get(operation.operation.value, "unknown")
    context.operation_type = kind
    context.operation = operation.name.value if operation.name else kind


def _viewer_id(graphql_context: object) -> str | None:
    viewer = getattr(graphql_context, "viewer", None)
    viewer_id = getattr(viewer, "id", None)
    return viewer_id if isinstance(viewer_id, str) else None


class RequestLogging(SchemaExtension):
    """Puts the operation and viewer into the request context; opens one if there is none.

    An operation with no request context around it (a WebSocket operation, a test calling
    `schema.execute`) gets one of its own, with a new request id, and its access line is written
    when the operation ends (for a subscription: when it closes).
    """

    def on_operation(self) -> Iterator[None]:
        context = _current.get()
        owned = context is None or not context.observed
        token = None
        if owned:
            # Inside an HTTP request, the operation keeps the request's id.
            request_id = new_request_id() if context is None else context.request_id
            context = RequestContext(request_id, observed=True)
            token = _current.set(context)
        assert context is not None
        context.viewer = _viewer_id(self.execution_context.context)
        try:
            yield
        except (GeneratorExit, asyncio.CancelledError):
            raise  # a subscription closed by its client
        except BaseException as error:
            # Strawberry turns what escapes an operation into an error result once the operation
            # is over; reported here, while the request context is still bound.
            describe_operation(context, self.execution_context)
            if owned:
                _report_escaped(context, error)
            raise
        finally:
            describe_operation(context, self.execution_context)
            if owned:
                finish(context)
                _reset(token)

    def on_validate(self) -> Iterator[None]:
        context = _current.get()
        if context is not None:
            describe_operation(context, self.execution_context)
        yield


def _report_escaped(context: RequestContext, error: BaseException) -> None:
    # Imported here: schema.errors uses this module's request context.
    from schema.errors import report_exception

    report_exception(error, context)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (as `logging.lastResort` does)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class RequestContextFilter(logging.Filter):
    """Gives every record the current request's fields (those its call did not set itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if context is not None:
            for name, value in context.fields().items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value...`, the traceback below."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        pairs = [
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if name not in ("operation_type", "outcome", "duration_ms")  # in the access line
            and (value := getattr(record, name, None)) is not None
        ]
        return f"{line} [{' '.join(pairs)}]" if pairs else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                payload[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            payload["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        # ASCII only: no character in a value can be read as a line break.
        return json.dumps(payload, default=str, ensure_ascii=True)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """The root logger writes `log_format` to stderr from `level` up.

    Like `logging.basicConfig`, it leaves a setup someone else made (a test runner's) alone;
    calling it again replaces what it set up before.
    """
    root = logging.getLogger()
    foreign = [handler for handler in root.handlers if not isinstance(handler, _CurrentStderr)]
    if foreign:
        return
    handler = _CurrentStderr()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings too, in the same format
