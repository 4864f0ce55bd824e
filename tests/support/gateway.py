"""API Gateway's HTTP API in front of the template's functions, in process, as a WSGI app.

The fuzzer (tests/integration/test_fuzz.py) speaks HTTP to this: each request is
routed by the local stack's own router over template.yaml's HttpApi routes, runs
the authorizer the route names (a Lambda authorizer, or a JWT authorizer checked
by the local stack's own code against the key moto signs user pools' tokens with:
`tests.support.accounts.mint` makes such tokens), becomes a payload 2.0 event
built by the local stack's event code, and the function's answer is mapped back
to HTTP by the same code that serves `relay run` (a body that is not a string, a
header API Gateway would refuse: a 500, as on AWS). Nothing here knows a route or
a function by name: what the template deploys is what is fuzzed.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from relay_local.gateways import jwt
from relay_local.gateways.events import (
    HttpRequest,
    http_authorizer_event,
    http_context,
    http_event,
    new_request_id,
)
from relay_local.gateways.http_api import Router, map_response
from relay_local.template.build import build_model
from relay_local.template.model import JwtAuthorizerSpec
from relay_local.template.names import api_id
from relay_local.tokens import moto_key_set
from tests.support.lambdas import ROOT, Context, Handler, handler

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Error"}
_REFUSED = {401: b'{"message":"Unauthorized"}', 403: b'{"message":"Forbidden"}'}


class Gateway:
    """A WSGI application: HTTP in, the template's functions behind it, HTTP out.

    Every request comes from a source IP of its own (198.18.0.0/15, the benchmarking
    range), so per-IP limits see a crowd rather than one client; per-user limits
    still apply to the tokens the caller sends."""

    def __init__(self, template: Path = ROOT / "template.yaml") -> None:
        model = build_model(template, moto_url="http://127.0.0.1:1")
        self._router = Router(list(model.routes))
        self._handlers: dict[str, Handler] = {}
        self._ips = itertools.count(1)

    def _handler(self, logical_id: str) -> Handler:
        if logical_id not in self._handlers:
            self._handlers[logical_id] = handler(logical_id)
        return self._handlers[logical_id]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, headers, body = self.answer(_request(environ, self._next_ip()))
        reason = _REASONS.get(status, "Answer")
        start_response(f"{status} {reason}", headers)
        return [body]

    def _next_ip(self) -> str:
        n = next(self._ips)
        return f"198.{18 + (n >> 16) % 2}.{(n >> 8) & 255}.{n & 255}"

    def answer(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        found = self._router.match(request.method, request.raw_path)
        if found is None:
            return 404, [("content-type", "application/json")], b'{"message":"Not Found"}'
        route, path_parameters = found
        api = api_id(route.api_id)
        context = http_context(request, api, route.route_key, new_request_id())
        authorizer: dict[str, Any] | None = None
        try:
            if isinstance(route.authorizer, JwtAuthorizerSpec):
                token = jwt.token_of(route.authorizer, request.headers, {})
                verdict = jwt.authorize(
                    route.authorizer, route.scopes, token, moto_key_set(), time.time()
                )
                if not verdict.allowed:
                    headers = [
                        ("content-type", "application/json"),
                        ("www-authenticate", verdict.challenge),
                    ]
                    return verdict.status, headers, _REFUSED[verdict.status]
                authorizer = verdict.context
            elif route.authorizer is not None:
                decision = self._handler(route.authorizer.function)(
                    http_authorizer_event(
                        request, api, route.route_key, path_parameters, context, []
                    ),
                    Context(),
                )
                if not isinstance(decision, dict) or decision.get("isAuthorized") is not True:
                    return 403, [("content-type", "application/json")], b'{"message":"Forbidden"}'
                authorizer = {"lambda": decision.get("context") or {}}
            event = http_event(request, route.route_key, path_parameters, context, authorizer)
            response = map_response(self._handler(route.function)(event, Context()))
        except Exception:  # noqa: BLE001 (whatever a function raises, API Gateway answers 500)
            # API Gateway answers 500 for a function that fails or answers what it cannot
            # send; the traceback goes in the body so that the fuzzer's report shows it.
            return 500, [("content-type", "text/plain")], traceback.format_exc().encode()
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers
        ]
        body = b"" if request.method == "HEAD" else response.body
        return response.status, headers, body


def _request(environ: dict[str, Any], source_ip: str) -> HttpRequest:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    headers["x-forwarded-for"] = source_ip
    headers["x-forwarded-proto"] = "https"
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw_uri:
        raw_path, _, raw_query = raw_uri.partition("?")
    else:
        raw_path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/")
        raw_query = environ.get("QUERY_STRING", "")
    return HttpRequest(
        method=environ["REQUEST_METHOD"],
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers,
        cookies=[],
        body=body,
        source_ip=source_ip,
    )
