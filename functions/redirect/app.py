"""Redirect: GET and HEAD /{code}, the hot path (one Redis round trip on a cache hit, no boto3).

This function serves one path, so it reads the API Gateway event itself:
Powertools' router, event wrapper and Response cost ~55 µs, a third of a cache hit
(docs/performance.md). Nothing is imported that a cache hit does not use. A HEAD
(link checkers, unfurlers) answers exactly what a GET would, without the body, and
is no click.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from relay.platform.cache import redis_client, redis_gate
from relay.platform.config import settings
from relay.platform.errors import NotFound, RelayError, Unexpected
from relay.platform.responses import error_payload
from relay.shortener.clicks import ClickLog
from relay.shortener.redirects import Redirects

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log = logging.getLogger(__name__)

# Browsers keep a 301 forever unless told otherwise; a minute keeps clicks, expiry
# and deletion visible while still sparing repeat visits (docs/decisions.md).
CACHE_CONTROL = {301: "private, max-age=60", 302: "private, no-cache"}


def _openapi_operation(method: str) -> dict[str, Any]:
    digits = {"schema": {"type": "string", "pattern": "^[0-9]+$"}}
    limits = {
        name: digits for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
    }
    moved = {
        "Location": {"required": True, "schema": {"type": "string"}},
        "Cache-Control": {"required": True, "schema": {"type": "string"}},
        **limits,
    }
    body = {} if method == "head" else {"content": _ERROR_BODY}
    return {
        "summary": "Follow a short link" if method == "get" else "Check a short link (no click)",
        "operationId": "redirect" if method == "get" else "redirect_head",
        "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "301": {
                "description": "To the long URL (Cache-Control: private, max-age=60)",
                "headers": moved,
            },
            "302": {
                "description": "To the long URL, for links made with redirectType 302",
                "headers": moved,
            },
            "404": {"description": "Unknown code", "headers": limits, **body},
            "410": {"description": "Expired link", "headers": limits, **body},
            "429": {
                "description": "Rate limited; see Retry-After and RateLimit-*",
                "headers": {**limits, "Retry-After": digits},
                **body,
            },
        },
    }


_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
# The path's entry in docs/openapi.json (relay_local.openapi merges it).
OPENAPI_PATHS = {"/{code}": {"get": _openapi_operation("get"), "head": _openapi_operation("head")}}


@functools.cache
def redirects() -> Redirects:
    conf = settings()
    return Redirects(redis_client(), redis_gate(), ClickLog(), trust_country=conf.behind_cloudfront)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    head = (request.get("http") or {}).get("method") == "HEAD"
    try:
        code = (event.get("pathParameters") or {}).get("code")
        if not code:
            raise NotFound("No such route.")
        target = redirects().resolve(
            code, request["http"]["sourceIp"], event.get("headers") or {}, record=not head
        )
        headers = {"Location": target.long_url, "Cache-Control": CACHE_CONTROL[target.status]}
        response = {
            "statusCode": target.status,
            "headers": headers | target.rate_headers,
            "body": "",
        }
    except RelayError as error:
        response = error_payload(error)
    except Exception:
        request_id = str(request.get("requestId", ""))
        log.exception("unexpected error", extra={"request_id": request_id})
        response = error_payload(Unexpected.during(request_id))
    if head:
        response["body"] = ""
    return response
