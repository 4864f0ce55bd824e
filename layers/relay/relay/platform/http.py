"""The glue between Powertools' HTTP resolver and Relay's domain.

One place makes a resolver, turns every error into DESIGN's error body (including
Powertools' own validation errors, which would otherwise be a 422 in another shape),
reads the caller from the authorizer's context, and applies rate limits with their
`RateLimit-*` headers. Handlers stay thin because all of that lives here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from relay.platform.cache import redis_client, redis_gate
from relay.platform.config import settings
from relay.platform.errors import Invalid, NotFound, RelayError, Unauthorized
from relay.platform.identity import Caller
from relay.platform.ratelimit import Decision, RateLimiter, Rule, rule
from relay.platform.responses import JSON, error_payload, unexpected_body

log = logging.getLogger(__name__)

AUTH_ERRORS = {
    "token_expired": "The token has expired.",
    "invalid_token": "The token is not valid.",
}


def error_response(error: RelayError) -> Response[str]:
    return Response(error.status, JSON, json.dumps(error.body()), headers=error.headers)


def _field(location: Any) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def validation_response(error: RequestValidationError) -> Response[str]:
    """DESIGN's 400, naming the first field that is wrong (Powertools would answer 422)."""
    problems = list(error.errors())
    first = problems[0] if problems else {}
    if first.get("type") == "json_invalid":
        message, code = "The request body is not valid JSON.", "malformed_json"
    else:
        field = _field(first.get("loc", ()))
        message, code = f"{field}: {first.get('msg', 'is not valid')}", "invalid_request"
    return Response(400, JSON, json.dumps({"error": {"code": code, "message": message}}))


def make_resolver(*, validation: bool = True) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=validation)

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
        return Response(500, JSON, unexpected_body(request_id))

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
def rate_limiter() -> RateLimiter:
    return RateLimiter(redis_client())


def enforce(checks: list[tuple[Rule, str]]) -> Decision | None:
    """Apply rate limits; None when Redis is unavailable (fail open, see ratelimit.py)."""
    decision = redis_gate().attempt(lambda: rate_limiter().check(checks))
    if decision is not None:
        decision.raise_if_denied()
    return decision


def rate_limited(
    *, anonymous: str, user: str
) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]:
    """Route middleware: one rule for anonymous callers (per IP), another per user."""

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        who = caller(app)
        if who.user_id is None:
            decision = enforce([(rule(anonymous), who.source_ip)])
        else:
            decision = enforce([(rule(user), who.user_id)])
        try:
            response = next_middleware(app)
        except RelayError as error:
            if decision is not None:  # the request used quota, whatever its outcome
                error.headers = decision.headers() | error.headers
            raise
        if decision is not None:
            response.headers.update(decision.headers())
        return response

    return middleware


def public_base_url(app: APIGatewayHttpResolver) -> str:
    """Where short links live: SHORT_BASE_URL when a domain is mapped, else this API's own host."""
    configured = settings().short_base_url
    if configured:
        return configured
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.domain_name}"


def resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route an event. Relay's API speaks JSON only, so a body is read as JSON whatever
    Content-Type came with it: `curl -d` says form-urlencoded, and Powertools would
    otherwise parse the JSON as a form and report every field missing."""
    body = event.get("body")
    if body:
        try:
            text = base64.b64decode(body).decode() if event.get("isBase64Encoded") else str(body)
        except (binascii.Error, UnicodeDecodeError):
            return error_payload(
                Invalid("The request body is not UTF-8 JSON.", code="malformed_json")
            )
        headers = event.get("headers")
        headers = (
            {**headers, "content-type": JSON}
            if isinstance(headers, dict)
            else {"content-type": JSON}
        )
        event = {**event, "headers": headers, "body": text, "isBase64Encoded": False}
    return app.resolve(event, context)
