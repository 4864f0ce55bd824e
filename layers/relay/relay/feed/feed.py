"""What a user does with the feed: post, share, delete, follow, like, comment, and read.

`Feed` is what the Feed function calls. Each change is one DynamoDB transaction with
the counters it moves, composed here from the parts each table's store hands out
(relay.feed.tables); a follow also tells the follower's cached timeline, and may make
the followee a celebrity (relay.feed.celebrities). Reading the feed is the other half,
relay.feed.timelines.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import urlsplit

from relay.feed import ids, tags
from relay.feed import rules as feed_rules
from relay.feed.celebrities import Celebrities
from relay.feed.models import Comment, CommentPage, FeedItem, Page, PeoplePage, Post, Profile
from relay.feed.rules import Rules
from relay.feed.tables import Refused, Tables
from relay.feed.timeline_cache import TimelineCache
from relay.feed.timelines import Timelines
from relay.platform import cursors
from relay.platform.cache import RedisGate
from relay.platform.clock import Clock, SystemClock
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge

_USER = re.compile(r"[^\s/]{1,128}")
GONE = "No such post (it may have been deleted)."


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
        tables: Tables,
        cache: TimelineCache,
        gate: RedisGate,
        rules: Rules,
        clock: Clock | None = None,
        subs_of: Callable[[list[str]], dict[str, str]] | None = None,
        blocked: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.tables = tables
        # handle -> user id of the mentioned handles that name someone (the directory's).
        self.subs_of = subs_of or (lambda handles: {})
        # Whether either of two people blocked the other (relay.accounts.relations).
        self.blocked = blocked or (lambda a, b: False)
        self.cache = cache
        self.gate = gate
        self.clock = clock or SystemClock()
        self.timelines = Timelines(tables, cache, gate, rules, self.clock)
        self.celebrities = Celebrities(tables.profiles, cache, gate, rules)

    def _tags(self, text: str, author: str) -> tuple[list[str], list[str]]:
        """Whom `text` mentions (user ids; a handle nobody has is no mention) and its
        hashtags: the one rule (relay.feed.tags), applied once, when the text is written."""
        found = tags.parse(text)
        subs = self.subs_of(found.handles) if found.handles else {}
        mentioned = [subs[h] for h in found.handles if h in subs]
        # Someone blocked (or blocking) the author is not mentioned: nobody is told.
        return [m for m in mentioned if not self.blocked(author, m)], found.hashtags

    # ------------------------------------------------------------------ posts
    def post(self, author: str, content: str, media_urls: list[str]) -> Post:
        text = _content(content, feed_rules.MAX_CONTENT, "content")
        mentions, hashtags = self._tags(text, author)
        post = Post(
            post_id=ids.new_id(self.clock.now_ms()),
            author_id=author,
            content=text,
            media_urls=_media(media_urls),
            created_ms=self.clock.now_ms(),
            mentions=mentions,
            hashtags=hashtags,
        )
        self.publish(post)
        return post

    def publish(self, post: Post) -> None:
        """Store a post and count it on its author's profile."""
        self.tables.transact(
            [
                self.tables.posts.put_new(post),
                self.tables.profiles.count(post.author_id, "posts", 1),
            ]
        )

    def get(self, viewer: str, post_id: str) -> FeedItem:
        post = self.tables.posts.get(check_post_id(post_id))
        shown = self.timelines.resolved({post_id: post}) if post is not None else {}
        if post_id not in shown or self.blocked(viewer, shown[post_id].author_id):
            raise NotFound("No such post.")
        return FeedItem(shown[post_id], self.tables.likes.liked(post_id, viewer))

    def delete(self, user: str, post_id: str) -> None:
        """Delete the user's post and uncount it. Its comments, likes and shares go with
        it, in the fan-out consumer (the stream carries the delete)."""
        post = self.tables.posts.get(check_post_id(post_id))
        if post is None:
            raise NotFound("No such post.")
        if post.author_id != user:
            raise Forbidden("This post is not yours.")
        items = [
            self.tables.posts.delete_owned(post_id, user),
            self.tables.profiles.count(user, "posts", -1),
        ]
        if post.shared_from is not None:  # a share: forgotten, and counted one less there
            items.append(self.tables.shares.forget(post.shared_from, user))
            items.append(self.tables.posts.count(post.shared_from, "shares", -1))
        try:
            self.tables.transact(items)
        except Refused as refused:
            if 0 in refused.failed:
                raise NotFound("No such post.") from None  # deleted by a concurrent request
            if 3 not in refused.failed:
                raise
            self.tables.transact(items[:3])  # the shared post is gone already

    def edit(self, user: str, post_id: str, content: str, media_urls: list[str] | None) -> FeedItem:
        """Edit the user's post: new content (and media, when given), `editedAt` now.
        Every timeline and share shows it at once: they hold ids, and hydration reads
        the post as it is."""
        post = self.tables.posts.get(check_post_id(post_id))
        if post is None:
            raise NotFound("No such post.")
        if post.author_id != user:
            raise Forbidden("This post is not yours.")
        if post.shared_from is not None:
            raise Invalid("A share has no text of its own to edit.", code="share_not_editable")
        text = _content(content, feed_rules.MAX_CONTENT, "content")
        media = post.media_urls if media_urls is None else _media(media_urls)
        now = self.clock.now_ms()
        edited = self.tables.posts.edit(post_id, user, text, media, now, self._tags(text, user))
        if edited is None:
            raise NotFound("No such post.")  # deleted meanwhile
        return FeedItem(edited, self.tables.likes.liked(post_id, user))

    def share(self, user: str, post_id: str) -> tuple[Post, bool]:
        """Share a post with the user's followers, once: the share, and whether it is
        new (a repeat answers with the user's existing share of it)."""
        original = self.tables.posts.get(check_post_id(post_id))
        if original is None:
            raise NotFound("No such post.")
        # Sharing a share shares what it shared, and counts there: deleting the share
        # uncounts it from `shared_from`, so that is where it must have been counted.
        if original.shared_from is not None:
            original = self.tables.posts.get(original.shared_from)
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
        items = [
            self.tables.posts.put_new(share),
            self.tables.profiles.count(user, "posts", 1),
            self.tables.posts.count(original.post_id, "shares", 1),
            self.tables.shares.put_new(original.post_id, user, share.post_id, share.created_ms),
        ]
        try:
            self.tables.transact(items)
        except Refused as refused:
            if 2 in refused.failed:  # the shared post's count: the post is gone
                raise NotFound("No such post.") from None
            if 3 not in refused.failed:
                raise
            existing = self._share_of(original.post_id, user)
            if existing is None:  # undone meanwhile
                raise Conflict(
                    "The share changed meanwhile; try again.", code="share_changed"
                ) from None
            return existing, False
        return share, True

    def _share_of(self, post_id: str, user: str) -> Post | None:
        share_id = self.tables.shares.share_of(post_id, user)
        return None if share_id is None else self.tables.posts.get(share_id)

    def unshare(self, user: str, post_id: str) -> None:
        """Undo the user's share of a post (named by its id or by a share of it)."""
        share_id = self.tables.shares.share_of(check_post_id(post_id), user)
        if share_id is None:
            post = self.tables.posts.get(post_id)
            if post is not None and post.shared_from is not None:
                share_id = self.tables.shares.share_of(post.shared_from, user)
        if share_id is None:
            raise NotFound("You have not shared this post.", code="not_shared")
        with contextlib.suppress(NotFound):  # undone by a concurrent request: undone either way
            self.delete(user, share_id)

    def posts_of(self, viewer: str | None, author: str, limit: int, cursor: str | None) -> Page:
        """A page of `author`'s posts, newest first, as `viewer` (None: anonymous) sees them."""
        if viewer is not None and self.blocked(viewer, author):
            raise NotFound("No such user.", code="user_not_found")
        scope = f"posts:{author}"
        before = ids.position(scope, cursor)
        post_ids = self.tables.posts.recent_ids(check_user(author), limit, before)
        return self.timelines.page(viewer, post_ids, limit, scope)

    def read(self, reader: str, limit: int, cursor: str | None, rank: str = "recent") -> Page:
        """A page of the reader's feed (relay.feed.timelines)."""
        return self.timelines.read(reader, limit, cursor, rank)

    # ------------------------------------------------------------------ people
    def profile(self, viewer: str | None, user_id: str) -> tuple[Profile, bool]:
        """A user's counters, and whether `viewer` (None: anonymous) follows them."""
        profile = self.tables.profiles.get(check_user(user_id))
        followed = (
            viewer is not None
            and viewer != user_id
            and self.tables.follows.is_following(viewer, user_id)
        )
        return profile, followed

    def follow(self, follower: str, followee: str) -> tuple[Profile, bool]:
        if follower != followee and self.blocked(follower, followee):
            raise Forbidden("You cannot follow this person.", code="blocked")
        number = self._change_follow(follower, followee, on=True)
        if number is None:
            return self.tables.profiles.get(followee), True
        profile = self.celebrities.promoted(self.tables.profiles.get(followee))
        self.timelines.follow_changed(
            follower, followee, on=True, celebrity=profile.celebrity, number=number
        )
        return profile, True

    def unfollow(self, follower: str, followee: str) -> tuple[Profile, bool]:
        number = self._change_follow(follower, followee, on=False)
        if number is None:
            return self.tables.profiles.get(followee), False
        profile = self.tables.profiles.get(followee)
        self.timelines.follow_changed(
            follower, followee, on=False, celebrity=profile.celebrity, number=number
        )
        return profile, False

    def _change_follow(self, follower: str, followee: str, *, on: bool) -> int | None:
        """Follow (or unfollow) and count it on both profiles, in one transaction: the
        follow item first, then the counts, the follower's numbering the change. The
        change's number; None when it was so already. Another change of the follower's
        that takes the number first makes this one take the next."""
        if follower == check_user(followee):
            raise Invalid("You cannot follow yourself.", code="cannot_follow_self")
        follows, profiles, delta = self.tables.follows, self.tables.profiles, 1 if on else -1
        for _ in range(feed_rules.FOLLOW_ATTEMPTS):
            version = profiles.follows_version(follower)
            items = [
                follows.put_new(follower, followee, self.clock.now_ms())
                if on
                else follows.delete_existing(follower, followee),
                profiles.following_changed(follower, delta, version),
                profiles.count(followee, "followers", delta),
            ]
            try:
                self.tables.transact(items)
            except Refused as refused:
                if 0 in refused.failed:  # the follow item: followed (or not) already
                    return None
                if 1 in refused.failed:  # numbered meanwhile by another change
                    continue
                raise
            return version + 1
        raise Conflict("Your follows are changing fast; try again.", code="follow_conflict")

    def blocked_now(self, user: str, other: str) -> None:
        """A block landed: the two follow each other no more, and their timelines lose
        each other's posts (the unfollows' own cache step)."""
        if user == check_user(other):
            raise Invalid("You cannot block yourself.", code="cannot_block_self")
        self.unfollow(user, other)
        self.unfollow(other, user)

    def people(self, kind: str, subject: str, limit: int, cursor: str | None) -> PeoplePage:
        """A page of a user's `followers` or `following`, or of a post's `likes`, ordered
        by user id; its cursor is bound to the list (relay.platform.cursors)."""
        scope = f"{kind}:{subject}"
        after = None
        if cursor is not None:
            (last,) = cursors.decode(cursor, scope, [cursors.text(_USER.fullmatch)])
            after = str(last)
        if kind == "likes":
            if self.tables.posts.get(check_post_id(subject)) is None:
                raise NotFound("No such post.")
            found, more = self.tables.likes.likers_after(subject, limit, after)
        elif kind == "followers":
            found, more = self.tables.follows.followers_after(check_user(subject), limit, after)
        else:
            found, more = self.tables.follows.followees_after(check_user(subject), limit, after)
        more = more and bool(found)
        return PeoplePage(found, cursors.encode(scope, [found[-1]]) if more else None)

    # ------------------------------------------------------------------ engagement
    def like(self, user: str, post_id: str) -> FeedItem:
        self._change_like(user, check_post_id(post_id), on=True)
        return self.get(user, post_id)

    def unlike(self, user: str, post_id: str) -> FeedItem:
        self._change_like(user, check_post_id(post_id), on=False)
        return self.get(user, post_id)

    def _change_like(self, user: str, post_id: str, *, on: bool) -> None:
        """Like (or unlike) and count it on the post, in one transaction: the like item
        first, the post's count second. Liking twice counts once."""
        likes = self.tables.likes
        items = [
            likes.put_new(post_id, user, self.clock.now_ms())
            if on
            else likes.delete_existing(post_id, user),
            self.tables.posts.count(post_id, "likes", 1 if on else -1),
        ]
        try:
            self.tables.transact(items)
        except Refused as refused:
            if 1 in refused.failed:  # the post's count: the post is gone
                raise NotFound(GONE) from None
            if 0 not in refused.failed:  # else liked (or not) already: nothing to count
                raise

    def comment(self, user: str, post_id: str, content: str) -> Comment:
        text = _content(content, feed_rules.MAX_COMMENT, "content")
        mentions, hashtags = self._tags(text, user)
        comment = Comment(
            post_id=check_post_id(post_id),
            comment_id=ids.new_id(self.clock.now_ms()),
            author_id=user,
            content=text,
            created_ms=self.clock.now_ms(),
            mentions=mentions,
            hashtags=hashtags,
        )
        items = [
            self.tables.comments.put(comment),
            self.tables.posts.count(post_id, "comments", 1),
        ]
        try:
            self.tables.transact(items)
        except Refused as refused:
            if 1 in refused.failed:  # the post's count: the post is gone
                raise NotFound(GONE) from None
            raise
        return comment

    def delete_comment(self, user: str, post_id: str, comment_id: str) -> None:
        """Delete a comment, by its author or the post's, and uncount it."""
        post = self.tables.posts.get(check_post_id(post_id))
        comment = self.tables.comments.one(post_id, comment_id) if ids.is_id(comment_id) else None
        if post is None or comment is None:
            raise NotFound("No such comment.")
        if user not in (comment.author_id, post.author_id):
            raise Forbidden("Only its author or the post's can delete a comment.")
        items = [
            self.tables.comments.delete_existing(post_id, comment_id),
            self.tables.posts.count(post_id, "comments", -1),
        ]
        try:
            self.tables.transact(items)
        except Refused:
            raise NotFound("No such comment.") from None  # it or its post went meanwhile

    def comments(self, post_id: str, limit: int, cursor: str | None) -> CommentPage:
        if self.tables.posts.get(check_post_id(post_id)) is None:
            raise NotFound("No such post.")
        scope = f"comments:{post_id}"
        found = self.tables.comments.page(post_id, limit, ids.position(scope, cursor))
        more = len(found) == limit
        return CommentPage(found, ids.cursor_of(scope, found[-1].comment_id) if more else None)
