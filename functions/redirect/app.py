"""Redirect: GET /{code}, the hot path (one Redis round trip on a cache hit, no boto3).

This function serves one route, so it reads the API Gateway event itself:
Powertools' router, event wrapper and Response cost ~55 µs, a third of a cache hit
(docs/performance.md). Nothing is imported that a cache hit does not use.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from relay.platform.cache import redis_client, redis_gate
from relay.platform.errors import NotFound, RelayError
from relay.platform.responses import error_payload, unexpected_body
from relay.shortener.clicks import ClickLog
from relay.shortener.redirects import Redirects

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log = logging.getLogger(__name__)

# Browsers keep a 301 forever unless told otherwise; a minute keeps clicks, expiry
# and deletion visible while still sparing repeat visits (docs/decisions.md).
CACHE_CONTROL = {301: "private, max-age=60", 302: "private, no-cache"}

# The route's entry in docs/openapi.json (relay_local.openapi merges it).
OPENAPI_PATHS = {
    "/{code}": {
        "get": {
            "summary": "Follow a short link",
            "operationId": "redirect",
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "301": {"description": "To the long URL (Cache-Control: private, max-age=60)"},
                "302": {"description": "To the long URL, for links made with redirectType 302"},
                "404": {"description": "Unknown code"},
                "410": {"description": "Expired link"},
                "429": {"description": "Rate limited; see Retry-After and RateLimit-*"},
            },
        }
    }
}


@functools.cache
def redirects() -> Redirects:
    return Redirects(redis_client(), redis_gate(), ClickLog())


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event["requestContext"]
    try:
        code = (event.get("pathParameters") or {}).get("code")
        if not code:
            raise NotFound("No such route.")
        target = redirects().resolve(code, request["http"]["sourceIp"], event.get("headers") or {})
    except RelayError as error:
        return error_payload(error)
    except Exception:
        log.exception("unexpected error", extra={"request_id": request.get("requestId")})
        return {
            "statusCode": 500,
            "headers": {"Content-Type": "application/json"},
            "body": unexpected_body(request.get("requestId", "")),
        }
    headers = {"Location": target.long_url, "Cache-Control": CACHE_CONTROL[target.status]}
    return {"statusCode": target.status, "headers": headers | target.rate_headers, "body": ""}
