"""A reader's timeline: read (the hybrid merge), rebuilt from DynamoDB, kept right when
they follow or unfollow.

The read path (`Timelines.read`) is the hybrid model of the seed:
1. one Redis round trip (read.lua) gives the page of the reader's pushed timeline and,
   for each celebrity they follow, that celebrity's cached recent posts;
2. celebrities whose recent posts are not cached are read from DynamoDB in parallel
   and cached (so a warm read needs none of it);
3. the ids are merged newest first and de-duplicated, and the page is hydrated (the
   posts with their counts and whether the reader liked each) in one BatchGetItem
   over the posts and likes tables; posts deleted meanwhile drop out there.
So a warm read is one Redis call and one DynamoDB call, whatever the page size. A
reader whose timeline is not cached (new, evicted, flushed, or away longer than the
inactivity cut-off, so fan-out skipped them) gets it rebuilt from DynamoDB first;
with Redis down, the page is merged straight from DynamoDB.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from relay.feed import ids
from relay.feed import rules as feed_rules
from relay.feed.models import FeedItem, Page, Post
from relay.feed.profiles_table import version_of
from relay.feed.rules import Rules
from relay.feed.tables import Tables
from relay.feed.timeline_cache import NotCached, TimelineCache
from relay.platform import cursors
from relay.platform.cache import RedisGate
from relay.platform.clock import Clock
from relay.platform.dynamo import batch_get

T = TypeVar("T")
_TOP_OFFSET = cursors.whole(0, feed_rules.RANK_WINDOW)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="feed")


def parallel(calls: Iterable[Callable[[], T]]) -> list[T]:
    """Run blocking calls (DynamoDB queries) at once; results in order."""
    pending = list(calls)
    if len(pending) <= 1:
        return [call() for call in pending]
    return list(_pool().map(lambda call: call(), pending))


def _newest(id_lists: Iterable[list[str]], limit: int) -> list[str]:
    """The `limit` newest ids of all the lists, newest first, each once."""
    found: set[str] = set()
    for post_ids in id_lists:
        found.update(post_ids)
    return sorted(found, reverse=True)[:limit]


class Timelines:
    def __init__(
        self, tables: Tables, cache: TimelineCache, gate: RedisGate, rules: Rules, clock: Clock
    ) -> None:
        self.tables = tables
        self.cache = cache
        self.gate = gate
        self.rules = rules
        self.clock = clock

    # ------------------------------------------------------------------ reading
    def read(self, reader: str, limit: int, cursor: str | None, rank: str = "recent") -> Page:
        if rank == "top":
            return self._top(reader, limit, cursor)
        scope = f"feed:{reader}"
        before = ids.position(scope, cursor)
        return self._checked(reader, before, limit, lambda found: found, limit, scope)

    def _checked(
        self,
        reader: str,
        before: str | None,
        window: int,
        choose: Callable[[list[str]], list[str]],
        limit: int,
        scope: str,
    ) -> Page:
        """A page of the reader's own feed: `choose` picks the page's ids from `window`
        candidates. Its hydration also reads how many follow changes DynamoDB has for the
        reader: when the cache held fewer, it missed one (a write lost while Redis hung),
        so it is dropped and the page read once more, from a rebuilt cache."""
        for _ in range(2):
            found, held = self._candidates(reader, before, window)
            page, version = self._page(
                reader, choose(found), limit, scope, versioned=held is not None
            )
            if held is None or version is None or version <= held:
                return page
            self.gate.attempt(lambda: self.cache.drop(reader))
        return page

    def page(self, reader: str | None, post_ids: list[str], limit: int, scope: str) -> Page:
        """These posts as the reader (None: anonymous) sees them; a cursor for the list
        `scope` when full."""
        return self._page(reader, post_ids, limit, scope, versioned=False)[0]

    def _page(
        self, reader: str | None, post_ids: list[str], limit: int, scope: str, *, versioned: bool
    ) -> tuple[Page, int | None]:
        posts, liked, version = self.hydrate(post_ids, reader, versioned=versioned)
        items = [FeedItem(posts[i], i in liked) for i in post_ids if i in posts]
        more = len(post_ids) == limit and bool(post_ids)
        return Page(items, ids.cursor_of(scope, post_ids[-1]) if more else None), version

    def hydrate(
        self, post_ids: list[str], reader: str | None, *, versioned: bool = False
    ) -> tuple[dict[str, Post], set[str], int | None]:
        """The posts that still exist among `post_ids`, which of them `reader` liked
        (none for an anonymous reader), and (`versioned`) the number of the reader's
        last follow change: one BatchGetItem over the three tables (a page of 20 is 41
        keys; the largest, 50, takes two calls)."""
        if not post_ids and not (versioned and reader):
            return {}, set(), None
        unique = list(dict.fromkeys(post_ids))
        posts, likes, profiles = self.tables.posts, self.tables.likes, self.tables.profiles
        keys = {
            posts.name: [posts.key(i) for i in unique],
            likes.name: likes.keys_by(reader, unique) if reader else [],
        }
        if versioned and reader:
            keys[profiles.name] = [profiles.key(reader)]
        found = batch_get(
            self.tables.client,
            keys,
            options={likes.name: likes.KEYS_ONLY, profiles.name: profiles.VERSION_ONLY},
        )
        version = None
        if versioned and reader:
            version = max((version_of(item) for item in found[profiles.name]), default=0)
        shown = self.resolved(posts.posts_of(found[posts.name]))
        return shown, likes.liked_of(found[likes.name]), version

    def resolved(self, found: dict[str, Post]) -> dict[str, Post]:
        """The posts as readers see them: a share shows what it shares as that post is
        now (edited, say), and a share of a deleted post is gone with it, before the
        fan-out consumer deletes the share itself. The shared posts not among `found`
        are one more BatchGetItem, only for a page that holds shares."""
        wanted = {p.shared_from for p in found.values() if p.shared_from is not None}
        if not wanted:
            return found
        shared = found | self.tables.posts.get_many(sorted(wanted.difference(found)))
        shown = {}
        for post_id, post in found.items():
            if post.shared_from is None:
                shown[post_id] = post
            elif (original := shared.get(post.shared_from)) is not None:
                shown[post_id] = dataclasses.replace(
                    post,
                    content=original.content,
                    media_urls=original.media_urls,
                    edited_ms=original.edited_ms,
                )
        return shown

    def _top(self, reader: str, limit: int, cursor: str | None) -> Page:
        scope = f"top:{reader}"
        offset = int(cursors.decode(cursor, scope, [_TOP_OFFSET])[0]) if cursor is not None else 0
        ranked: list[Post] = []

        def choose(window: list[str]) -> list[str]:
            posts = self.tables.posts.get_many(window)
            now = self.clock.now_ms()
            ranked[:] = sorted(
                posts.values(),
                key=lambda p: (
                    feed_rules.score(p.likes, p.comments, p.shares, now - p.created_ms),
                    p.post_id,
                ),
                reverse=True,
            )
            return [p.post_id for p in ranked[offset : offset + limit]]

        page = self._checked(reader, None, feed_rules.RANK_WINDOW, choose, limit, scope)
        more = offset + limit < len(ranked)
        return Page(page.items, cursors.encode(scope, [offset + limit]) if more else None)

    def candidates(self, reader: str, before: str | None, limit: int) -> list[str]:
        """The ids of a page of the reader's feed, newest first, older than `before`."""
        return self._candidates(reader, before, limit)[0]

    def _candidates(
        self, reader: str, before: str | None, limit: int
    ) -> tuple[list[str], int | None]:
        """The ids, and the number of the reader's last follow change the cache holds
        (None when Redis is down and the ids came from DynamoDB)."""
        found = self.gate.attempt(lambda: self._cached(reader, before, limit))
        if found is None:
            return self._uncached(reader, before, limit), None
        return found

    def _cached(self, reader: str, before: str | None, limit: int) -> tuple[list[str], int]:
        for _ in range(3):
            try:
                page = self.cache.page(reader, before, limit)
                break
            except NotCached as missing:
                if missing.what == "celebrities":
                    self.cache.store_celebrities(self.tables.profiles.celebrities())
                else:
                    self.rebuild(reader)
        else:
            raise RuntimeError("the feed cache would not stay warm")  # evicted as fast as filled
        found = [page.pushed] + [got or [] for got, _ in page.celebrities.values()]
        uncached = [c for c, (got, _) in page.celebrities.items() if got is None]
        # A celebrity cache holds their newest posts only; a deep page reads past it.
        deeper = [
            c
            for c, (got, held) in page.celebrities.items()
            if got is not None and len(got) < limit and held >= feed_rules.CELEBRITY_RECENT
        ]
        if uncached:
            recent = parallel(
                functools.partial(self.tables.posts.recent_ids, c, feed_rules.CELEBRITY_RECENT)
                for c in uncached
            )
            self.cache.store_recent(
                dict(zip(uncached, recent, strict=True)), feed_rules.CELEBRITY_RECENT_TTL_S
            )
            found += [[i for i in post_ids if before is None or i < before] for post_ids in recent]
        if deeper:
            found += self._recent_of(deeper, limit, before)
        return _newest(found, limit), page.version

    def _uncached(self, reader: str, before: str | None, limit: int) -> list[str]:
        """Redis is down: the page straight from DynamoDB, each followed author's newest."""
        authors = [*self.tables.follows.followees(reader), reader]
        return _newest(self._recent_of(authors, limit, before), limit)

    def _recent_of(self, authors: list[str], limit: int, before: str | None) -> list[list[str]]:
        recent_ids = self.tables.posts.recent_ids
        return parallel(functools.partial(recent_ids, a, limit, before) for a in authors)

    # ------------------------------------------------------------------ keeping the cache
    def rebuild(self, reader: str) -> None:
        """The reader's timeline from DynamoDB: the newest posts of everyone they follow
        (and their own) but celebrities, whose posts are pulled at read time. The number
        of their last follow change is read first: a change that lands while this runs
        is either in what it reads or numbered past what it stores (so its own cache
        write, or the next read's check, puts it right)."""
        self.cache.open_timeline(reader)
        version = self.tables.profiles.follows_version(reader)
        followees = self.tables.follows.followees(reader)
        celebrities = set(self.tables.profiles.celebrities())
        authors = [a for a in [*followees, reader] if a not in celebrities]
        recent_ids = self.tables.posts.recent_ids
        newest = _newest(
            parallel(
                functools.partial(recent_ids, a, feed_rules.REBUILD_PER_AUTHOR) for a in authors
            ),
            self.rules.timeline_length,
        )
        # The reader is among their own followees, so that their own posts are pulled
        # like a followed celebrity's when they are one.
        self.cache.store_timeline(reader, newest, [*followees, reader], version)

    def follow_changed(
        self, follower: str, followee: str, *, on: bool, celebrity: bool, number: int
    ) -> None:
        """Tell the follower's cached timeline and followees of their follow change
        `number`. Redis failing here loses nothing: the cache then holds a number short
        of DynamoDB's, which the follower's next read sees (and rebuilds), and changes
        that cross are applied in their order or drop the cache (follow.lua)."""
        if on:  # their recent posts join the timeline (celebrities' are pulled)
            limit = 0 if celebrity else feed_rules.REBUILD_PER_AUTHOR
        else:
            limit = self.rules.timeline_length
        recent = self.tables.posts.recent_ids(followee, limit) if limit else []
        self.gate.attempt(
            lambda: self.cache.followed(follower, followee, recent, on=on, number=number)
        )
