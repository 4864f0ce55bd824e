"""The shortener as a deployed function builds it: the template's tables and queue, the
shared Redis, the deployment's settings. The only module of the shortener that reads
settings; each part is made once per process, on first use.

Five functions share this module and each needs a different part of it: the redirect
no boto3 (on a cache hit), the click shipper and consumer no Redis. So each part
imports what it is made of where it is made, and clients are made when first
called: a function loads only what its requests use. Tests build the parts
themselves, with moto's client, a real Redis and a frozen clock.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from relay.platform.clock import SystemClock
from relay.platform.config import settings

if TYPE_CHECKING:
    from relay.shortener.analytics import Analytics
    from relay.shortener.clicks import Click
    from relay.shortener.clicks_table import ClicksTable
    from relay.shortener.counting import ClickCounter
    from relay.shortener.links import Links
    from relay.shortener.links_table import LinksTable
    from relay.shortener.models import Link
    from relay.shortener.redirects import LinkCache, Redirects
    from relay.shortener.shipping import Shipper


@functools.cache
def links_table() -> LinksTable:
    from relay.platform.clients import OnFirstUse
    from relay.platform.dynamo import dynamodb_client
    from relay.shortener.links_table import LinksTable

    return LinksTable(OnFirstUse(dynamodb_client), settings().links_table)


@functools.cache
def clicks_table() -> ClicksTable:
    from relay.platform.clients import OnFirstUse
    from relay.platform.dynamo import dynamodb_client
    from relay.shortener.clicks_table import ClicksTable

    return ClicksTable(OnFirstUse(dynamodb_client), settings().clicks_table)


class _LinksTableOnMiss:
    """The links table as the redirect reads it: its module (and botocore) loaded on the
    first cache miss, so a cache hit imports no boto3."""

    def get(self, code: str) -> Link | None:
        return links_table().get(code)


def _link_cache() -> LinkCache:
    from relay.platform import cache
    from relay.shortener.redirects import LinkCache

    return LinkCache(cache.redis_client(), cache.redis_gate())


@functools.cache
def redirects() -> Redirects:
    from relay.platform import cache
    from relay.shortener.click_log import ClickLog
    from relay.shortener.redirects import Redirects

    return Redirects(
        cache.redis_client(),
        cache.redis_gate(),
        ClickLog(),
        SystemClock(),
        _LinksTableOnMiss(),
        trust_country=settings().behind_cloudfront,
    )


@functools.cache
def links() -> Links:
    from relay.shortener.links import Links

    return Links(links_table(), SystemClock(), _link_cache())


@functools.cache
def analytics() -> Analytics:
    from relay.shortener.analytics import Analytics

    return Analytics(links(), clicks_table(), SystemClock())


@functools.cache
def shipper() -> Shipper:
    import boto3

    from relay.shortener.shipping import Shipper

    conf = settings()
    return Shipper(boto3.client("sqs", region_name=conf.aws_region), conf.click_queue_url)


def _set_aside(click: Click, reason: str) -> None:
    from relay.platform.observability import logger

    logger.warning("click set aside", extra={"click": click.id, "code": click.code, "why": reason})


@functools.cache
def click_counter() -> ClickCounter:
    import time

    from relay.shortener.counting import ClickCounter

    return ClickCounter(clicks_table(), SystemClock().now_ms, time.sleep, _set_aside)


def public_base_url(api_host: str, scheme: str) -> str:
    """Where this deployment's short links live (ShortBaseUrl, else the API's own host)."""
    from relay.shortener import hosts

    return hosts.public_base_url(settings().short_base_url, api_host, scheme)


def own_hosts(api_host: str) -> frozenset[str]:
    """The hosts that serve this deployment's links: a link to them is refused."""
    from relay.shortener import hosts

    return hosts.own_hosts(settings().short_base_url, api_host)
