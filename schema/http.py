"""One GraphQL endpoint: HTTP per the GraphQL-over-HTTP spec, graphql-transport-ws, GraphiQL.

Strawberry's own HTTP view only speaks `application/json`; the spec's
`application/graphql-response+json` changes status codes, so the HTTP side is done here.
Subscriptions reuse strawberry's WebSocket protocol handler.

`RequestIds` gives every HTTP request its id (see `schema.logs`); each GraphQL request over HTTP
writes one access line and counts in the metrics, whatever becomes of it.
"""

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from schema.errors import (
    INTERNAL,
    INTERNAL_MESSAGE,
    UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    is_unexpected,
    masked,
    report_exception,
)
from schema.graphiql import ASSET_FILES, render_page
from schema.logs import (
    REQUEST_ID_HEADER,
    graphql_request,
    mark_outcome,
    request_id_from,
    request_scope,
)
from schema.ratelimit import RATE_LIMITED

log = logging.getLogger("cairn.http")

ContextGetter = Callable[[Request | WebSocket], Awaitable[object]]

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# Listed in order of preference on a tie: legacy clients sending `*/*` keep 200-for-everything.
_SUPPORTED_MEDIA_TYPES = (JSON, GRAPHQL_RESPONSE_JSON)

_GET_OPERATIONS = (OperationType.QUERY,)
_POST_OPERATIONS = (OperationType.QUERY, OperationType.MUTATION)

JSONObject = dict[str, object]
RETRY_AFTER_SECONDS = 5
MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 30.0
MAX_WEBSOCKETS = 5_000
WEBSOCKET_INIT_SECONDS = 10.0


class _RequestError(Exception):
    """The HTTP request itself is unusable: answered with this status and a BAD_REQUEST error."""

    def __init__(
        self, status_code: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers


@dataclass(frozen=True, kw_only=True)
class _GraphQLParams:
    query: str
    variables: JSONObject | None
    operation_name: str | None
    extensions: JSONObject | None


def graphql_routes(
    schema: strawberry.Schema,
    *,
    context_getter: ContextGetter,
    path: str = "/graphql",
    assets_dir: Path,
    outage: Callable[[], str | None] = lambda: None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout_seconds: float = BODY_TIMEOUT_SECONDS,
    max_websockets: int = MAX_WEBSOCKETS,
    websocket_init_seconds: float = WEBSOCKET_INIT_SECONDS,
) -> list[BaseRoute]:
    """Routes serving `schema` at `path` over HTTP and WebSocket, GraphiQL included.

    `assets_dir` is the `node_modules` folder that `npm ci` fills from package.json. `outage`
    tells why the database is down (None while it is up): requests are then refused at once.
    A body over `max_body_bytes` is refused with 413 before it is read to the end or parsed; one
    that takes over `body_timeout_seconds` to arrive, with 408 (a slow client holds no worker).
    """
    assets_url = f"{path.rstrip('/')}/assets"
    page = render_page(assets_url=assets_url)

    async def endpoint(request: Request) -> Response:
        if _wants_graphiql(request):
            return HTMLResponse(page, headers={"Vary": "Accept"})
        with graphql_request() as context:
            reason = outage()
            if reason is None:
                response = await graphql_endpoint(request)
            else:
                response = _unavailable_response(reason, context.request_id)
            response.headers[REQUEST_ID_HEADER] = context.request_id
            return response

    async def graphql_endpoint(request: Request) -> Response:
        media_type = _negotiate(request.headers.get("accept"))
        if media_type is None:
            message = f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}."
            return _request_error_response(_RequestError(406, message), media_type=JSON)
        try:
            params = await _read_params(request, max_body_bytes, body_timeout_seconds)
        except _RequestError as error:
            return _request_error_response(error, media_type=media_type)
        return await _execute(
            schema, params, request=request, media_type=media_type, context_getter=context_getter
        )

    return [
        Route(path, endpoint, methods=["GET", "POST"], name="graphql"),
        WebSocketRoute(
            path,
            _SubscriptionsApp(
                schema,
                context_getter,
                max_connections=max_websockets,
                init_timeout=timedelta(seconds=websocket_init_seconds),
            ),
            name="graphql-ws",
        ),
        Mount(assets_url, _AllowListedFiles(directory=assets_dir), name="graphql-assets"),
    ]


