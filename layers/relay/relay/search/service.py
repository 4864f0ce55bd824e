"""Search as a deployed function builds it: the shared Redis, the users table, the feed's
posts and follows (read-only). The only reader of settings in search; what the SearchApi,
SearchIndexer and SearchRebuild functions call. Made once per process, on first use.
"""

from __future__ import annotations

import functools

from relay.accounts.directory import people, users_table
from relay.accounts.handles import normalize
from relay.platform.cache import redis_client, redis_gate
from relay.platform.clock import SystemClock
from relay.platform.config import settings
from relay.platform.dynamo import dynamodb_client
from relay.platform.errors import Invalid
from relay.search.follows_table import FollowsView
from relay.search.index import SearchIndex
from relay.search.indexer import Indexer
from relay.search.posts_table import PostsView
from relay.search.searching import Search
from relay.search.suggest import Suggester
from relay.search.trending import Trending


def handle_owner(text: str) -> tuple[str, str, str] | None:
    """The person whose handle is exactly `text`, from DynamoDB (the degraded answer)."""
    try:
        handle = normalize(text)
    except Invalid:
        return None
    table = users_table()
    sub = table.sub_of(handle)
    user = table.user(sub) if sub else None
    return (user.sub, user.handle, user.display_name) if user else None


@functools.cache
def posts_view() -> PostsView:
    return PostsView(dynamodb_client(), settings().posts_table)


@functools.cache
def follows_view() -> FollowsView:
    return FollowsView(dynamodb_client(), settings().follows_table)


@functools.cache
def trending() -> Trending:
    return Trending(redis_client(), SystemClock())


@functools.cache
def indexer() -> Indexer:
    return Indexer(SearchIndex(redis_client()), trending(), SystemClock())


def person_event(kind: str, sub: str) -> None:
    """An accounts event about `sub`, indexed as the users table has them now."""
    indexer().person_event(kind, sub, users_table().user)


@functools.cache
def suggester() -> Suggester:
    return Suggester(
        redis_client(),
        redis_gate(),
        handle_owner=handle_owner,
        followees=follows_view().followees,
    )


@functools.cache
def search() -> Search:
    return Search(
        redis_client(),
        redis_gate(),
        posts_view(),
        lambda subs: people(subs),
        suggester(),
        indexer(),
    )


def rebuild(*, force: bool = False) -> dict[str, int | bool]:
    """Index everything again from DynamoDB when Redis lost the index (or when asked)."""
    index = indexer().index
    if not force and index.is_built():
        return {"rebuilt": False}
    counts = indexer().rebuild(users_table().all_users(), posts_view().all_posts())
    return {"rebuilt": True, **counts}
