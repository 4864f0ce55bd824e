"""The shortener's HTTP shapes (camelCase JSON), from which the OpenAPI document is made.

Pydantic models here are the API contract: Powertools validates request bodies
against them (a wrong shape is a 400 naming the field) and documents them in
docs/openapi.json. The redirect does not import this module: pydantic has no place
on its hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody
from relay.shortener.models import ShortenRequest

if TYPE_CHECKING:
    from relay.shortener.analytics import Summary
    from relay.shortener.models import Link


class ShortenBody(CamelBody):
    # The schema says what a valid request looks like; the domain (relay.shortener.links)
    # checks it, so that a wrong value is a 400 with its own code (url_too_long, ...).
    long_url: str = Field(
        description=(
            "The http or https URL to shorten, at most 2048 characters; no user name or "
            "password, and not a link to this shortener. International hosts are read as "
            "browsers read them (UTS #46)."
        ),
        json_schema_extra={
            "format": "uri",
            "maxLength": 2048,
            "examples": ["https://example.com/articles/serverless"],
        },
    )
    custom_code: str | None = Field(
        default=None,
        description="4 to 32 of [A-Za-z0-9_-]; needs a token.",
        json_schema_extra={"pattern": "^[A-Za-z0-9_-]{4,32}$"},
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
