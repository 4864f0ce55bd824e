"""The local API Gateway HTTP API: routing, Lambda and JWT authorizers, payload 2.0 mapping.

Served by the lean HTTP/1.1 server of `http11`, so that the gateway's own cost
stays near a hello-world's: routes are compiled once (and again only when the
template changes), and a request costs one route lookup, one event, and one
round trip to a warm worker; the invocation's line is printed after the answer
has gone. Behaviour follows API Gateway where a handler could tell the
difference: route precedence, the authorizer's 401/403/500, a non-string body or
a header with a line break refused with a 500, a result without `statusCode`
inferred as a 200 JSON body, an event over Lambda's 6 MB refused with a 413, and
CORS answered from the API's `CorsConfiguration` (`cors`). Beside the template's
routes it serves, locally only, the OpenAPI document and the browser client's
files at /app/ (`web`).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from relay_local.gateways import authorizers, jwt
from relay_local.gateways.cors import Cors, is_preflight
from relay_local.gateways.events import (
    HttpRequest,
    http_authorizer_event,
    http_context,
    http_event,
    new_request_id,
    route_arn,
)
from relay_local.gateways.http11 import TOO_LARGE, Connection, Request, Response, Upgraded
from relay_local.gateways.web import WebFiles
from relay_local.output import Output
from relay_local.runtime.invoker import Invoker, encode_event
from relay_local.template.model import AuthorizerSpec, CorsSpec, JwtAuthorizerSpec, RouteSpec
from relay_local.template.names import api_id
from relay_local.tokens import KeySet

# A JWT issuer's key set, as API Gateway fetches it from the issuer's jwks_uri.
KeySource = Callable[[str], Awaitable[KeySet]]

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


def _json_response(status: int, message: str) -> Response:
    body = json.dumps({"message": message}).encode()
    return Response(status, [(b"content-type", b"application/json")], body)


NOT_FOUND = _json_response(404, "Not Found")
UNAUTHORIZED = _json_response(401, "Unauthorized")
FORBIDDEN = _json_response(403, "Forbidden")
INTERNAL_ERROR = _json_response(500, "Internal Server Error")
_EVENT_TOO_LARGE = "RequestEntityTooLargeException"  # Lambda's, for an Invoke over 6 MB
_REFUSALS = {401: UNAUTHORIZED, 403: FORBIDDEN, 500: INTERNAL_ERROR}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BREAKS = re.compile(r"[\r\n\0]")


class BadResponse(Exception):
    """A function answered something API Gateway refuses to turn into HTTP."""


def _header_value(name: str, value: Any) -> bytes:
    if isinstance(value, (dict, list)):
        raise BadResponse(f"header {name} must be a string, got {type(value).__name__}")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if _BREAKS.search(text):
        raise BadResponse(f"header {name} holds a line break")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise BadResponse(f"header {name} is not Latin-1 text") from exc


def map_response(result: Any) -> Response:
    """Payload format 2.0 response mapping."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # API Gateway infers: 200, the function's answer as the JSON body.
        return Response(200, [(b"content-type", b"application/json")], json.dumps(result).encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise BadResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    headers: Headers = []
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise BadResponse("headers must be an object")
    for name, value in raw_headers.items():
        if not _TOKEN.fullmatch(str(name)):
            raise BadResponse(f"header name {name!r} is not a valid HTTP token")
        headers.append((str(name).lower().encode("latin-1"), _header_value(name, value)))
    for cookie in result.get("cookies") or []:
        headers.append((b"set-cookie", _header_value("set-cookie", cookie)))
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
        payload = body.encode("utf-8", errors="surrogatepass")
    return Response(status, headers, payload)


async def _no_keys(issuer: str) -> KeySet:
    raise LookupError(f"no key set for {issuer}")


class HttpGateway:
    """The HTTP API: `handle` answers one request; `update` swaps in new routes."""

    def __init__(
        self,
        routes: list[RouteSpec],
        invoker: Invoker,
        output: Output,
        keys: KeySource = _no_keys,
        clock: Callable[[], float] = time.time,
        cors: dict[str, CorsSpec] | None = None,
    ) -> None:
        self.router = Router(routes)
        self.invoker = invoker
        self.output = output
        self.keys = keys
        self.clock = clock
        self._static: dict[tuple[str, str], Response] = {}
        self.web: WebFiles | None = None  # the browser client's files, at /app/
        self._cors: dict[str, Cors] = {}
        self._only_cors: Cors | None = None
        self._set_cors(cors or {})

    def update(self, routes: list[RouteSpec], cors: dict[str, CorsSpec] | None = None) -> None:
        self.router = Router(routes)
        self._set_cors(cors or {})

    def _set_cors(self, cors: dict[str, CorsSpec]) -> None:
        self._cors = {api: Cors(spec) for api, spec in cors.items()}
        # The APIs share one port locally: a request no route takes (a 404, a preflight
        # of a path without routes) gets the configuration of the only API that has one.
        self._only_cors = next(iter(self._cors.values())) if len(self._cors) == 1 else None

    def add_static(self, method: str, path: str, body: bytes, content_type: str) -> None:
        """Serve a fixed document beside the template's routes (e.g. the OpenAPI file).

        Local only: on AWS such a document needs a route of its own in the template."""
        headers = [(b"content-type", content_type.encode("latin-1"))]
        self._static[(method.upper(), path)] = Response(200, headers, body)

    async def upgrade(
        self, request: Request, connection: Connection
    ) -> tuple[Response, Upgraded | None]:
        # An HTTP API speaks no WebSocket; API Gateway treats the request as a plain GET.
        return await self.handle(request), None

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        if self._cors:
            response = await self._handle_cors(request, request_id)
        else:
            response = await self._handle(request, request_id)
        return Response(
            response.status,
            [*response.headers, (b"apigw-requestid", request_id.encode())],
            response.body,
        )

    async def _handle_cors(self, request: Request, request_id: str) -> Response:
        """A request to an API with a CorsConfiguration (see `cors`)."""
        preflight = is_preflight(request)
        if preflight is not None:
            asking, method = preflight
            cors = self._cors_of(self.router.match(method.upper(), request.raw_path))
            if cors is not None:
                return cors.preflight(request, asking, method)
        origin = request.header("origin")
        if origin is None:
            return await self._handle(request, request_id)
        found = self.router.match(request.method, request.raw_path)
        response = await self._serve(request, request_id, found)
        cors = self._cors_of(found)
        return response if cors is None else cors.decorate(response, origin)

    def _cors_of(self, found: tuple[RouteSpec, dict[str, str] | None] | None) -> Cors | None:
        if found is None:
            return self._only_cors
        return self._cors.get(found[0].api_id)

    async def _handle(self, raw: Request, request_id: str) -> Response:
        return await self._serve(raw, request_id, self.router.match(raw.method, raw.raw_path))

    async def _serve(
        self, raw: Request, request_id: str, found: tuple[RouteSpec, dict[str, str] | None] | None
    ) -> Response:
        if self.web is not None and self.web.wants(raw):
            return self.web.answer(raw)
        if self._static:
            static = self._static.get((raw.method, raw.raw_path))
            if static is not None:
                return static
        if found is None:
            return NOT_FOUND
        route, path_parameters = found
        request = HttpRequest.of(raw)
        api = api_id(route.api_id)
        context = http_context(request, api, route.route_key, request_id)
        authorizer: dict[str, Any] | None = None
        if isinstance(route.authorizer, JwtAuthorizerSpec):
            verdict = await self._authorize_jwt(route, route.authorizer, request)
            if not verdict.allowed:
                refusal = _REFUSALS[verdict.status]
                if not verdict.challenge:
                    return refusal
                challenge = (b"www-authenticate", verdict.challenge.encode("latin-1", "replace"))
                return Response(refusal.status, [*refusal.headers, challenge], refusal.body)
            authorizer = verdict.context
        elif route.authorizer is not None:
            decision = await self._authorize(
                route, route.authorizer, request, path_parameters, context
            )
            if not decision.allowed:
                return _REFUSALS[decision.status]
            authorizer = {"lambda": decision.context}
        event = http_event(request, route.route_key, path_parameters, context, authorizer)
        invocation = await self.invoker.invoke_encoded(route.function, encode_event(event))
        source = f"{request.method} {route.path}"
        if invocation.failed:
            if invocation.error and invocation.error.get("errorType") == _EVENT_TOO_LARGE:
                # Lambda refused the event (over its 6 MB synchronous payload): the function
                # never ran, and API Gateway answers 413 as for a body over its own quota.
                self.output.invocation(source, invocation, "413 (event over Lambda's 6 MB)")
                return TOO_LARGE
            self.output.invocation(source, invocation, "500 (function error)")
            return INTERNAL_ERROR
        try:
            response = map_response(invocation.result)
        except BadResponse as exc:
            invocation.logs.append(f"[relay] API Gateway refuses this response: {exc}")
            self.output.invocation(source, invocation, "500 (bad response)")
            return INTERNAL_ERROR
        self.output.invocation(source, invocation, str(response.status))
        return response

    async def _authorize_jwt(
        self, route: RouteSpec, authorizer: JwtAuthorizerSpec, request: HttpRequest
    ) -> jwt.JwtDecision:
        token = jwt.token_of(authorizer, request.headers, request.query_parameters() or {})
        try:
            keys = await self.keys(authorizer.issuer)
        except Exception as exc:  # noqa: BLE001 - API Gateway answers 500 without the keys
            self.output.line(f"[relay] JWT authorizer {authorizer.name}: no key set: {exc}")
            return jwt.JwtDecision(500)
        verdict = jwt.authorize(authorizer, route.scopes, token, keys, self.clock())
        if not verdict.allowed:
            self.output.line(
                f"[relay] {request.method} {route.path}: {verdict.status} from JWT authorizer"
                f" {authorizer.name} ({verdict.challenge})"
            )
        return verdict

    async def _authorize(
        self,
        route: RouteSpec,
        authorizer: AuthorizerSpec,
        request: HttpRequest,
        path_parameters: dict[str, str] | None,
        context: dict[str, Any],
    ) -> authorizers.Decision:
        identity = authorizers.identity(
            authorizer, request.headers, request.query_parameters() or {}
        )
        if identity is None:
            return authorizers.Decision(401, {})
        api = context["apiId"]
        event = http_authorizer_event(
            request, api, route.route_key, path_parameters, context, identity
        )
        invocation = await self.invoker.invoke(authorizer.function, event)
        decision = authorizers.decide(
            authorizer, invocation, route_arn(api, request.method, request.raw_path)
        )
        source = f"authorizer {authorizer.name} for {request.method} {route.path}"
        status = {200: "allow", 403: "403 (deny)", 401: "401"}.get(
            decision.status, "500 (authorizer failed)"
        )
        self.output.invocation(source, invocation, status)
        return decision
