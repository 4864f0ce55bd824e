"""Running the template's functions in-process, with events shaped like events/*.json.

Handlers are loaded from the CodeUri and Handler that template.yaml gives them, so
a test can only call what the template deploys. HTTP events start from a real
payload 2.0 event in events/ and change only what the test is about.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[dict[str, Any], Any], Any]


class Context:
    """The parts of LambdaContext that Powertools reads."""

    function_name = "test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _functions() -> dict[str, Any]:
    return dict(_model().functions)


def function_names() -> list[str]:
    return sorted(_functions())


def handler(logical_id: str) -> Handler:
    """The handler of a template function, imported fresh (as a cold start would)."""
    spec = _functions()[logical_id]
    module_name, _, attribute = spec.handler.rpartition(".")
    path = Path(spec.code_dir) / f"{module_name.replace('.', '/')}.py"
    unique = f"relay_fn_{logical_id}"
    loader = importlib.util.spec_from_file_location(unique, path)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    sys.modules[unique] = module
    loader.loader.exec_module(module)
    return getattr(module, attribute)  # type: ignore[no-any-return]


def call(logical_id: str, event: dict[str, Any]) -> Any:
    return handler(logical_id)(event, Context())


def http_event(
    route_key: str,
    path: str,
    *,
    body: Any = None,
    user: str | None = None,
    auth_error: str = "",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "203.0.113.42",
    path_parameters: dict[str, str] | None = None,
    jwt_claims: dict[str, Any] | None = None,
    groups: tuple[str, ...] = (),
    issued_at: int | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event as the route's authorizer (template.yaml) would
    have passed it on for `user`: on a route of the JWT authorizer, a Cognito access
    token's claims rendered by the local stack's own code (or `jwt_claims`, any token's
    claims, see tests.support.accounts.claims); on a route of the Lambda authorizer, its
    context {userId, authError, issuedAt, groups}; on an `Authorizer: NONE` route,
    nothing. `issued_at` defaults to now."""
    event: dict[str, Any] = copy.deepcopy(
        json.loads((ROOT / "events" / "shorten.json").read_text())
    )
    method = route_key.split(" ", 1)[0]
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["sourceIp"] = source_ip
    event["requestContext"].pop("authorizer", None)
    kind = route_authorizer(route_key)
    issued = int(time.time()) if issued_at is None else issued_at
    if jwt_claims is None and user is not None and kind == "jwt":
        from tests.support.accounts import claims

        pool_id, client_id = user_pool()
        jwt_claims = claims(pool_id, client_id, user, groups=groups, iat=issued)
    if jwt_claims is not None:
        from relay_local.gateways.jwt import render_claims

        scope = jwt_claims.get("scope")
        event["requestContext"]["authorizer"] = {
            "jwt": {
                "claims": render_claims(jwt_claims),
                "scopes": scope.split() if isinstance(scope, str) else None,
            }
        }
    elif kind == "lambda" or auth_error:
        signed_in = user is not None and not auth_error
        event["requestContext"]["authorizer"] = {
            "lambda": {
                "userId": user if signed_in else "",
                "authError": auth_error,
                "issuedAt": str(issued) if signed_in else "",
                "groups": " ".join(groups) if signed_in else "",
            }
        }
    event["headers"].pop("authorization", None)
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    event["pathParameters"] = path_parameters
    if body is None:
        event.pop("body", None)
    else:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


@functools.cache
def _model() -> Any:
    from relay_local.template.build import build_model

    return build_model(ROOT / "template.yaml", moto_url="http://127.0.0.1:1")


def route_authorizer(route_key: str) -> str:
    """ "jwt", "lambda" or "none": the kind of authorizer template.yaml gives a route."""
    from relay_local.template.model import JwtAuthorizerSpec

    for route in _model().routes:
        if route.route_key == route_key:
            if isinstance(route.authorizer, JwtAuthorizerSpec):
                return "jwt"
            return "none" if route.authorizer is None else "lambda"
    return "lambda"  # a route the template does not have: the old, Lambda-only shape


def user_pool() -> tuple[str, str]:
    """The template's user pool id and app client id, as the local stack names them."""
    model = _model()
    (pool,) = model.user_pools.values()
    (client,) = (c for c in model.user_pool_clients.values() if c.pool == pool.logical_id)
    return pool.id, client.id


def access_token(sub: str, **changes: Any) -> str:
    """A Cognito access token of the template's pool for `sub`, signed with the key local
    pools sign with (what in-process functions accept, see conftest's cognito_keys);
    `changes` override claims (tests.support.accounts.claims)."""
    from tests.support.accounts import claims, mint

    pool_id, client_id = user_pool()
    return mint(claims(pool_id, client_id, sub, **changes))
