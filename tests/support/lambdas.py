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


@functools.cache
def _functions() -> dict[str, Any]:
    from relay_local.template.build import build_model

    return build_model(ROOT / "template.yaml", moto_url="http://127.0.0.1:1").functions


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
) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event as the authorizer would have passed it on: the
    Lambda authorizer's context, or with `jwt_claims` (a token's claims, see
    tests.support.accounts.claims) what the JWT authorizer passes, rendered by the local
    stack's own code."""
    event: dict[str, Any] = copy.deepcopy(
        json.loads((ROOT / "events" / "shorten.json").read_text())
    )
    method = route_key.split(" ", 1)[0]
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["sourceIp"] = source_ip
    event["requestContext"]["authorizer"] = {
        "lambda": {"userId": user or "", "authError": auth_error}
    }
    if jwt_claims is not None:
        from relay_local.gateways.jwt import render_claims

        scope = jwt_claims.get("scope")
        event["requestContext"]["authorizer"] = {
            "jwt": {
                "claims": render_claims(jwt_claims),
                "scopes": scope.split() if isinstance(scope, str) else None,
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
