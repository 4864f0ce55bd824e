"""Distributed rate limits (seed exercise 1): the rules, and one atomic check in Redis.

Every rule lives in RULES below, with its default limit; `rule(name)` applies the
limit the deployment sets (template parameters, through RATE_LIMITS), so a load test
can raise a limit without a code change. A check runs one
Lua script (GCRA, see ratelimit.lua) over every rule that applies to a request, so
all function instances share the same counters, rules are checked all-or-nothing,
and a denied request consumes nothing. The script can also GET one more key in the
same round trip: the redirect uses that for its cache lookup.

When Redis is down the limiter fails open: the request is served, the failure is
logged, and API Gateway's route throttling (template.yaml) stays the backstop.
Refusing every shortening and redirect because a cache node is failing over would
turn a cache outage into a full outage (docs/decisions.md).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis

from relay.platform.cache import RedisGate, redis_client, redis_gate
from relay.platform.clock import Clock, SystemClock
from relay.platform.config import settings
from relay.platform.errors import RateLimited


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    period_s: int

    @property
    def interval_ms(self) -> float:
        return self.period_s * 1000 / self.limit


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        # Anonymous shortening is the abuse vector: per source IP, tight.
        Rule("shorten-anonymous", limit=10, period_s=60),
        Rule("shorten-user", limit=100, period_s=60),
        # Redirects are cheap and bursty (a link posted to a busy channel); this stops a
        # single client from hammering, not a crowd.
        Rule("redirect-ip", limit=600, period_s=60),
        # Reading one's own links and analytics.
        Rule("read-user", limit=300, period_s=60),
        Rule("read-anonymous", limit=60, period_s=60),
        # The feed: reading (feed pages, posts, profiles, comments) and writing (posts,
        # follows, likes, comments, shares), per signed-in user.
        Rule("feed-read-user", limit=600, period_s=60),
        Rule("feed-write-user", limit=120, period_s=60),
        # ---- Chat: frames on a WebSocket (messages, typing, reads, syncs), per connection
        # and per user, so one flooding tab is stopped without silencing the user's others
        # and a user with many tabs cannot multiply the allowance.
        Rule("chat-connection", limit=120, period_s=60),
        Rule("chat-user", limit=300, period_s=60),
        # ---- Search: suggestions come a keystroke at a time; searches and trends less.
        Rule("suggest-user", limit=1200, period_s=60),
        Rule("search-user", limit=300, period_s=60),
    )
}


@dataclass(frozen=True)
class Guard:
    """The rules that guard one route: `anonymous` per source IP for a caller without a
    token, `user` per user id for a caller with one, `connection` per WebSocket
    connection. A route reached without a token (the redirect) is always anonymous."""

    anonymous: str | None = None
    user: str | None = None
    connection: str | None = None
    # Checked by the route itself, in the same round trip as its own work (the suggest
    # route: RateLimiter.queue), rather than by relay.platform.http's middleware.
    inline: bool = False

    def checks(
        self, *, user_id: str | None, source_ip: str = "", connection_id: str = ""
    ) -> list[tuple[Rule, str]]:
        """The (rule, identity) pairs this caller is checked against."""
        wanted: list[tuple[str | None, str]] = [
            (self.anonymous if user_id is None else self.user, user_id or source_ip),
            (self.connection, connection_id),
        ]
        return [(rule(name), identity) for name, identity in wanted if name and identity]


_READ = Guard(anonymous="read-anonymous", user="read-user")
_FEED_READ = Guard(anonymous="read-anonymous", user="feed-read-user")
_FEED_WRITE = Guard(anonymous="read-anonymous", user="feed-write-user")
_CHAT_FRAME = Guard(user="chat-user", connection="chat-connection")
_SEARCH = Guard(anonymous="read-anonymous", user="search-user")

# Which rules guard which route: HTTP routes by API Gateway's route key, WebSocket
# frames by their action. A route missing here is not rate limited (a test checks
# that every route of template.yaml is either here or in UNGUARDED).
GUARDS: dict[str, Guard] = {
    # The shortener
    "GET /{code}": Guard(anonymous="redirect-ip"),
    "HEAD /{code}": Guard(anonymous="redirect-ip"),
    "POST /api/shorten": Guard(anonymous="shorten-anonymous", user="shorten-user"),
    "GET /api/links": _READ,
    "DELETE /api/links/{code}": Guard(anonymous="read-anonymous", user="shorten-user"),
    "GET /api/analytics/{code}": _READ,
    # Chat over HTTP
    "POST /api/conversations": _READ,
    "GET /api/conversations": _READ,
    "GET /api/conversations/{conversation_id}/messages": _READ,
    "GET /api/conversations/{conversation_id}": _READ,
    "PATCH /api/conversations/{conversation_id}": _READ,
    "POST /api/conversations/{conversation_id}/members": _READ,
    "DELETE /api/conversations/{conversation_id}/members/{handle}": _READ,
    "PATCH /api/conversations/{conversation_id}/members/{handle}": _READ,
    "POST /api/conversations/{conversation_id}/attachments": _READ,
    # Chat frames (`ping` is not limited: a limited client can still keep its presence)
    "sendMessage": _CHAT_FRAME,
    "typing": _CHAT_FRAME,
    "read": _CHAT_FRAME,
    "sync": _CHAT_FRAME,
    "$default": _CHAT_FRAME,
    # Notifications
    "GET /api/notifications": _READ,
    "POST /api/notifications/read": _READ,
    "GET /api/me/notification-preferences": _READ,
    "PUT /api/me/notification-preferences": _READ,
    # The feed
    "POST /api/posts": _FEED_WRITE,
    "GET /api/posts/{postId}": _FEED_READ,
    "DELETE /api/posts/{postId}": _FEED_WRITE,
    "POST /api/posts/{postId}/share": _FEED_WRITE,
    "POST /api/posts/{postId}/like": _FEED_WRITE,
    "DELETE /api/posts/{postId}/like": _FEED_WRITE,
    "POST /api/posts/{postId}/comments": _FEED_WRITE,
    "GET /api/posts/{postId}/comments": _FEED_READ,
    "GET /api/users/{handle}": _FEED_READ,
    "GET /api/users/{handle}/posts": _FEED_READ,
    "POST /api/users/{handle}/follow": _FEED_WRITE,
    "DELETE /api/users/{handle}/follow": _FEED_WRITE,
    "GET /api/feed": _FEED_READ,
    "PATCH /api/posts/{postId}": _FEED_WRITE,
    "DELETE /api/posts/{postId}/comments/{commentId}": _FEED_WRITE,
    "DELETE /api/posts/{postId}/share": _FEED_WRITE,
    "GET /api/posts/{postId}/likes": _FEED_READ,
    "GET /api/users/{handle}/followers": _FEED_READ,
    "GET /api/users/{handle}/following": _FEED_READ,
    "POST /api/users/{handle}/block": _FEED_WRITE,
    "DELETE /api/users/{handle}/block": _FEED_WRITE,
    "POST /api/users/{handle}/mute": _FEED_WRITE,
    "DELETE /api/users/{handle}/mute": _FEED_WRITE,
    # Accounts: the caller's own profile, per user (Cognito limits its own calls too);
    # where-things-are, per address.
    "GET /api/me": _READ,
    "PATCH /api/me": _READ,
    "DELETE /api/me": _READ,
    "POST /api/me/avatar": _READ,
    "POST /api/me/sign-out": _READ,
    "GET /api/config": _READ,
    # Search
    "GET /api/suggest": Guard(user="suggest-user", inline=True),
    "GET /api/search": _SEARCH,
    "GET /api/trending": _SEARCH,
}
# Routes that are deliberately not limited: what they serve is static or cheap, or the
# connection they belong to is limited instead.
UNGUARDED = frozenset({"GET /api/openapi.json", "ping", "$connect", "$disconnect"})


def _shape(route_key: str) -> str:
    """A route key with its path parameters unnamed: `GET /api/posts/{}`."""
    return re.sub(r"\{[^}]*\}", "{}", route_key)


_BY_SHAPE = {_shape(key): value for key, value in GUARDS.items()}


def guard(route_key: str) -> Guard | None:
    """The guard of a route (API Gateway's route key, or a WebSocket action; path
    parameters may be named differently); None: not limited."""
    return _BY_SHAPE.get(_shape(route_key))


def rule(name: str) -> Rule:
    """A rule as this deployment configures it."""
    default = RULES[name]
    limit = settings().rate_limits.get(name)
    if limit is None or limit == default.limit:
        return default
    return Rule(default.name, limit=limit, period_s=default.period_s)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int
    value: bytes | None = None

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }

    def raise_if_denied(self) -> None:
        if not self.allowed:
            headers = self.headers() | {"Retry-After": str(self.retry_after_s)}
            raise RateLimited(
                f"Too many requests; retry in {self.retry_after_s} s.", headers=headers
            )


_SCRIPT = resources.files("relay.platform").joinpath("ratelimit.lua").read_text()
_SHA = hashlib.sha1(_SCRIPT.encode(), usedforsecurity=False).hexdigest()


class RateLimiter:
    def __init__(self, client: redis.Redis, clock: Clock | None = None, prefix: str = "rl") -> None:
        self._client = client
        self._clock = clock or SystemClock()
        self._prefix = prefix

    def check(self, checks: list[tuple[Rule, str]], also_get: str | None = None) -> Decision:
        """Apply each (rule, identity) at once; raises redis errors for the caller to decide."""
        keys, args = self.command(checks, also_get)
        try:
            reply = self._client.evalsha(_SHA, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            # First call against a fresh server: EVAL loads the script for everyone after.
            reply = self._client.eval(_SCRIPT, len(keys), *keys, *args)
        return self.decision(checks, reply)

    def command(
        self, checks: list[tuple[Rule, str]], also_get: str | None = None
    ) -> tuple[list[str], list[Any]]:
        """The script's keys and arguments, for a caller that sends the check in a pipeline
        of its own (one round trip with its work: the suggest route): `queue` then
        `decision` on the reply."""
        keys = [f"{self._prefix}:{rule.name}:{identity}" for rule, identity in checks]
        if also_get is not None:
            keys.append(also_get)
        args: list[Any] = [self._clock.now_ms(), len(checks)]
        for rule, _ in checks:
            args += [rule.interval_ms, rule.period_s * 1000]
        return keys, args

    def queue(self, pipe: Any, checks: list[tuple[Rule, str]]) -> None:
        """Add the check to `pipe` (its server must have the script: `load`)."""
        keys, args = self.command(checks)
        pipe.evalsha(_SHA, len(keys), *keys, *args)

    @staticmethod
    def load(client: Any) -> None:
        client.script_load(_SCRIPT)

    @staticmethod
    def decision(checks: list[tuple[Rule, str]], reply: Any) -> Decision:
        allowed, tightest, remaining, reset_ms, retry_ms, value = reply
        limit = checks[int(tightest) - 1][0].limit if checks else 0
        return Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=max(0, int(remaining)),
            reset_s=math.ceil(int(reset_ms) / 1000),
            retry_after_s=max(1, math.ceil(int(retry_ms) / 1000)),
            value=value or None,
        )


@functools.cache
def rate_limiter() -> RateLimiter:
    return RateLimiter(redis_client())


def enforce(
    checks: list[tuple[Rule, str]],
    limiter: RateLimiter | None = None,
    gate: RedisGate | None = None,
) -> Decision | None:
    """The one rate-limit path of HTTP routes and WebSocket frames: apply `checks` at once,
    raise RateLimited (counted as a metric) when any is exhausted, and fail open (None)
    when Redis is unavailable, through the process's gate (or the `gate` given with the
    `limiter`, as tests give theirs)."""
    if not checks:
        return None
    decision = (gate or redis_gate()).attempt(lambda: (limiter or rate_limiter()).check(checks))
    if decision is not None and not decision.allowed:
        from relay.platform.observability import count

        count("RateLimited")
        decision.raise_if_denied()
    return decision
