"""The shortener's HTTP shapes (camelCase JSON), from which the OpenAPI document is made.

Pydantic models here are the API contract: Powertools validates request bodies
against them (a wrong shape is a 400 naming the field) and documents them in
docs/openapi.json. The redirect does not import this module: pydantic has no place
on its hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from relay.platform.clock import iso

if TYPE_CHECKING:
    from relay.shortener.analytics import Summary
    from relay.shortener.store import Link


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ShortenBody(_Camel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    long_url: str = Field(description="The http or https URL to shorten, at most 2048 characters.")
    custom_code: str | None = Field(
        default=None, description="4 to 32 of [A-Za-z0-9_-]; needs a token."
    )
    expires_at: str | None = Field(
        default=None, description="ISO-8601; after it the link answers 410."
    )
    redirect_type: Literal[301, 302] = Field(default=301, description="301 (default) or 302.")


class LinkOut(_Camel):
    code: str
    short_url: str
    long_url: str
    created_at: str
    expires_at: str | None
    redirect_type: int
    owner: str | None

    @classmethod
    def of(cls, link: Link, base_url: str) -> LinkOut:
        return cls(
            code=link.code,
            short_url=f"{base_url}/{link.code}",
            long_url=link.long_url,
            created_at=iso(link.created_ms),
            expires_at=iso(link.expires_ms) if link.expires_ms is not None else None,
            redirect_type=link.redirect_type,
            owner=link.owner,
        )


class LinkPage(_Camel):
    items: list[LinkOut]
    next_cursor: str | None


class AnalyticsOut(_Camel):
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
