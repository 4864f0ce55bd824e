"""The local API Gateway HTTP API: routing, the Lambda authorizer, payload 2.0 mapping.

A bare ASGI app (served by uvicorn) so that the gateway's own cost stays
near a hello-world's: routes are compiled once at start, and a request costs
one route lookup, one event dict, and one round trip to a warm worker.
Behaviour follows API Gateway where a handler could tell the difference:
route precedence, the authorizer's 401/403/500, a non-string body refused
with a 500, a result without `statusCode` inferred as a 200 JSON body.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from relay_local.gateways.events import (
    HttpRequest,
    authorizer_event,
    http_event,
    new_request_id,
    request_context,
)
from relay_local.output import Output
from relay_local.runtime.invoker import Invocation, Invoker
from relay_local.template.model import AuthorizerSpec, RouteSpec

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class _CompiledRoute:
    route: RouteSpec
    segments: tuple[str, ...]
    greedy: bool

    def match(self, parts: list[str]) -> dict[str, str] | None:
        segments = self.segments
        if self.greedy:
            if len(parts) < len(segments):
                return None
        elif len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for index, segment in enumerate(segments):
            part = parts[index]
            if segment.startswith("{"):
                if segment.endswith("+}"):
                    rest = "/".join(parts[index:])
                    if not rest:
                        return None
                    params[segment[1:-2]] = unquote(rest)
                    return params
                if not part:
                    return None
                params[segment[1:-1]] = unquote(part)
            elif segment != part:
                return None
        return params


class Router:
    """API Gateway HTTP API route selection: exact paths, then `{param}` paths
    (more literal segments first), then greedy `{proxy+}` paths, then `$default`;
    a route for the request's method beats `ANY` at the same path."""

    def __init__(self, routes: list[RouteSpec]) -> None:
        self._exact: dict[tuple[str, str], RouteSpec] = {}
        patterned: list[_CompiledRoute] = []
        self._default: RouteSpec | None = None
        for route in routes:
            if route.path == "$default":
                self._default = route
            elif "{" not in route.path:
                self._exact[(route.method, route.path)] = route
            else:
                segments = tuple(route.path.strip("/").split("/"))
                greedy = segments[-1].endswith("+}")
                patterned.append(_CompiledRoute(route, segments, greedy))

        def precedence(compiled: _CompiledRoute) -> tuple[int, int, int, int]:
            literals = sum(1 for s in compiled.segments if not s.startswith("{"))
            return (
                int(compiled.greedy),
                -literals,
                -len(compiled.segments),
                int(compiled.route.method == "ANY"),
            )

        self._patterned = sorted(patterned, key=precedence)

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str] | None] | None:
        route = self._exact.get((method, path)) or self._exact.get(("ANY", path))
        if route is not None:
            return route, None
        parts = path.strip("/").split("/")
        for compiled in self._patterned:
            if compiled.route.method not in (method, "ANY"):
                continue
            params = compiled.match(parts)
            if params is not None:
                return compiled.route, params
        if self._default is not None:
            return self._default, None
        return None


def _json_response(status: int, message: str) -> tuple[int, Headers, bytes]:
    body = json.dumps({"message": message}).encode()
    return status, [(b"content-type", b"application/json")], body


NOT_FOUND = _json_response(404, "Not Found")
TOO_LARGE = _json_response(413, "Request Entity Too Large")
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota
UNAUTHORIZED = _json_response(401, "Unauthorized")
FORBIDDEN = _json_response(403, "Forbidden")
INTERNAL_ERROR = _json_response(500, "Internal Server Error")


class BadResponse(Exception):
    """A function answered something API Gateway refuses to turn into HTTP."""


