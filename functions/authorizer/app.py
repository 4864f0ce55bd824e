"""Authorizer: the HttpApi's Lambda authorizer (payload 2.0, simple responses).

It never denies: anonymous callers may shorten, and a bad token must come back as a
401 in DESIGN's error body, which API Gateway's own deny (403) could not give. The
function behind the route reads the context and decides. It logs nothing, so it
loads no logger: it runs before every API call, and its cold start is theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relay.platform.auth import authorizer_context

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = event.get("headers") or {}
    return {"isAuthorized": True, "context": authorizer_context(headers.get("authorization"))}
