"""Authorizer: the HttpApi's Lambda authorizer (payload 2.0, simple responses).

It never denies: anonymous callers may shorten, and a bad token must come back as a
401 in DESIGN's error body, which API Gateway's own deny (403) could not give. The
function behind the route reads the context and decides.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.auth import authorizer_context
from relay.platform.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = event.get("headers") or {}
    return {"isAuthorized": True, "context": authorizer_context(headers.get("authorization"))}
