"""The feed as a deployed function builds it: the template's tables, the shared Redis,
the deployment's rules. The only reader of the feed's settings. Made once per process,
on first use."""

from __future__ import annotations

import functools

from relay.feed.fanout import FanOut
from relay.feed.feed import Feed
from relay.feed.rules import Rules
from relay.feed.store import FeedStore
from relay.feed.timeline_cache import TimelineCache
from relay.platform.cache import redis_client, redis_gate
from relay.platform.config import settings


@functools.cache
def rules() -> Rules:
    conf = settings()
    return Rules.set_by(
        celebrity_threshold=conf.celebrity_threshold,
        timeline_length=conf.feed_timeline_length,
        inactive_days=conf.feed_inactive_days,
    )


@functools.cache
def timeline_cache() -> TimelineCache:
    conf = rules()
    return TimelineCache(redis_client(), keep=conf.timeline_length, ttl_s=conf.inactive_after_s)


@functools.cache
def fan_out() -> FanOut:
    return FanOut(FeedStore(), timeline_cache(), redis_gate(), rules())


@functools.cache
def feed() -> Feed:
    return Feed(FeedStore(), timeline_cache(), redis_gate(), rules())