async def _execute(
    schema: strawberry.Schema,
    params: _GraphQLParams,
    *,
    request: Request,
    media_type: str,
    context_getter: ContextGetter,
) -> Response:
    allowed = _POST_OPERATIONS if request.method == "POST" else _GET_OPERATIONS
    try:
        # Strawberry parses, then checks the operation type before validating: the order the spec
        # asks for, so a mutation over GET is refused whether or not it is valid.
        result = await schema.execute(
            params.query,
            variable_values=params.variables,
            operation_name=params.operation_name,
            operation_extensions=params.extensions,
            context_value=await context_getter(request),
            allowed_operation_types=allowed,
        )
    except InvalidOperationTypeError as refused:
        if refused.operation_type is OperationType.SUBSCRIPTION:
            message = "Subscriptions are served over WebSocket (graphql-transport-ws) at this URL."
            return _request_error_response(_RequestError(400, message), media_type=media_type)
        not_allowed = _RequestError(405, "Mutations must be sent with POST.", {"Allow": "POST"})
        return _request_error_response(not_allowed, media_type=media_type)
    except CannotGetOperationTypeError as unknown:
        message = (
            "The document must hold exactly one operation, or operationName must name one."
            if unknown.operation_name is None
            else f"Unknown operation named '{unknown.operation_name}'."
        )
        mark_outcome("client_error")
        error = {"message": message, "extensions": _code("GRAPHQL_VALIDATION_FAILED")}
        return _json_response(
            {"errors": [error]},
            status_code=_request_error_status(media_type),
            media_type=media_type,
        )
    return _result_response(result, media_type=media_type)


def _unavailable_response(reason: str, request_id: str) -> Response:
    mark_outcome("unavailable")
    error = {
        "message": f"{UNAVAILABLE_MESSAGE} ({reason})",
        "extensions": {"code": UNAVAILABLE, "requestId": request_id},
    }
    response = _json_response({"errors": [error]}, status_code=503, media_type=JSON)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _failed_for_outage(result: ExecutionResult) -> bool:
    """Nothing was answered, and only because the database was down."""
    errors = result.errors or []
    no_data = result.data is None or all(value is None for value in result.data.values())
    return bool(errors) and no_data and all(_code_of(error) == UNAVAILABLE for error in errors)


def _code_of(error: GraphQLError) -> object:
    return (error.extensions or {}).get("code")


def _result_response(result: ExecutionResult, *, media_type: str) -> Response:
    errors = result.errors or []
    if _failed_for_outage(result):
        response = _json_response(
            {"data": result.data, "errors": [error.formatted for error in errors]},
            status_code=503,
            media_type=media_type,
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    body: JSONObject
    # Field errors always carry a path; errors without one were raised before execution started
    # (syntax, validation, variable coercion), and then the spec wants no `data` at all.
    retry_after = _rate_limited_for(errors)
    if result.data is None and errors and all(error.path is None for error in errors):
        body = {"errors": [_format_request_error(error, result) for error in errors]}
        # Over its rate the client is told, whatever its media type: 429 and when to retry.
        status_code = 429 if retry_after is not None else _request_error_status(media_type)
    else:
        body = {"data": result.data}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        status_code = 200
    if result.extensions:
        body["extensions"] = result.extensions
    response = _json_response(body, status_code=status_code, media_type=media_type)
    if status_code == 429 and retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _rate_limited_for(errors: list[GraphQLError]) -> int | None:
    """Seconds to wait when the request was refused for its client's rate, else None."""
    if not errors or any(_code_of(error) != RATE_LIMITED for error in errors):
        return None
    waits = [(error.extensions or {}).get("retryAfter") for error in errors]
    return max((wait for wait in waits if isinstance(wait, int)), default=1)


def _request_error_status(media_type: str) -> int:
    # application/json predates the spec's status codes: its clients expect 200 for GraphQL errors.
    return 400 if media_type == GRAPHQL_RESPONSE_JSON else 200


def _format_request_error(error: GraphQLError, result: ExecutionResult) -> JSONObject:
    if is_unexpected(error):  # a fault before execution: logged by the schema, masked here
        return dict(masked(error).formatted)
    if isinstance(error, GraphQLSyntaxError):
        code = "GRAPHQL_PARSE_FAILED"
    elif isinstance(result, PreExecutionError):
        code = "GRAPHQL_VALIDATION_FAILED"
    else:
        code = "BAD_USER_INPUT"  # variables that do not fit their declared types
    formatted: JSONObject = dict(error.formatted)
    # A code set by the schema's own error handling wins over these defaults.
    formatted["extensions"] = {**_code(code), **(error.extensions or {})}
    return formatted


def _request_error_response(error: _RequestError, *, media_type: str) -> Response:
    mark_outcome("client_error")
    body: JSONObject = {"errors": [{"message": error.message, "extensions": _code("BAD_REQUEST")}]}
    response = _json_response(body, status_code=error.status_code, media_type=media_type)
    response.headers.update(error.headers or {})
    return response


def _json_response(body: JSONObject, *, status_code: int, media_type: str) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(
        content,
        status_code=status_code,
        media_type=f"{media_type}; charset=utf-8",
        # The same URL answers differently per Accept: shared caches must not mix them up.
        headers={"Vary": "Accept"},
    )


def _code(code: str) -> JSONObject:
    return {"code": code}


def _wants_graphiql(request: Request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "").lower()
    )


