"""Authorizer: the Lambda authorizer of the HTTP API and of the WebSocket API.

On HTTP calls (payload 2.0, simple responses) it never denies: anonymous callers
may shorten, and a bad token must come back as a 401 in DESIGN's error body, which
API Gateway's own deny (403) could not give; the function behind the route reads
the context and decides. On a WebSocket $connect (a REQUEST event with a
`methodArn`, the token in `?token=`) a missing or bad token is refused before the
socket opens. It logs nothing, so it loads no logger: it runs before every API
call, and its cold start is theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relay.platform.auth import authorizer_context, connect_policy

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "methodArn" in event:
        query = event.get("queryStringParameters") or {}
        return connect_policy(query.get("token"), event["methodArn"])
    headers = event.get("headers") or {}
    return {"isAuthorized": True, "context": authorizer_context(headers.get("authorization"))}
