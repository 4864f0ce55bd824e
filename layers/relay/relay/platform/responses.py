"""API Gateway (payload 2.0) error responses in DESIGN's body, without any framework.

`relay.platform.http` wraps these for Powertools' resolver; the redirect, which
serves one route and skips the resolver for speed, returns them as they are.
"""

from __future__ import annotations

import json
from typing import Any

from relay.platform.errors import RelayError

JSON = "application/json"


def error_payload(error: RelayError) -> dict[str, Any]:
    """The one translation of an error into an API Gateway response (DESIGN's body)."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": JSON, **error.headers},
        "body": json.dumps(error.body()),
    }
