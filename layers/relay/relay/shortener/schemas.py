"""The shortener's HTTP shapes (camelCase JSON), from which the OpenAPI document is made.

Pydantic models here are the API contract: Powertools validates request bodies
against them (a wrong shape is a 400 naming the field) and documents them in
docs/openapi.json. The redirect skips the resolver, so its entry is written out
here (REDIRECT_PATHS); the redirect itself does not import this module: pydantic
has no place on its hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody, rate_limit_headers
from relay.shortener.models import ShortenRequest
from relay.shortener.rules import (
    CACHE_CONTROL,
    CODE_PATTERN,
    CUSTOM_CODE_CHARS,
    CUSTOM_CODE_MAX,
    CUSTOM_CODE_MIN,
    MAX_URL_LENGTH,
)

if TYPE_CHECKING:
    from relay.shortener.analytics import Summary
    from relay.shortener.models import Link


class ShortenBody(CamelBody):
    # The schema says what a valid request looks like; the domain (relay.shortener.links)
    # checks it, so that a wrong value is a 400 with its own code (url_too_long, ...).
    long_url: str = Field(
        description=(
            f"The http or https URL to shorten, at most {MAX_URL_LENGTH} characters; no user "
            "name or password, and not a link to this shortener. International hosts are "
            "read as browsers read them (UTS #46)."
        ),
        json_schema_extra={
            "format": "uri",
            "maxLength": MAX_URL_LENGTH,
            "examples": ["https://example.com/articles/serverless"],
        },
    )
    custom_code: str | None = Field(
        default=None,
        description=(
            f"{CUSTOM_CODE_MIN} to {CUSTOM_CODE_MAX} of [{CUSTOM_CODE_CHARS}]; needs a token."
        ),
        json_schema_extra={"pattern": f"^{CODE_PATTERN}$"},
    )
    expires_at: str | None = Field(
        default=None,
        description="ISO-8601, in the future; after it the link answers 410.",
        json_schema_extra={"format": "date-time"},
    )
    redirect_type: Literal[301, 302] = Field(default=301, description="301 (default) or 302.")

    def request(self) -> ShortenRequest:
        return ShortenRequest(self.long_url, self.custom_code, self.expires_at, self.redirect_type)


class LinkOut(Camel):
    code: str
    short_url: str
    long_url: str
    created_at: str
    expires_at: str | None
    redirect_type: Literal[301, 302]
    owner: str | None

    @classmethod
    def of(cls, link: Link, base_url: str) -> LinkOut:
        return cls(
            code=link.code,
            short_url=f"{base_url}/{link.code}",
            long_url=link.long_url,
            created_at=iso(link.created_ms),
            expires_at=iso(link.expires_ms) if link.expires_ms is not None else None,
            redirect_type=302 if link.redirect_type == 302 else 301,
            owner=link.owner,
        )


class LinkPage(Camel):
    items: list[LinkOut]
    next_cursor: str | None


class AnalyticsOut(Camel):
    code: str
    long_url: str
    clicks: int
    referrers: dict[str, int]
    countries: dict[str, int]
    daily: dict[str, int]
    devices: dict[str, int]

    @classmethod
    def of(cls, link: Link, summary: Summary) -> AnalyticsOut:
        return cls(
            code=link.code,
            long_url=link.long_url,
            clicks=summary.clicks,
            referrers=summary.referrers,
            countries=summary.countries,
            daily=summary.daily,
            devices=summary.devices,
        )


def _redirect_operation(method: str) -> dict[str, Any]:
    """The OpenAPI operation of GET or HEAD /{code}: a HEAD answers what a GET would,
    without a body and without counting a click."""
    limits = rate_limit_headers()
    moved = {
        "Location": {"required": True, "schema": {"type": "string"}},
        "Cache-Control": {"required": True, "schema": {"type": "string"}},
        **limits,
    }
    error = (
        {}
        if method == "head"
        else {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        }
    )
    return {
        "summary": "Follow a short link" if method == "get" else "Check a short link (no click)",
        "operationId": "redirect" if method == "get" else "redirect_head",
        "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "301": {
                "description": f"To the long URL (Cache-Control: {CACHE_CONTROL[301]})",
                "headers": moved,
            },
            "302": {
                "description": (
                    f"To the long URL, for links made with redirectType 302 "
                    f"(Cache-Control: {CACHE_CONTROL[302]})"
                ),
                "headers": moved,
            },
            "404": {"description": "Unknown code", "headers": limits, **error},
            "410": {"description": "Expired link", "headers": limits, **error},
            "429": {
                "description": "Rate limited; see Retry-After and RateLimit-*",
                "headers": rate_limit_headers(retry_after=True),
                **error,
            },
        },
    }


# The redirect's path in docs/openapi.json (functions/redirect serves it without the
# resolver; relay_local.openapi merges it).
REDIRECT_PATHS = {
    "/{code}": {"get": _redirect_operation("get"), "head": _redirect_operation("head")}
}
