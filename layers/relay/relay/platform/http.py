"""The glue between Powertools' HTTP resolver and Relay's domain.

One place makes a resolver, turns every error into DESIGN's error body (including
Powertools' own validation errors, which would otherwise be a 422 in another shape),
reads the caller from the authorizer's context, applies rate limits with their
`RateLimit-*` headers, and reads the request body before Powertools does, so that
no body a client sends (too large, not UTF-8, not JSON, nested past any reason) can
become a 500. Handlers stay thin because all of that lives here.

The resolver also documents what this module adds to a route, so docs/openapi.json
says what the API really answers: a route's success beside the errors it names, the
400 and 413 of a route that reads a body, the 401 and 429 of a rate-limited route
and the `RateLimit-*` headers on its answers.

Rate-limited requests and Redis failures are counted as Powertools metrics (EMF, one
log line per invocation, flushed by `resolve`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from relay.platform.cache import RedisGate, redis_client
from relay.platform.config import settings
from relay.platform.errors import (
    Invalid,
    NotFound,
    RelayError,
    TooLarge,
    Unauthorized,
    Unexpected,
)
from relay.platform.identity import Caller
from relay.platform.observability import metrics
from relay.platform.ratelimit import Decision, RateLimiter, Rule, rule
from relay.platform.responses import JSON, error_payload
from relay.platform.schemas import error_responses, rate_limit_headers

log = logging.getLogger(__name__)

AUTH_ERRORS = {
    "token_expired": "The token has expired.",
    "invalid_token": "The token is not valid.",
}
# Relay's bodies are a few hundred bytes (a URL is at most 2048 characters, 12 KiB as
# JSON escapes); API Gateway would pass up to 10 MB for every instance to parse.
MAX_BODY_BYTES = 64 * 1024
# Methods whose body a route may read; any other method's body is ignored, as HTTP says.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Relay's bodies are flat objects; a validator that walks a deeper one recurses.
MAX_BODY_DEPTH = 16

_pending_metrics = False


def count(metric: str) -> None:
    """One more `metric` (a count) in this invocation's metrics line."""
    global _pending_metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=metric, unit=MetricUnit.Count, value=1)
    _pending_metrics = True


def _flush_metrics() -> None:
    global _pending_metrics
    if _pending_metrics:
        _pending_metrics = False
        metrics().flush_metrics()


def error_response(error: RelayError) -> Response[str]:
    return Response(error.status, JSON, json.dumps(error.body()), headers=error.headers)


