"""Authorizer: the Lambda authorizer of the optional-sign-in HTTP routes and of the
WebSocket `$connect` (routes that require sign-in have API Gateway's own JWT authorizer).

It verifies Cognito access tokens (RS256 against the pool's JWKS, relay.platform.auth).
On HTTP calls (payload 2.0, simple responses) it never denies: anonymous callers may
shorten, and a bad token must come back as a 401 in DESIGN's error body, which API
Gateway's own deny (403) could not give; it passes {userId, authError, issuedAt,
groups} on and the function behind the route decides. On a WebSocket $connect (a
REQUEST event with a `methodArn`, the token in `?token=`) a missing or bad token is
refused before the socket opens. It logs nothing, so it loads no logger, and an
anonymous call imports no PyJWT: its cold start is the API's.
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
