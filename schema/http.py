"""One GraphQL endpoint: HTTP per the GraphQL-over-HTTP spec, graphql-transport-ws, GraphiQL.

Strawberry's own HTTP view only speaks `application/json`; the spec's
`application/graphql-response+json` changes status codes, so the HTTP side is done here.
Subscriptions reuse strawberry's WebSocket protocol handler (`schema.websocket`); reading a
request and its limits is `schema.http_input`.

`RequestIds` gives every HTTP request its id (see `schema.logs`); each GraphQL request over HTTP
writes one access line and counts in the metrics, whatever becomes of it.
"""

import json
import logging
import os
from collections.abc import Callable
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
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from schema.authentication import UNAUTHENTICATED, Credentials, authenticate
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
from schema.http_input import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    GraphQLParams,
    JSONObject,
    RequestError,
    negotiate,
    read_params,
)
from schema.logs import (
    REQUEST_ID_HEADER,
    graphql_request,
    mark_outcome,
    request_id_from,
    request_scope,
)
from schema.ratelimit import RATE_LIMITED
from schema.tokens import TokenVerifier
from schema.websocket import ContextGetter, SubscriptionsApp

log = logging.getLogger("cairn.http")


_GET_OPERATIONS = (OperationType.QUERY,)
_POST_OPERATIONS = (OperationType.QUERY, OperationType.MUTATION)

RETRY_AFTER_SECONDS = 5
MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 30.0
MAX_WEBSOCKETS = 5_000
MAX_WEBSOCKETS_PER_VIEWER = 50
WEBSOCKET_INIT_SECONDS = 10.0


def graphql_routes(
    schema: strawberry.Schema,
    *,
    context_getter: ContextGetter,
    tokens: TokenVerifier,
    path: str = "/graphql",
    assets_dir: Path,
    outage: Callable[[], str | None] = lambda: None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout_seconds: float = BODY_TIMEOUT_SECONDS,
    max_websockets: int = MAX_WEBSOCKETS,
    max_websockets_per_viewer: int = MAX_WEBSOCKETS_PER_VIEWER,
    websocket_init_seconds: float = WEBSOCKET_INIT_SECONDS,
) -> list[BaseRoute]:
    """Routes serving `schema` at `path` over HTTP and WebSocket, GraphiQL included.

    `assets_dir` is the `node_modules` folder that `npm ci` fills from package.json. `outage`
    tells why the database is down (None while it is up): requests are then refused at once.
    A body over `max_body_bytes` is refused with 413 before it is read to the end or parsed; one
    that takes over `body_timeout_seconds` to arrive, with 408 (a slow client holds no worker).
    The viewer is who the request's bearer token says (`tokens`; WebSockets: in
    `connection_init`).
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
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None:
            message = f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}."
            return _request_error_response(RequestError(406, message), media_type=JSON)
        try:
            params = await read_params(request, max_body_bytes, body_timeout_seconds)
        except RequestError as error:
            return _request_error_response(error, media_type=media_type)
        context = await context_getter(request)
        await authenticate(context, tokens, request.headers.get("authorization"))
        return await _execute(
            schema, params, request=request, media_type=media_type, context=context
        )

    return [
        Route(path, endpoint, methods=["GET", "POST"], name="graphql"),
        WebSocketRoute(
            path,
            SubscriptionsApp(
                schema,
                context_getter,
                tokens,
                max_connections=max_websockets,
                max_per_viewer=max_websockets_per_viewer,
                init_timeout=timedelta(seconds=websocket_init_seconds),
            ),
            name="graphql-ws",
        ),
        Mount(assets_url, _AllowListedFiles(directory=assets_dir), name="graphql-assets"),
    ]


async def _execute(
    schema: strawberry.Schema,
    params: GraphQLParams,
    *,
    request: Request,
    media_type: str,
    context: Credentials,
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
            context_value=context,
            allowed_operation_types=allowed,
        )
    except InvalidOperationTypeError as refused:
        if refused.operation_type is OperationType.SUBSCRIPTION:
            message = "Subscriptions are served over WebSocket (graphql-transport-ws) at this URL."
            return _request_error_response(RequestError(400, message), media_type=media_type)
        not_allowed = RequestError(405, "Mutations must be sent with POST.", {"Allow": "POST"})
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
    challenge = _challenge_for(errors)
    if result.data is None and errors and all(error.path is None for error in errors):
        body = {"errors": [_format_request_error(error, result) for error in errors]}
        # Over its rate, or without credentials, the client is told whatever its media type:
        # 429 and when to retry, 401 and how to authenticate.
        if retry_after is not None:
            status_code = 429
        elif challenge is not None:
            status_code = 401
        else:
            status_code = _request_error_status(media_type)
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
    if status_code == 401 and challenge is not None:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _challenge_for(errors: list[GraphQLError]) -> str | None:
    """The `WWW-Authenticate` challenge (RFC 6750) when the request was refused for want of a
    valid token, else None."""
    if not errors or any(_code_of(error) != UNAUTHENTICATED for error in errors):
        return None
    if any((error.extensions or {}).get("invalidToken") for error in errors):
        return 'Bearer realm="cairn", error="invalid_token"'
    return 'Bearer realm="cairn"'


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


def _request_error_response(error: RequestError, *, media_type: str) -> Response:
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


class _AllowListedFiles(StaticFiles):
    """node_modules, but only the files the GraphiQL page loads."""

    def __init__(self, *, directory: Path) -> None:
        # Not checked up front: the API must start even where `npm ci` has not run yet.
        super().__init__(directory=directory, check_dir=False)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if Path(path).as_posix() not in ASSET_FILES:
            return "", None
        return super().lookup_path(path)