def _field(location: Any) -> str:
    parts = [str(part)[:100] for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def validation_response(error: RequestValidationError) -> Response[str]:
    """DESIGN's 400, naming the first field that is wrong (Powertools would answer 422)."""
    problems = list(error.errors())
    first = problems[0] if problems else {}
    if first.get("type") == "json_invalid":
        return error_response(Invalid("The request body is not valid JSON.", code="malformed_json"))
    field = _field(first.get("loc", ()))
    return error_response(Invalid(f"{field}: {first.get('msg', 'is not valid')}"))


class RateLimit:
    """Route middleware: one rule for anonymous callers (per IP), another per user."""

    __name__ = "rate_limit"

    def __init__(self, anonymous: str, user: str) -> None:
        self._anonymous = anonymous
        self._user = user

    def __call__(
        self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware
    ) -> Response[Any]:
        who = caller(app)
        if who.user_id is None:
            decision = enforce([(rule(self._anonymous), who.source_ip)])
        else:
            decision = enforce([(rule(self._user), who.user_id)])
        try:
            response = next_middleware(app)
        except RelayError as error:
            if decision is not None:  # the request used quota, whatever its outcome
                error.headers = decision.headers() | error.headers
            raise
        if decision is not None:
            response.headers.update(decision.headers())
        return response


def rate_limited(*, anonymous: str, user: str) -> RateLimit:
    return RateLimit(anonymous, user)


def _documented(route: Any) -> None:
    """Add to a route's OpenAPI responses what this module makes it answer."""
    responses: dict[int, OpenAPIResponse] = dict(route.responses or {})
    if not any(200 <= status < 300 for status in responses):
        responses[route.status_code] = {"description": "OK"}  # content: the return type
    wanted = [400, 413] if route.method in BODY_METHODS else []
    limited = any(isinstance(m, RateLimit) for m in route.middlewares)
    if limited:
        wanted += [401, 429]
    for status, response in error_responses(*wanted).items():
        responses.setdefault(status, response)
    if limited:
        for status, response in list(responses.items()):
            headers = rate_limit_headers(retry_after=status == 429)
            responses[status] = {**response, "headers": {**headers, **response.get("headers", {})}}
    route.responses = responses


class RelayResolver(APIGatewayHttpResolver):
    def route(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        register = super().route(*args, **kwargs)

        def registered(func: Any) -> Any:
            known = {id(route) for route in self._static_routes + self._dynamic_routes}
            result = register(func)
            for route in self._static_routes + self._dynamic_routes:
                if id(route) not in known:
                    _documented(route)
            return result

        return registered


def make_resolver(*, validation: bool = True) -> APIGatewayHttpResolver:
    app = RelayResolver(enable_validation=validation)

    @app.exception_handler(RelayError)
    def relay_error(error: RelayError) -> Response[str]:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def invalid(error: RequestValidationError) -> Response[str]:
        return validation_response(error)

    @app.not_found
    def unknown_route(_: Exception) -> Response[str]:
        return error_response(NotFound("No such route."))

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        request_id = app.current_event.request_context.request_id
        log.exception("unexpected error", extra={"request_id": request_id})
        return error_response(Unexpected.during(request_id))

    return app


def caller(app: APIGatewayHttpResolver) -> Caller:
    """The caller as the authorizer saw it; a bad token is a 401 whatever the route."""
    event = app.current_event
    context = event.request_context.authorizer.get_lambda or {}
    auth_error = context.get("authError") or ""
    if auth_error:
        raise Unauthorized(AUTH_ERRORS.get(auth_error, "The token is not valid."), code=auth_error)
    return Caller(
        user_id=context.get("userId") or None, source_ip=event.request_context.http.source_ip
    )


@functools.cache
def redis_gate() -> RedisGate:
    """The Redis gate of a Powertools function: each request served without Redis is counted."""
    return RedisGate(on_unavailable=lambda: count("RedisFailOpen"))


@functools.cache
def rate_limiter() -> RateLimiter:
    return RateLimiter(redis_client())


def enforce(checks: list[tuple[Rule, str]]) -> Decision | None:
    """Apply rate limits; None when Redis is unavailable (fail open, see ratelimit.py)."""
    decision = redis_gate().attempt(lambda: rate_limiter().check(checks))
    if decision is not None and not decision.allowed:
        count("RateLimited")
        decision.raise_if_denied()
    return decision


def public_base_url(app: APIGatewayHttpResolver) -> str:
    """Where short links live: SHORT_BASE_URL when a domain is mapped, else this API's own host."""
    configured = settings().short_base_url
    if configured:
        return configured
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{'http' if scheme == 'http' else 'https'}://{event.request_context.domain_name}"


def own_hosts(app: APIGatewayHttpResolver) -> frozenset[str]:
    """The hosts that serve this shortener's links: SHORT_BASE_URL's, and the API's own
    (which still redirects when a custom domain is mapped in front of it)."""
    hosts: Iterable[str | None] = (
        urlsplit(settings().short_base_url).hostname,
        urlsplit(f"//{app.current_event.request_context.domain_name}").hostname,
    )
    return frozenset(host.rstrip(".") for host in hosts if host)


def _json_body(body: str, base64_encoded: bool) -> str:
    """The body as JSON text, once it is known to be sound: a RelayError (400, 413) for
    anything else. Parsing it here (Powertools parses it again) is what turns a body
    nested past Python's recursion limit into a 400 rather than a 500."""
    try:
        raw = base64.b64decode(body, validate=True) if base64_encoded else body.encode()
        if len(raw) > MAX_BODY_BYTES:
            raise TooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB.")
        text = raw.decode()
        value = json.loads(text)
    except (binascii.Error, UnicodeError) as error:
        raise Invalid("The request body is not UTF-8 JSON.", code="malformed_json") from error
    except RecursionError as error:
        raise Invalid("The request body is nested too deeply.", code="malformed_json") from error
    except ValueError as error:
        raise Invalid("The request body is not valid JSON.", code="malformed_json") from error
    if _deeper_than(value, MAX_BODY_DEPTH):
        raise Invalid("The request body is nested too deeply.", code="malformed_json")
    return text


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON nests arrays and objects more than `limit` deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route an event. Relay's API speaks JSON only, so a body is read as JSON whatever
    Content-Type came with it: `curl -d` says form-urlencoded, and Powertools would
    otherwise parse the JSON as a form and report every field missing."""
    try:
        return _resolve(app, event, context)
    finally:
        _flush_metrics()


def _resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", ""))
    body = event.get("body")
    if body and (method.upper() not in BODY_METHODS or event.get("routeKey") == "$default"):
        # No route reads it: an unrouted request is a 404 whatever its body.
        event = {**event, "body": None, "isBase64Encoded": False}
    elif isinstance(body, str) and body:
        try:
            text = _json_body(body, bool(event.get("isBase64Encoded")))
        except RelayError as error:
            return error_payload(error)
        headers = event.get("headers")
        headers = (
            {**headers, "content-type": JSON}
            if isinstance(headers, dict)
            else {"content-type": JSON}
        )
        event = {**event, "headers": headers, "body": text, "isBase64Encoded": False}
    return app.resolve(event, context)