def map_response(result: Any) -> tuple[int, Headers, bytes]:
    """Payload format 2.0 response mapping."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # API Gateway infers: 200, the function's answer as the JSON body.
        return 200, [(b"content-type", b"application/json")], json.dumps(result).encode()
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise BadResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    headers: Headers = []
    for name, value in (result.get("headers") or {}).items():
        if isinstance(value, (dict, list)):
            raise BadResponse(f"header {name} must be a string, got {type(value).__name__}")
        headers.append((str(name).lower().encode("latin-1"), str(value).encode("latin-1")))
    for cookie in result.get("cookies") or []:
        headers.append((b"set-cookie", str(cookie).encode("latin-1")))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise BadResponse(
            f"body must be a string, got {type(body).__name__} (API Gateway answers 500)"
        )
    elif result.get("isBase64Encoded") is True:
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise BadResponse("isBase64Encoded is true but body is not base64") from exc
    else:
        payload = body.encode("utf-8")
    return status, headers, payload


class HttpGateway:
    """The ASGI application."""

    def __init__(self, routes: list[RouteSpec], invoker: Invoker, output: Output) -> None:
        self.router = Router(routes)
        self.invoker = invoker
        self.output = output
        self._static: dict[tuple[str, str], tuple[int, Headers, bytes]] = {}

    def add_static(self, method: str, path: str, body: bytes, content_type: str) -> None:
        """Serve a fixed document beside the template's routes (e.g. the OpenAPI file).

        Local only: on AWS such a document needs a route of its own in the template."""
        headers = [(b"content-type", content_type.encode("latin-1"))]
        self._static[(method.upper(), path)] = (200, headers, body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        request = HttpRequest.from_asgi(scope, body)
        request_id = new_request_id()
        status, headers, payload = await self._handle(request, request_id)
        headers.append((b"apigw-requestid", request_id.encode()))
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, request: HttpRequest, request_id: str) -> tuple[int, Headers, bytes]:
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return _copy(TOO_LARGE)
        if self._static:
            static = self._static.get((request.method, request.raw_path))
            if static is not None:
                return _copy(static)
        found = self.router.match(request.method, request.raw_path)
        if found is None:
            return _copy(NOT_FOUND)
        route, path_parameters = found
        context = request_context(request, route.route_key, request_id)
        authorizer_context: dict[str, Any] | None = None
        if route.authorizer is not None:
            allowed, refusal = await self._authorize(
                route, route.authorizer, request, path_parameters, context
            )
            if refusal is not None:
                return refusal
            authorizer_context = allowed
        event = http_event(request, route.route_key, path_parameters, context, authorizer_context)
        invocation = await self.invoker.invoke(route.function, event)
        source = f"{request.method} {route.path}"
        if invocation.failed:
            self.output.invocation(source, invocation, "500 (function error)")
            return _copy(INTERNAL_ERROR)
        try:
            response = map_response(invocation.result)
        except BadResponse as exc:
            invocation.logs.append(f"[relay] API Gateway refuses this response: {exc}")
            self.output.invocation(source, invocation, "500 (bad response)")
            return _copy(INTERNAL_ERROR)
        self.output.invocation(source, invocation, str(response[0]))
        return response

    async def _authorize(
        self,
        route: RouteSpec,
        authorizer: AuthorizerSpec,
        request: HttpRequest,
        path_parameters: dict[str, str] | None,
        context: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, tuple[int, Headers, bytes] | None]:
        identity: list[str] = []
        for header in authorizer.identity_headers:
            value = request.headers.get(header)
            if not value:
                return None, _copy(UNAUTHORIZED)
            identity.append(value)
        if authorizer.identity_query:
            query = request.query_parameters() or {}
            for name in authorizer.identity_query:
                if not query.get(name):
                    return None, _copy(UNAUTHORIZED)
                identity.append(query[name])
        event = authorizer_event(request, route.route_key, path_parameters, context, identity)
        invocation = await self.invoker.invoke(authorizer.function, event)
        source = f"authorizer {authorizer.name} for {request.method} {route.path}"
        verdict = _verdict(authorizer, invocation)
        if verdict is None:
            self.output.invocation(source, invocation, "500 (authorizer failed)")
            return None, _copy(INTERNAL_ERROR)
        allowed, authorizer_context = verdict
        self.output.invocation(source, invocation, "allow" if allowed else "403 (deny)")
        if not allowed:
            return None, _copy(FORBIDDEN)
        return authorizer_context, None


def _verdict(
    authorizer: AuthorizerSpec, invocation: Invocation
) -> tuple[bool, dict[str, Any]] | None:
    """(allowed, context) from an authorizer's answer; None when API Gateway would 500."""
    result = invocation.result
    if invocation.failed or not isinstance(result, dict):
        return None
    context = result.get("context") or {}
    if not isinstance(context, dict):
        return None
    if authorizer.simple_responses:
        allowed = result.get("isAuthorized")
        if not isinstance(allowed, bool):
            return None
        return allowed, context
    policy = result.get("policyDocument")
    if not isinstance(policy, dict) or "principalId" not in result:
        return None
    statements = policy.get("Statement") or []
    allowed = any(
        isinstance(s, dict) and s.get("Effect") == "Allow" for s in statements
    ) and not any(isinstance(s, dict) and s.get("Effect") == "Deny" for s in statements)
    return allowed, context


def _copy(response: tuple[int, Headers, bytes]) -> tuple[int, Headers, bytes]:
    # The caller appends a request id header; the shared constants must stay untouched.
    return response[0], list(response[1]), response[2]


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return bytes(body)
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
