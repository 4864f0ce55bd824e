"""What a user does with the feed: post, follow, like, comment, share, and read.

The read path (`Feed.read`) is the hybrid model of the seed:
1. one Redis round trip (read.lua) gives the page of the reader's pushed timeline and,
   for each celebrity they follow, that celebrity's cached recent posts;
2. celebrities whose recent posts are not cached are read from DynamoDB in parallel
   and cached (so a warm read needs none of it);
3. the ids are merged newest first and de-duplicated, and the page is hydrated (the
   posts with their counts and whether the reader liked each) in one BatchGetItem;
   posts deleted meanwhile drop out there.
So a warm read is one Redis call and one DynamoDB call, whatever the page size. A
reader whose timeline is not cached (new, evicted, flushed, or away longer than the
inactivity cut-off, so fan-out skipped them) gets it rebuilt from DynamoDB first;
with Redis down, the page is merged straight from DynamoDB.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import urlsplit

from relay.feed import ids
from relay.feed import rules as feed_rules
from relay.feed.models import Comment, CommentPage, FeedItem, Page, Post, Profile
from relay.feed.rules import Rules
from relay.feed.store import AlreadyDone, FeedStore, Missing, NotOwned
from relay.feed.timeline import NotCached, TimelineCache
from relay.platform import cursors
from relay.platform.cache import RedisGate
from relay.platform.clock import Clock, SystemClock
from relay.platform.errors import Forbidden, Invalid, NotFound, TooLarge

T = TypeVar("T")
_USER = re.compile(r"[^\s/]{1,128}")
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


def check_user(user_id: str) -> str:
    if not _USER.fullmatch(user_id):
        raise NotFound("No such user.")
    return user_id


def check_post_id(post_id: str) -> str:
    if not ids.is_id(post_id):
        raise NotFound("No such post.")
    return post_id


# Characters no reader sees: control and format characters (NUL, zero-width spaces,
# direction marks), besides whitespace. Text made of these alone is empty.
_INVISIBLE = frozenset({"Cc", "Cf"})


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) not in _INVISIBLE


def _content(text: str, limit: int, what: str) -> str:
    try:
        text.encode("utf-8")  # a lone surrogate (JSON's "\ud800") has no bytes to store
    except UnicodeError:
        raise Invalid(
            f"{what}: not Unicode text (a lone surrogate?).", code="invalid_content"
        ) from None
    if not any(_visible(char) for char in text):
        raise Invalid(f"{what}: must not be empty.", code="empty_content")
    if len(text) > limit:
        raise TooLarge(f"{what}: at most {limit} characters.", code="content_too_long")
    return text


def _media_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL a browser can load as it is."""
    if len(url) > feed_rules.MAX_MEDIA_URL:
        return False
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        return False
    try:
        url.encode("utf-8")
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a ValueError when it is not a port)
    except (ValueError, UnicodeError):  # "http://[::1" and a port of 99999 raise
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _media(urls: list[str]) -> list[str]:
    if len(urls) > feed_rules.MAX_MEDIA:
        raise Invalid(f"mediaUrls: at most {feed_rules.MAX_MEDIA}.", code="too_many_media")
    if not all(_media_url(url) for url in urls):
        raise Invalid("mediaUrls: each must be an http or https URL.", code="invalid_url")
    return urls


