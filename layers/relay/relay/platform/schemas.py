"""The error body every HTTP error has, as a model, for the OpenAPI document."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

_MEANINGS = {
    400: "Malformed or invalid input; the message names the field.",
    401: "No token where one is needed, or a bad one.",
    403: "Not yours.",
    404: "Unknown.",
    409: "Conflict (a taken code).",
    410: "Expired.",
    429: "Rate limited; see Retry-After and the RateLimit-* headers.",
}


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
