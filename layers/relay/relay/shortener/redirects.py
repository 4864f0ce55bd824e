"""The redirect hot path: rate limit and cache lookup in one Redis round trip.

A cache hit costs exactly one network round trip: the rate-limit script GETs the
cache entry in the same call. A miss reads DynamoDB (consistently) and fills the
cache; an unknown code is cached too (negative caching), so a scan of random codes
cannot hammer the table. When Redis is down, redirects are served from DynamoDB.

A cached link carries the time it was read from DynamoDB, and is served for at most
CACHE_TTL_S after that (relay.shortener.rules): the entry's TTL is the same, and an
entry the clock finds older is read again. A delete takes the link out of the cache
at once; when it cannot (Redis unreachable at that moment), the link still stops
redirecting within CACHE_TTL_S, whatever the cache holds.

This module must stay cheap to import: the links table (and with it botocore) is
handed in as a `LinkReader` that the service makes on the first cache miss, so a
warm cache means no boto3 on the cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from relay.platform.cache import RedisGate
from relay.platform.clock import Clock, SystemClock
from relay.platform.errors import Gone, NotFound
from relay.platform.ratelimit import RateLimiter, Rule, guard, rule
from relay.shortener import codes
from relay.shortener.click_log import ClickLog
from relay.shortener.rules import CACHE_TTL_S, NEGATIVE_TTL_S

if TYPE_CHECKING:
    import redis

    from relay.shortener.models import Link

MAX_AGE_MS = CACHE_TTL_S * 1000
_MISSING = b"-"


def cache_key(code: str) -> str:
    return f"link:{code}"


@dataclass(frozen=True)
class Target:
    long_url: str
    status: int
    rate_headers: dict[str, str]


def encode(link: Link, read_ms: int | None = None) -> bytes:
    """`status|expires|generation|read|url`: all a redirect needs, in the cheapest form to
    parse. The generation (the link's creation time) keeps a reused code's clicks apart;
    `read` is when the link was read from DynamoDB (now, by default)."""
    expires = "" if link.expires_ms is None else str(link.expires_ms)
    read = SystemClock().now_ms() if read_ms is None else read_ms
    return f"{link.redirect_type}|{expires}|{link.created_ms}|{read}|{link.long_url}".encode()


def _fresh(value: bytes, now_ms: int) -> tuple[int, int | None, int, str] | None:
    """The cached link if it is fresh enough to serve; None when it is older than
    MAX_AGE_MS or not in this format (left by an older version): read it again."""
    try:
        status, expires, generation, read, url = value.decode().split("|", 4)
        if now_ms - int(read) >= MAX_AGE_MS:
            return None
        return int(status), (int(expires) if expires else None), int(generation), url
    except ValueError:
        return None


def _country(value: str) -> str:
    """Two ASCII letters, upper case, or nothing."""
    return value.upper() if len(value) == 2 and value.isascii() and value.isalpha() else ""


class LinkReader(Protocol):
    """Where a cache miss reads a link (relay.shortener.links_table.LinksTable)."""

    def get(self, code: str) -> Link | None: ...


def _rule() -> Rule:
    """The per-IP rule relay.platform.ratelimit.GUARDS sets on the redirect's routes (GET and
    HEAD alike), applied here in the same Redis call as the cache lookup."""
    limits = guard("GET /{code}")
    if limits is None or limits.anonymous is None:
        raise LookupError("GUARDS names no per-IP rule for GET /{code}")
    return rule(limits.anonymous)


class LinkCache:
    """The links the redirect finds in Redis, written through by whoever changes a link.

    Every write goes through the gate: a cache that is down costs a request nothing."""

    def __init__(self, client: redis.Redis, gate: RedisGate, clock: Clock | None = None) -> None:
        self._client = client
        self._gate = gate
        self._clock = clock or SystemClock()

    def remember(self, link: Link) -> None:
        """After a create: replaces a negative entry left by someone who tried the code first."""
        self._write(cache_key(link.code), encode(link, self._clock.now_ms()), CACHE_TTL_S)

    def forget(self, code: str) -> None:
        """After a delete: the next redirect must not find the old target in the cache."""
        self._write(cache_key(code), _MISSING, NEGATIVE_TTL_S)

    def fill(self, code: str, link: Link | None, read_ms: int, *, replace: bool) -> None:
        """After a miss, what DynamoDB said at `read_ms`. Only where nothing is cached (a
        delete or a create that wrote the entry meanwhile knows better) unless `replace`:
        the entry there was stale or unreadable."""
        if link is None:
            self._write(cache_key(code), _MISSING, NEGATIVE_TTL_S, only_new=not replace)
            return
        ttl = CACHE_TTL_S
        if link.expires_ms is not None:
            # Past expiry the entry still answers 410 until it ages out.
            ttl = max(1, min(ttl, (link.expires_ms - read_ms) // 1000 + NEGATIVE_TTL_S))
        self._write(cache_key(code), encode(link, read_ms), ttl, only_new=not replace)

    def _write(self, key: str, value: bytes, ttl_s: int, only_new: bool = False) -> None:
        self._gate.attempt(lambda: self._client.set(key, value, ex=ttl_s, nx=only_new))


class Redirects:
    def __init__(
        self,
        client: redis.Redis,
        gate: RedisGate,
        clicks: ClickLog,
        clock: Clock,
        store: LinkReader,
        *,
        trust_country: bool = False,
    ) -> None:
        self._gate = gate
        self._clicks = clicks
        self._clock = clock
        self._cache = LinkCache(client, gate, self._clock)
        self._limiter = RateLimiter(client, self._clock)
        self._rule = _rule()
        self._store = store
        # CloudFront-Viewer-Country is a header like any other unless CloudFront sets it.
        self._trust_country = trust_country

    def resolve(
        self, code: str, source_ip: str, headers: dict[str, str], *, record: bool = True
    ) -> Target:
        """Where `code` leads. `record=False` (a HEAD) answers the same and counts no click."""
        if not codes.is_plausible(code):
            raise NotFound("No such link.")
        now = self._clock.now_ms()
        decision = self._gate.attempt(
            lambda: self._limiter.check([(self._rule, source_ip)], also_get=cache_key(code))
        )
        cached: bytes | None = None
        rate_headers: dict[str, str] = {}
        answer = "down"
        if decision is not None:
            decision.raise_if_denied()
            cached, rate_headers = decision.value, decision.headers()
            answer = "hit"

        if cached == _MISSING:
            raise NotFound(f"No link '{code}'.", headers=rate_headers)
        entry = _fresh(cached, now) if cached is not None else None
        if entry is not None:
            status, expires_ms, generation, long_url = entry
        else:
            link = self._store.get(code)
            if decision is not None:
                answer = "miss"
                self._cache.fill(code, link, now, replace=cached is not None)
            if link is None:
                raise NotFound(f"No link '{code}'.", headers=rate_headers)
            status, expires_ms, long_url = link.redirect_type, link.expires_ms, link.long_url
            generation = link.created_ms
        if expires_ms is not None and now >= expires_ms:
            raise Gone(f"The link '{code}' has expired.", headers=rate_headers)
        if record:
            country = (
                _country(headers.get("cloudfront-viewer-country", ""))
                if self._trust_country
                else ""
            )
            self._clicks.record(code, generation, now, headers, country=country, cache=answer)
        return Target(long_url, status, rate_headers)
