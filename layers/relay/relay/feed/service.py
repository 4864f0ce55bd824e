"""The feed as a deployed function builds it: the template's tables, the shared Redis,
the deployment's rules. The only reader of settings in the feed; what the Feed and
FanOut functions call. Made once per process, on first use; each function imports
only the logic it calls (FanOut never loads the read path, Feed never the fan-out).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from relay.feed.comments_table import CommentsTable
from relay.feed.follows_table import FollowsTable
from relay.feed.likes_table import LikesTable
from relay.feed.posts_table import PostsTable
from relay.feed.profiles_table import ProfilesTable
from relay.feed.rules import Rules
from relay.feed.shares_table import SharesTable
from relay.feed.tables import Tables
from relay.feed.timeline_cache import TimelineCache
from relay.platform.cache import redis_client, redis_gate
from relay.platform.config import settings
from relay.platform.dynamo import dynamodb_client

if TYPE_CHECKING:
    from relay.feed.fanout import FanOut
    from relay.feed.feed import Feed
    from relay.feed.people import People


@functools.cache
def rules() -> Rules:
    conf = settings()
    return Rules.set_by(
        celebrity_threshold=conf.celebrity_threshold,
        timeline_length=conf.feed_timeline_length,
        inactive_days=conf.feed_inactive_days,
    )


def tables(client: Any = None) -> Tables:
    """The deployment's six tables, on `client` (the process's DynamoDB client unless
    given one: tests pass moto's)."""
    conf = settings()
    client = client or dynamodb_client()
    return Tables(
        client,
        posts=PostsTable(client, conf.posts_table),
        follows=FollowsTable(client, conf.follows_table),
        likes=LikesTable(client, conf.likes_table),
        comments=CommentsTable(client, conf.comments_table),
        profiles=ProfilesTable(client, conf.profiles_table),
        shares=SharesTable(client, conf.shares_table),
    )


@functools.cache
def timeline_cache() -> TimelineCache:
    conf = rules()
    return TimelineCache(redis_client(), keep=conf.timeline_length, ttl_s=conf.inactive_after_s)


@functools.cache
def fan_out() -> FanOut:
    from relay.feed.fanout import FanOut

    return FanOut(tables(), timeline_cache(), redis_gate(), rules())


@functools.cache
def feed() -> Feed:
    from relay.accounts.directory import users_table
    from relay.accounts.relations import is_blocked
    from relay.feed.feed import Feed

    return Feed(
        tables(),
        timeline_cache(),
        redis_gate(),
        rules(),
        subs_of=users_table().subs_of,
        blocked=is_blocked,
    )


@functools.cache
def people() -> People:
    from relay.accounts.avatars import avatar_url
    from relay.feed.people import People

    # Without an avatars bucket (a deployment before accounts' uploads) nobody has one.
    return People(feed(), avatar=avatar_url if settings().avatars_bucket else _no_avatar)


def _no_avatar(_: str) -> None:
    return None
