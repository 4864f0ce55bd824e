"""Redirect: GET and HEAD /{code}, the hot path (one Redis round trip on a cache hit, no boto3).

This function serves one path, so it reads the API Gateway event itself:
Powertools' router, event wrapper and Response cost ~55 µs, a third of a cache hit
(docs/performance.md). Nothing is imported that a cache hit does not use. A HEAD
(link checkers, unfurlers) answers exactly what a GET would, without the body, and
is no click.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from relay.platform.errors import NotFound, RelayError, Unexpected
from relay.platform.responses import error_payload
from relay.shortener.rules import CACHE_CONTROL
from relay.shortener.service import redirects

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """OPENAPI_PATHS, the path's entry in docs/openapi.json (relay_local.openapi merges
    it), is made on request: it lives with the shortener's schemas, which load pydantic."""
    if name == "OPENAPI_PATHS":
        from relay.shortener.schemas import REDIRECT_PATHS

        return REDIRECT_PATHS
    raise AttributeError(name)


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
