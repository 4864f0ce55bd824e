"""What every API's models share: camelCase JSON, the error body every HTTP error
has, and the headers of rate-limited answers, for the OpenAPI document."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_MEANINGS = {
    400: "Malformed or invalid input; the message names the field.",
    401: "No token where one is needed, or a bad one.",
    403: "Not yours.",
    404: "Unknown.",
    409: "Conflict (a taken code).",
    410: "Expired.",
    413: "The request body is too large.",
    429: "Rate limited; see Retry-After and the RateLimit-* headers.",
}


class Camel(BaseModel):
    """A body or resource in DESIGN's camelCase JSON; Python names stay snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CamelBody(Camel):
    """A request body: a field the API does not know is refused (400), not ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` entries for the errors a route can answer with."""
    return {
        status: {
            "description": _MEANINGS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
        for status in statuses
    }


_SECONDS = {"type": "string", "pattern": "^[0-9]+$"}
_RATE_LIMIT_HEADERS: dict[str, OpenAPIResponseHeader] = {
    "RateLimit-Limit": {
        "description": "Requests the caller's rule allows per period.",
        "schema": _SECONDS,
    },
    "RateLimit-Remaining": {"description": "Requests left now.", "schema": _SECONDS},
    "RateLimit-Reset": {
        "description": "Seconds until the quota is whole again.",
        "schema": _SECONDS,
    },
}
_RETRY_AFTER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": _SECONDS},
}


def rate_limit_headers(*, retry_after: bool = False) -> dict[str, OpenAPIResponseHeader]:
    """The headers of a rate-limited route's answers; absent while Redis is down (fail open)."""
    return {**_RATE_LIMIT_HEADERS, **(_RETRY_AFTER if retry_after else {})}
