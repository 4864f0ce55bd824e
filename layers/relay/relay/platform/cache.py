"""The Redis client every function shares, and the gate that keeps a dead Redis cheap.

Redis (ElastiCache) is an accelerator, never the only copy of anything: when a call
fails, the gate stays shut for a few seconds so later requests go straight to
DynamoDB instead of each paying a connect timeout. The client is made on first use
and cached per process, never at import.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from relay.platform.clock import Clock, SystemClock
from relay.platform.config import settings

log = logging.getLogger(__name__)

COOLDOWN_MS = 5_000

# Not only a dead server: a replica that a failover left read-only, a server out of
# memory or mid-load answer with errors too, and a cache must not turn them into 500s.
RedisUnavailable = (redis.RedisError,)

T = TypeVar("T")


class RedisGate:
    """Open while Redis answers; shut for COOLDOWN_MS after a failure.

    `on_unavailable` is called for every operation done without Redis (the gate shut,
    or the call failing): the process's gate (`redis_gate`) counts them as a metric."""

    def __init__(
        self, clock: Clock | None = None, on_unavailable: Callable[[], None] | None = None
    ) -> None:
        self._clock = clock or SystemClock()
        self._shut_until = 0
        self._on_unavailable = on_unavailable

    def is_open(self) -> bool:
        return self._clock.now_ms() >= self._shut_until

    def failed(self, error: Exception) -> None:
        log.warning("redis unavailable, serving without it for %d ms: %s", COOLDOWN_MS, error)
        self._shut_until = self._clock.now_ms() + COOLDOWN_MS

    def attempt(self, operation: Callable[[], T]) -> T | None:
        """The operation's result; None when the gate is shut or Redis fails (which shuts it)."""
        if not self.is_open():
            self._unavailable()
            return None
        try:
            return operation()
        except RedisUnavailable as error:
            self.failed(error)
            self._unavailable()
            return None

    def _unavailable(self) -> None:
        if self._on_unavailable is not None:
            self._on_unavailable()


@functools.cache
def redis_client() -> redis.Redis:
    conf = settings()
    return redis.Redis.from_url(
        conf.redis_url,
        socket_timeout=conf.redis_timeout_s,
        socket_connect_timeout=conf.redis_timeout_s,
        # One immediate retry on a fresh connection hides a socket that went stale while
        # the function was frozen; more would make a dead Redis cost seconds, not ms.
        retry=Retry(NoBackoff(), 1),
    )


def _count_fail_open() -> None:
    # Imported here: the redirect loads no Powertools unless Redis actually fails.
    from relay.platform.observability import count

    count("RedisFailOpen")


@functools.cache
def redis_gate() -> RedisGate:
    """The process's one gate: every request served without Redis counts as RedisFailOpen."""
    return RedisGate(on_unavailable=_count_fail_open)
