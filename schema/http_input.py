"""Reading a GraphQL request over HTTP: content negotiation, the body within its limits, the
parameters per the GraphQL-over-HTTP spec. A request that cannot be read raises `RequestError`
with the status it gets."""

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# Listed in order of preference on a tie: legacy clients sending `*/*` keep 200-for-everything.
_SUPPORTED_MEDIA_TYPES = (JSON, GRAPHQL_RESPONSE_JSON)

JSONObject = dict[str, object]


class RequestError(Exception):
    """The HTTP request itself is unusable: answered with this status and a BAD_REQUEST error."""

    def __init__(
        self, status_code: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers


@dataclass(frozen=True, kw_only=True)
class GraphQLParams:
    query: str
    variables: JSONObject | None
    operation_name: str | None
    extensions: JSONObject | None


def negotiate(accept: str | None) -> str | None:
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
    too_large = RequestError(413, f"The body must be at most {limit:,} bytes.")
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
        raise RequestError(400, f"{what} is not valid JSON.") from None
    except RecursionError:  # nested deeper than the parser goes
        raise RequestError(400, f"{what} is nested too deeply.") from None


async def read_params(
    request: Request, max_body_bytes: int, body_timeout_seconds: float
) -> GraphQLParams:
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestError(415, f"A POST body must be {JSON}.")
        try:
            async with asyncio.timeout(body_timeout_seconds):
                raw = await _read_body(request, max_body_bytes)
        except TimeoutError:
            message = f"The body did not arrive within {body_timeout_seconds:g} s."
            raise RequestError(408, message) from None
        body = _loads(raw, "The body")
        if not isinstance(body, dict):
            raise RequestError(400, "The body must be a JSON object (batches are not supported).")
        return _params_from(body)
    fields: dict[str, object] = dict(request.query_params)
    for name in ("variables", "extensions"):
        if fields.get(name):
            fields[name] = _loads(str(fields[name]), f"`{name}`")
        else:
            fields[name] = None
    return _params_from(fields)


def _params_from(fields: Mapping[str, object]) -> GraphQLParams:
    query = fields.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "`query` must be given as a non-empty string.")
    operation_name = fields.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string or null.")
    return GraphQLParams(
        query=query,
        variables=_object_or_none(fields, "variables"),
        # Forms and query strings send an empty field for "no operation name".
        operation_name=operation_name or None,
        extensions=_object_or_none(fields, "extensions"),
    )


def _object_or_none(fields: Mapping[str, object], name: str) -> JSONObject | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, dict):
        raise RequestError(400, f"`{name}` must be a JSON object or null.")
    return value