class Feed:
    def __init__(
        self,
        store: FeedStore,
        cache: TimelineCache,
        gate: RedisGate,
        rules: Rules,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.cache = cache
        self.gate = gate
        self.rules = rules
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------------ posts
    def post(self, author: str, content: str, media_urls: list[str]) -> Post:
        post = Post(
            post_id=ids.new_id(self.clock.now_ms()),
            author_id=author,
            content=_content(content, feed_rules.MAX_CONTENT, "content"),
            media_urls=_media(media_urls),
            created_ms=self.clock.now_ms(),
        )
        self.store.create_post(post)
        return post

    def get(self, viewer: str, post_id: str) -> FeedItem:
        post = self.store.get_post(check_post_id(post_id))
        if post is None:
            raise NotFound("No such post.")
        return FeedItem(post, self.store.liked(post_id, viewer))

    def delete(self, user: str, post_id: str) -> None:
        try:
            self.store.delete_post(check_post_id(post_id), user)
        except Missing:
            raise NotFound("No such post.") from None
        except NotOwned:
            raise Forbidden("This post is not yours.") from None

    def share(self, user: str, post_id: str) -> Post:
        original = self.store.get_post(check_post_id(post_id))
        if original is None:
            raise NotFound("No such post.")
        # Sharing a share shares what it shared, and counts there: deleting the share
        # uncounts it from `shared_from`, so that is where it must have been counted.
        if original.shared_from is not None:
            original = self.store.get_post(original.shared_from)
            if original is None:
                raise NotFound("No such post (the post it shares was deleted).")
        share = Post(
            post_id=ids.new_id(self.clock.now_ms()),
            author_id=user,
            content=original.content,
            media_urls=original.media_urls,
            created_ms=self.clock.now_ms(),
            shared_from=original.post_id,
        )
        try:
            self.store.create_post(share, shared=original)
        except Missing:
            raise NotFound("No such post.") from None
        return share

    def posts_of(self, viewer: str, author: str, limit: int, cursor: str | None) -> Page:
        scope = f"posts:{author}"
        before = ids.position(scope, cursor)
        post_ids = self.store.recent_ids_before(check_user(author), limit, before)
        return self._page(viewer, post_ids, limit, scope)

    # ------------------------------------------------------------------ people
    def profile(self, viewer: str, user_id: str) -> tuple[Profile, bool]:
        profile = self.store.profile(check_user(user_id))
        followed = viewer != user_id and self.store.is_following(viewer, user_id)
        return profile, followed

    def follow(self, follower: str, followee: str) -> tuple[Profile, bool]:
        if follower == check_user(followee):
            raise Invalid("You cannot follow yourself.", code="cannot_follow_self")
        try:
            self.store.follow(follower, followee, self.clock.now_ms())
        except AlreadyDone:
            return self.store.profile(followee), True
        profile = self.store.profile(followee)
        if not profile.celebrity and self.rules.is_celebrity(profile.followers):
            self.store.mark_celebrity(followee)
            self.gate.attempt(lambda: self.cache.add_celebrity(followee))
            profile = Profile(
                profile.user_id, profile.followers, profile.following, profile.posts, True
            )
        self._cache_follow(follower, followee, on=True, celebrity=profile.celebrity)
        return profile, True

    def unfollow(self, follower: str, followee: str) -> tuple[Profile, bool]:
        if follower == check_user(followee):
            raise Invalid("You cannot follow yourself.", code="cannot_follow_self")
        try:
            self.store.unfollow(follower, followee)
        except AlreadyDone:
            return self.store.profile(followee), False
        profile = self.store.profile(followee)
        self._cache_follow(follower, followee, on=False, celebrity=profile.celebrity)
        return profile, False

    def _cache_follow(self, follower: str, followee: str, *, on: bool, celebrity: bool) -> None:
        """Tell the follower's cached timeline and followees, then make sure DynamoDB still
        says so: a follow and an unfollow that cross would otherwise leave the cache
        saying whichever wrote it last, for as long as the reader stays active. Each
        request checks after its own write, so the last write is always checked."""
        for _ in range(3):
            if on:  # their recent posts join the timeline (celebrities' are pulled)
                limit = 0 if celebrity else feed_rules.REBUILD_PER_AUTHOR
            else:
                limit = self.rules.timeline_length
            recent = self.store.recent_ids(followee, limit) if limit else []
            written = functools.partial(self._cache_followed, follower, followee, recent, on)
            if self.gate.attempt(written) is None:
                return  # Redis is down: the cache is rebuilt from DynamoDB when it is back
            now = self.store.is_following(follower, followee)
            if now == on:
                return
            on = now
        self.gate.attempt(lambda: self.cache.drop(follower))  # still moving: rebuild it

    def _cache_followed(self, follower: str, followee: str, recent: list[str], on: bool) -> bool:
        self.cache.followed(follower, followee, recent, on=on)
        return True

    # ------------------------------------------------------------------ engagement
    def like(self, user: str, post_id: str) -> FeedItem:
        try:
            self.store.like(check_post_id(post_id), user, self.clock.now_ms())
        except AlreadyDone:
            pass
        except Missing:
            raise NotFound("No such post (it may have been deleted).") from None
        return self.get(user, post_id)

    def unlike(self, user: str, post_id: str) -> FeedItem:
        try:
            self.store.unlike(check_post_id(post_id), user)
        except AlreadyDone:
            pass
        except Missing:
            raise NotFound("No such post (it may have been deleted).") from None
        return self.get(user, post_id)

    def comment(self, user: str, post_id: str, content: str) -> Comment:
        comment = Comment(
            post_id=check_post_id(post_id),
            comment_id=ids.new_id(self.clock.now_ms()),
            author_id=user,
            content=_content(content, feed_rules.MAX_COMMENT, "content"),
            created_ms=self.clock.now_ms(),
        )
        try:
            self.store.add_comment(comment)
        except Missing:
            raise NotFound("No such post (it may have been deleted).") from None
        return comment

    def comments(self, post_id: str, limit: int, cursor: str | None) -> CommentPage:
        if self.store.get_post(check_post_id(post_id)) is None:
            raise NotFound("No such post.")
        scope = f"comments:{post_id}"
        found = self.store.comments(post_id, limit, ids.position(scope, cursor))
        more = len(found) == limit
        return CommentPage(found, ids.cursor_of(scope, found[-1].comment_id) if more else None)

    # ------------------------------------------------------------------ the feed
    def read(self, reader: str, limit: int, cursor: str | None, rank: str = "recent") -> Page:
        if rank == "top":
            return self._top(reader, limit, cursor)
        scope = f"feed:{reader}"
        before = ids.position(scope, cursor)
        return self._page(reader, self.candidates(reader, before, limit), limit, scope)

    def _page(self, reader: str, post_ids: list[str], limit: int, scope: str) -> Page:
        """These posts as the reader sees them; a cursor for the list `scope` when full."""
        posts, liked = self.store.hydrate(post_ids, reader)
        items = [FeedItem(posts[i], i in liked) for i in post_ids if i in posts]
        more = len(post_ids) == limit and bool(post_ids)
        return Page(items, ids.cursor_of(scope, post_ids[-1]) if more else None)

    def _top(self, reader: str, limit: int, cursor: str | None) -> Page:
        scope = f"top:{reader}"
        offset = int(cursors.decode(cursor, scope, [_TOP_OFFSET])[0]) if cursor is not None else 0
        window = self.candidates(reader, None, feed_rules.RANK_WINDOW)
        posts = self.store.counts_of(window)
        now = self.clock.now_ms()
        ranked = sorted(
            posts.values(),
            key=lambda p: (
                feed_rules.score(p.likes, p.comments, p.shares, now - p.created_ms),
                p.post_id,
            ),
            reverse=True,
        )
        chosen = [p.post_id for p in ranked[offset : offset + limit]]
        page = self._page(reader, chosen, limit, scope)
        more = offset + limit < len(ranked)
        return Page(page.items, cursors.encode(scope, [offset + limit]) if more else None)

    def candidates(self, reader: str, before: str | None, limit: int) -> list[str]:
        """The ids of a page of the reader's feed, newest first, older than `before`."""
        found = self.gate.attempt(lambda: self._cached(reader, before, limit))
        if found is None:
            return self._uncached(reader, before, limit)
        return found

    def _cached(self, reader: str, before: str | None, limit: int) -> list[str]:
        for _ in range(3):
            try:
                page = self.cache.page(reader, before, limit)
                break
            except NotCached as missing:
                if missing.what == "celebrities":
                    self.cache.store_celebrities(self.store.celebrities())
                else:
                    self.rebuild(reader)
        else:
            raise RuntimeError("the feed cache would not stay warm")  # evicted as fast as filled
        found = set(page.pushed)
        uncached = [c for c, (got, _) in page.celebrities.items() if got is None]
        # A celebrity cache holds their newest posts only; a deep page reads past it.
        deeper = [
            c
            for c, (got, held) in page.celebrities.items()
            if got is not None and len(got) < limit and held >= feed_rules.CELEBRITY_RECENT
        ]
        for got, _ in page.celebrities.values():
            found.update(got or [])
        if uncached:
            recent = parallel(
                functools.partial(self.store.recent_ids, c, feed_rules.CELEBRITY_RECENT)
                for c in uncached
            )
            self.cache.store_recent(
                dict(zip(uncached, recent, strict=True)), feed_rules.CELEBRITY_RECENT_TTL_S
            )
            for post_ids in recent:
                found.update(i for i in post_ids if before is None or i < before)
        if deeper:
            for post_ids in parallel(
                functools.partial(self.store.recent_ids_before, c, limit, before) for c in deeper
            ):
                found.update(post_ids)
        return sorted(found, reverse=True)[:limit]

    def _uncached(self, reader: str, before: str | None, limit: int) -> list[str]:
        """Redis is down: the page straight from DynamoDB, each followed author's newest."""
        authors = [*self.store.followees(reader), reader]
        found: set[str] = set()
        for post_ids in parallel(
            functools.partial(self.store.recent_ids_before, a, limit, before) for a in authors
        ):
            found.update(post_ids)
        return sorted(found, reverse=True)[:limit]

    def rebuild(self, reader: str) -> None:
        """The reader's timeline from DynamoDB: the newest posts of everyone they follow
        (and their own) but celebrities, whose posts are pulled at read time. Reading whom
        they follow once more afterwards costs one query per rebuild, not per read."""
        self.cache.open_timeline(reader)
        followees = self.store.followees(reader)
        celebrities = set(self.store.celebrities())
        authors = [a for a in [*followees, reader] if a not in celebrities]
        found: set[str] = set()
        for post_ids in parallel(
            functools.partial(self.store.recent_ids, a, feed_rules.REBUILD_PER_AUTHOR)
            for a in authors
        ):
            found.update(post_ids)
        newest = sorted(found, reverse=True)[: self.rules.timeline_length]
        # The reader is among their own followees, so that their own posts are pulled
        # like a followed celebrity's when they are one.
        self.cache.store_timeline(reader, newest, [*followees, reader])
        # A follow or an unfollow that landed meanwhile wrote the cache before this
        # overwrote it; whom the reader follows now says which to put right again.
        now = self.store.followees(reader)
        for gone in set(followees).difference(now):
            self._cache_follow(reader, gone, on=False, celebrity=gone in celebrities)
        for new in set(now).difference(followees):
            self._cache_follow(reader, new, on=True, celebrity=new in celebrities)
