"""The glue between Powertools' HTTP resolver and Relay's domain.

One place makes a resolver, turns every error into DESIGN's error body (including
Powertools' own validation errors, which would otherwise be a 422 in another shape),
reads the caller from the authorizer's context, guards each route with the rate
limits relay.platform.ratelimit.GUARDS gives it (with their `RateLimit-*` headers),
and hands Powertools only bodies relay.platform.bodies has read as sound JSON.
Handlers stay thin because all of that lives here.

The resolver also documents what this module adds to a route, so docs/openapi.json
says what the API really answers: a route's success beside the errors it names, the
400 and 413 of a route that reads a body, the 401 and 429 of a rate-limited route
and the `RateLimit-*` headers on its answers.

Rate-limited requests and Redis failures are counted as Powertools metrics (EMF, one
log line per invocation, flushed by `resolve`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from relay.platform.bodies import BODY_METHODS, json_body
from relay.platform.errors import Invalid, NotFound, RelayError, Unexpected
from relay.platform.identity import Caller, caller_of
from relay.platform.observability import flush
from relay.platform.ratelimit import Guard, enforce, guard
from relay.platform.responses import JSON, error_payload
from relay.platform.schemas import error_responses, rate_limit_headers
from relay.platform.sessions import sessions

log = logging.getLogger(__name__)


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


class Guarded:
    """Route middleware that applies the route's guard (relay.platform.ratelimit.GUARDS) and
    puts the RateLimit-* headers on every answer, errors included."""

    __name__ = "rate_limit"

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def __call__(
        self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware
    ) -> Response[Any]:
        who = caller(app)
        decision = enforce(self.guard.checks(user_id=who.user_id, source_ip=who.source_ip))
        try:
            response = next_middleware(app)
        except RelayError as error:
            if decision is not None:  # the request used quota, whatever its outcome
                error.headers = decision.headers() | error.headers
            raise
        if decision is not None:
            response.headers.update(decision.headers())
        return response


def route_is_guarded(route: Any) -> bool:
    return any(isinstance(m, Guarded) for m in route.middlewares or ())


def route_key(route: Any) -> str:
    """API Gateway's route key of a Powertools route: `GET /api/posts/{post_id}`."""
    return f"{route.method} {route.openapi_path}"


def _documented(route: Any) -> None:
    """Add to a route's OpenAPI responses what this module makes it answer."""
    responses: dict[int, OpenAPIResponse] = dict(route.responses or {})
    if not any(200 <= status < 300 for status in responses):
        responses[route.status_code] = {"description": "OK"}  # content: the return type
    wanted = [400, 413] if route.method in BODY_METHODS else []
    limits = guard(route_key(route))
    limited = limits is not None and (limits.inline or route_is_guarded(route))
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
    """Powertools' resolver, with each route guarded as GUARDS says and documented with
    what this module makes it answer.

    A path parameter is any run of characters but `/`, as API Gateway matches `{name}`:
    Powertools' own pattern takes word characters and a few others only, so a handle
    such as `bob\u200b` would find no route (a bare 404) instead of the handler that
    says what is wrong with it (400 invalid_handle)."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}$") -> re.Pattern[str]:
        return re.compile(base_regex.format(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", rule)))

    def route(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        register = super().route(*args, **kwargs)

        def registered(func: Any) -> Any:
            known = {id(route) for route in self._static_routes + self._dynamic_routes}
            result = register(func)
            for route in self._static_routes + self._dynamic_routes:
                if id(route) not in known:
                    limits = guard(route_key(route))
                    if limits is not None and not limits.inline:
                        route.middlewares = [Guarded(limits), *(route.middlewares or [])]
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
    """The caller as the route's authorizer saw it (relay.platform.identity.caller_of), a
    bad token a 401 whatever the route; a signed-in caller whose session was signed out
    since the token was issued is refused too (401 session_ended). Read once per request."""
    known = app.context.get(_CALLER)
    if isinstance(known, Caller):
        return known
    event = app.current_event
    authorizer = event.request_context.raw_event.get("authorizer")
    who = caller_of(authorizer, event.request_context.http.source_ip)
    if who.user_id is not None:
        sessions().check(who.user_id, who.issued_at or 0)
    app.append_context(**{_CALLER: who})
    return who


_CALLER = "relay_caller"


def unchecked_caller(app: APIGatewayHttpResolver) -> Caller:
    """The caller as the route's authorizer saw it, its session NOT yet checked: for a
    route with an inline guard, which reads the sign-out mark in its own round trip
    (relay.platform.sessions.mark_key, refuse_if_ended)."""
    event = app.current_event
    authorizer = event.request_context.raw_event.get("authorizer")
    return caller_of(authorizer, event.request_context.http.source_ip)


def resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route an event. Relay's API speaks JSON only, so a body is read as JSON whatever
    Content-Type came with it: `curl -d` says form-urlencoded, and Powertools would
    otherwise parse the JSON as a form and report every field missing."""
    try:
        return _resolve(app, event, context)
    finally:
        flush()


def _resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", ""))
    body = event.get("body")
    if body and (method.upper() not in BODY_METHODS or event.get("routeKey") == "$default"):
        # No route reads it: an unrouted request is a 404 whatever its body.
        event = {**event, "body": None, "isBase64Encoded": False}
    elif isinstance(body, str) and body:
        try:
            text = json_body(body, bool(event.get("isBase64Encoded")))
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
