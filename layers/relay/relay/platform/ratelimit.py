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

import hashlib
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis

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
    )
}


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
        keys = [f"{self._prefix}:{rule.name}:{identity}" for rule, identity in checks]
        if also_get is not None:
            keys.append(also_get)
        args: list[Any] = [self._clock.now_ms(), len(checks)]
        for rule, _ in checks:
            args += [rule.interval_ms, rule.period_s * 1000]
        try:
            reply = self._client.evalsha(_SHA, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            # First call against a fresh server: EVAL loads the script for everyone after.
            reply = self._client.eval(_SCRIPT, len(keys), *keys, *args)
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
