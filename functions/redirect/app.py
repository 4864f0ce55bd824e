"""Redirect: GET /{code}, the hot path (one Redis round trip on a cache hit, no boto3).

Deliberately lean: no request validation, no Logger decorator, nothing imported
that a cache hit does not use (see docs/performance.md for what each costs).
"""

from __future__ import annotations

import functools

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.cache import redis_client, redis_gate
from relay.platform.http import make_resolver
from relay.shortener.clicks import ClickLog
from relay.shortener.redirects import Redirects

app = make_resolver(validation=False)

# Browsers keep a 301 forever unless told otherwise; a minute keeps clicks, expiry
# and deletion visible while still sparing repeat visits (docs/decisions.md).
CACHE_CONTROL = {301: "private, max-age=60", 302: "private, no-cache"}


@functools.cache
def redirects() -> Redirects:
    return Redirects(redis_client(), redis_gate(), ClickLog())


@app.get(
    "/<code>",
    summary="Follow a short link",
    # Plain descriptions: the redirect imports no pydantic model, even for its docs.
    responses={
        301: {"description": "To the long URL (Cache-Control: private, max-age=60)"},
        302: {"description": "To the long URL, for links made with redirectType 302"},
        404: {"description": "Unknown code"},
        410: {"description": "Expired link"},
        429: {"description": "Rate limited"},
    },
)
def redirect(code: str) -> Response[str]:
    event = app.current_event.raw_event
    target = redirects().resolve(
        code, event["requestContext"]["http"]["sourceIp"], event.get("headers") or {}
    )
    headers = {"Location": target.long_url, "Cache-Control": CACHE_CONTROL[target.status]}
    return Response(target.status, None, "", headers=headers | target.rate_headers)


def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return app.resolve(event, context)