def _negotiate(accept: str | None) -> str | None:
    """The supported media type the client prefers (RFC 9110 §12.5.1), or None if neither."""
    if accept is None or not accept.strip():
        return JSON  # as the spec says to treat a request without Accept
    ranges = [_parse_media_range(part) for part in accept.split(",") if part.strip()]
    best: str | None = None
    best_key = (0.0, 0, 0)
    for media_type in _SUPPORTED_MEDIA_TYPES:
        matches = [
            (specificity, -index, q)
            for index, (media_range, q) in enumerate(ranges)
            if (specificity := _specificity(media_range, media_type)) >= 0
        ]
        if not matches:
            continue
        # The most specific range decides the quality, so `application/json;q=0, */*` refuses JSON.
        specificity, position, q = max(matches)
        key = (q, specificity, position)
        if q > 0 and (best is None or key > best_key):
            best, best_key = media_type, key
    return best


def _parse_media_range(part: str) -> tuple[str, float]:
    media_range, *params = (piece.strip() for piece in part.split(";"))
    q = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = min(max(float(value), 0.0), 1.0)
            except ValueError:
                q = 0.0
    return media_range.lower(), q


def _specificity(media_range: str, media_type: str) -> int:
    if media_range == media_type:
        return 2
    if media_range == f"{media_type.split('/')[0]}/*":
        return 1
    return 0 if media_range == "*/*" else -1


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = _RequestError(413, f"The body must be at most {limit:,} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _loads(text: str | bytes, what: str) -> object:
    try:
        return json.loads(text)
    except ValueError:  # invalid JSON or invalid UTF-8
        raise _RequestError(400, f"{what} is not valid JSON.") from None
    except RecursionError:  # nested deeper than the parser goes
        raise _RequestError(400, f"{what} is nested too deeply.") from None


async def _read_params(
    request: Request, max_body_bytes: int, body_timeout_seconds: float
) -> _GraphQLParams:
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise _RequestError(415, f"A POST body must be {JSON}.")
        try:
            async with asyncio.timeout(body_timeout_seconds):
                raw = await _read_body(request, max_body_bytes)
        except TimeoutError:
            message = f"The body did not arrive within {body_timeout_seconds:g} s."
            raise _RequestError(408, message) from None
        body = _loads(raw, "The body")
        if not isinstance(body, dict):
            raise _RequestError(400, "The body must be a JSON object (batches are not supported).")
        return _params_from(body)
    fields: dict[str, object] = dict(request.query_params)
    for name in ("variables", "extensions"):
        if fields.get(name):
            fields[name] = _loads(str(fields[name]), f"`{name}`")
        else:
            fields[name] = None
    return _params_from(fields)


def _params_from(fields: Mapping[str, object]) -> _GraphQLParams:
    query = fields.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _RequestError(400, "`query` must be given as a non-empty string.")
    operation_name = fields.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _RequestError(400, "`operationName` must be a string or null.")
    return _GraphQLParams(
        query=query,
        variables=_object_or_none(fields, "variables"),
        # Forms and query strings send an empty field for "no operation name".
        operation_name=operation_name or None,
        extensions=_object_or_none(fields, "extensions"),
    )


def _object_or_none(fields: Mapping[str, object], name: str) -> JSONObject | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, dict):
        raise _RequestError(400, f"`{name}` must be a JSON object or null.")
    return value


class RequestIds:
    """ASGI middleware: every HTTP request gets an id, bound while it is served (`schema.logs`).

    The id is the client's `X-Request-ID` when that is a sane token, else a new one; the response
    returns it in `X-Request-ID`. An exception escaping the app is logged here, once, with the id,
    and answered with a 500 that carries it, rather than logged again by Starlette and uvicorn.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with request_scope(request_id) as context:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:
                report_exception(error, context, where=f"{scope['method']} {scope['path']}")
                if started:
                    return  # too late for a 500: the server closes the connection
                error_body: JSONObject = {
                    "errors": [
                        {
                            "message": INTERNAL_MESSAGE,
                            "extensions": {"code": INTERNAL, "requestId": request_id},
                        }
                    ]
                }
                await _json_response(error_body, status_code=500, media_type=JSON)(
                    scope, receive, send_with_id
                )


class _SubscriptionsApp(GraphQL[object, None]):
    """Strawberry's ASGI app, used for its graphql-transport-ws handler only.

    At most `max_connections` WebSockets are open at once in this process (more are refused
    before the handshake completes), and a client must send `connection_init` within
    `init_timeout`, or be closed.
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        context_getter: ContextGetter,
        *,
        max_connections: int,
        init_timeout: timedelta,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=init_timeout,
        )
        self._context_getter = context_getter
        self._max_connections = max_connections
        self._open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        if self._open >= self._max_connections:
            log.warning("WebSocket refused: %d connections open already", self._open)
            await send({"type": "websocket.close", "code": 1013})  # before accept: HTTP 403
            return
        self._open += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._open -= 1

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> object:
        return await self._context_getter(request)


class _AllowListedFiles(StaticFiles):
    """node_modules, but only the files the GraphiQL page loads."""

    def __init__(self, *, directory: Path) -> None:
        # Not checked up front: the API must start even where `npm ci` has not run yet.
        super().__init__(directory=directory, check_dir=False)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if Path(path).as_posix() not in ASSET_FILES:
            return "", None
        return super().lookup_path(path)
