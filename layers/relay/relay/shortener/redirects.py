"""The redirect hot path: rate limit and cache lookup in one Redis round trip.

A cache hit costs exactly one network round trip: the rate-limit script GETs the
cache entry in the same call. A miss reads DynamoDB (consistently) and fills the
cache; an unknown code is cached too (negative caching), so a scan of random codes
cannot hammer the table. When Redis is down, redirects are served from DynamoDB.

This module must stay cheap to import: the link store (and with it botocore) is
loaded only on a cache miss, so a warm cache means no boto3 on the cold start.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relay.platform.cache import RedisGate
from relay.platform.clock import Clock, SystemClock
from relay.platform.errors import Gone, NotFound
from relay.platform.ratelimit import RateLimiter, rule
from relay.shortener import codes
from relay.shortener.clicks import ClickLog

if TYPE_CHECKING:
    import redis

    from relay.shortener.store import Link, LinkStore

# An hour bounds how long a cache that missed an invalidation (Redis down during a
# delete) can keep a dead link alive; refilling hot codes hourly costs nothing.
CACHE_TTL_S = 3_600
NEGATIVE_TTL_S = 60
_MISSING = b"-"


def cache_key(code: str) -> str:
    return f"link:{code}"


@dataclass(frozen=True)
class Target:
    long_url: str
    status: int
    rate_headers: dict[str, str]


def encode(link: Link) -> bytes:
    """`status|expires|generation|url`: all a redirect needs, in the cheapest form to parse.
    The generation (the link's creation time) keeps a reused code's clicks apart."""
    expires = "" if link.expires_ms is None else str(link.expires_ms)
    return f"{link.redirect_type}|{expires}|{link.created_ms}|{link.long_url}".encode()


def _decode(value: bytes) -> tuple[int, int | None, int, str]:
    status, expires, generation, url = value.decode().split("|", 3)
    return int(status), (int(expires) if expires else None), int(generation), url


@functools.cache
def _default_store() -> LinkStore:
    from relay.shortener.store import LinkStore

    return LinkStore()


class Redirects:
    def __init__(
        self,
        client: redis.Redis,
        gate: RedisGate,
        clicks: ClickLog,
        clock: Clock | None = None,
        store: LinkStore | None = None,
    ) -> None:
        self._client = client
        self._gate = gate
        self._clicks = clicks
        self._clock = clock or SystemClock()
        self._limiter = RateLimiter(client, self._clock)
        self._rule = rule("redirect-ip")
        self._store = store

    def resolve(self, code: str, source_ip: str, headers: dict[str, str]) -> Target:
        if not codes.PLAUSIBLE.fullmatch(code):
            raise NotFound(f"No link '{code}'.")
        now = self._clock.now_ms()
        decision = self._gate.attempt(
            lambda: self._limiter.check([(self._rule, source_ip)], also_get=cache_key(code))
        )
        cached: bytes | None = None
        rate_headers: dict[str, str] = {}
        if decision is not None:
            decision.raise_if_denied()
            cached, rate_headers = decision.value, decision.headers()

        if cached == _MISSING:
            raise NotFound(f"No link '{code}'.", headers=rate_headers)
        if cached is not None:
            status, expires_ms, generation, long_url = _decode(cached)
        else:
            link = (self._store or _default_store()).get(code)
            if decision is not None:
                self._fill(code, link, now)
            if link is None:
                raise NotFound(f"No link '{code}'.", headers=rate_headers)
            status, expires_ms, long_url = link.redirect_type, link.expires_ms, link.long_url
            generation = link.created_ms
        if expires_ms is not None and now >= expires_ms:
            raise Gone(f"The link '{code}' has expired.", headers=rate_headers)
        self._clicks.record(code, generation, now, headers)
        return Target(long_url, status, rate_headers)

    def _fill(self, code: str, link: Link | None, now: int) -> None:
        # Only where nothing is cached: a delete (or a create) that wrote the entry while
        # this request read DynamoDB knows better than what this request read.
        if link is None:
            _write(
                self._client, self._gate, cache_key(code), _MISSING, NEGATIVE_TTL_S, only_new=True
            )
            return
        ttl = CACHE_TTL_S
        if link.expires_ms is not None:
            # Past expiry the entry still answers 410 until it ages out.
            ttl = max(1, min(ttl, (link.expires_ms - now) // 1000 + NEGATIVE_TTL_S))
        _write(self._client, self._gate, cache_key(code), encode(link), ttl, only_new=True)


def remember(client: redis.Redis, gate: RedisGate, link: Link) -> None:
    """After a create: replaces a negative entry left by someone who tried the code first."""
    _write(client, gate, cache_key(link.code), encode(link), CACHE_TTL_S)


def forget(client: redis.Redis, gate: RedisGate, code: str) -> None:
    """After a delete: the next redirect must not find the old target in the cache."""
    _write(client, gate, cache_key(code), _MISSING, NEGATIVE_TTL_S)


def _write(
    client: redis.Redis, gate: RedisGate, key: str, value: bytes, ttl_s: int, only_new: bool = False
) -> None:
    gate.attempt(lambda: client.set(key, value, ex=ttl_s, nx=only_new))
