"""Lambda authorizers, as both gateways run them.

`identity` checks the identity sources first: a missing or empty one is a 401
without calling the function, as API Gateway does. `decide` reads the
function's answer: HTTP API simple responses (`isAuthorized`), or an IAM policy
(HTTP APIs without simple responses, and every WebSocket authorizer), allowed
only when an Allow statement covers the route's ARN and no Deny does. A
function that raises `Unauthorized` gets a 401 on WebSocket connects (the
documented way for a REQUEST authorizer to say so); any other failure or a
malformed answer is a 500.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from relay_local.runtime.invoker import Invocation
from relay_local.template.model import AuthorizerSpec


@dataclass(frozen=True)
class Decision:
    status: int  # 200 allowed; 401, 403 or 500 refused
    context: dict[str, Any]  # what later events carry (see `websocket_context`)
    principal: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


def identity(
    authorizer: AuthorizerSpec, headers: dict[str, str], query: dict[str, str]
) -> list[str] | None:
    """The identity source values in order; None when one is missing (a 401)."""
    values: list[str] = []
    for header in authorizer.identity_headers:
        value = headers.get(header)
        if not value:
            return None
        values.append(value)
    for name in authorizer.identity_query:
        value = query.get(name)
        if not value:
            return None
        values.append(value)
    return values


def decide(authorizer: AuthorizerSpec, invocation: Invocation, resource_arn: str) -> Decision:
    result = invocation.result
    if invocation.failed:
        message = str((invocation.error or {}).get("errorMessage", ""))
        if authorizer.payload_version == "1.0" and message == "Unauthorized":
            return Decision(401, {})
        return Decision(500, {})
    if not isinstance(result, dict):
        return Decision(500, {})
    context = result.get("context") or {}
    if not isinstance(context, dict):
        return Decision(500, {})
    if authorizer.simple_responses:
        allowed = result.get("isAuthorized")
        if not isinstance(allowed, bool):
            return Decision(500, {})
        return Decision(200 if allowed else 403, context)
    principal = result.get("principalId")
    policy = result.get("policyDocument")
    if not isinstance(policy, dict) or not isinstance(principal, (str, int)):
        return Decision(500, {})
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return Decision(500, {})
    allowed = _covers(statements, "Allow", resource_arn)
    denied = _covers(statements, "Deny", resource_arn)
    return Decision(200 if allowed and not denied else 403, context, str(principal))


def _covers(statements: list[Any], effect: str, resource_arn: str) -> bool:
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != effect:
            continue
        actions = _strings(statement.get("Action"))
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if any(fnmatch.fnmatchcase(resource_arn, r) for r in _strings(statement.get("Resource"))):
            return True
    return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def websocket_context(decision: Decision, latency_ms: int) -> dict[str, Any]:
    """`requestContext.authorizer` of a WebSocket connection's events: the principal, the
    context with its values as strings (API Gateway stringifies them), the latency."""
    context: dict[str, Any] = {
        key: value if isinstance(value, str) else _stringify(value)
        for key, value in decision.context.items()
    }
    context["principalId"] = decision.principal
    context["integrationLatency"] = latency_ms
    return context


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
