"""Fan-out on write: a new post's id goes into its readers' cached timelines.

The posts table's stream brings every new and deleted post here (the post and its
fan-out job are one write, so a crash cannot lose the job: docs/decisions.md); the
FanOut function decodes each stream record into a Post. For an ordinary author the
followers are read a page at a time from the `Followers` index and each page is one
call of fanout.lua, which writes only the timelines that are cached (an inactive
reader's has expired; it is rebuilt when they return) and trims each to the timeline
length. A celebrity's post is not fanned out: readers pull it (relay.feed.timelines);
only the cache of the celebrity's recent posts learns of it. A deleted post leaves
the same timelines the same way, and its comments, likes and shares are deleted.

Every step is idempotent (ZADD and ZREM of one id, deletes), so a batch that fails
half-way is simply run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.feed import rules as feed_rules
from relay.feed.celebrities import Celebrities
from relay.feed.models import Post
from relay.feed.rules import Rules
from relay.feed.tables import Refused, Tables
from relay.feed.timeline_cache import TimelineCache
from relay.platform.cache import RedisGate


@dataclass(frozen=True)
class Outcome:
    """How many cached timelines a post was written to (or removed from)."""

    written: int
    celebrity: bool = False


class FanOut:
    def __init__(self, tables: Tables, cache: TimelineCache, gate: RedisGate, rules: Rules) -> None:
        self.tables = tables
        self.cache = cache
        self.celebrities = Celebrities(tables.profiles, cache, gate, rules)

    def created(self, post: Post) -> Outcome:
        # A deployment may have lowered the threshold since the author's last follower.
        author = self.celebrities.promoted(self.tables.profiles.get(post.author_id))
        if author.celebrity:
            # Readers pull this post only if the cached set of celebrities names its
            # author; a promotion whose cache write Redis lost is put right here, by a
            # job the stream retries until Redis takes it.
            self.cache.add_celebrity(post.author_id)
            self.cache.add_recent(post.author_id, post.post_id, feed_rules.CELEBRITY_RECENT)
            return Outcome(0, celebrity=True)
        return Outcome(self._each_reader(post, remove=False))

    def deleted(self, post: Post) -> Outcome:
        self.cache.add_recent(
            post.author_id, post.post_id, feed_rules.CELEBRITY_RECENT, remove=True
        )
        written = 0
        # A celebrity's posts were pulled, not pushed (unless posted before they were one;
        # those drop out at read time, when hydration finds them gone).
        if not self.tables.profiles.get(post.author_id).celebrity:
            written = self._each_reader(post, remove=True)
        self.tables.comments.delete_all(post.post_id)
        self.tables.likes.delete_all(post.post_id)
        for sharer, share_id in self.tables.shares.shares_of(post.post_id):
            self._delete_share(post.post_id, sharer, share_id)
        return Outcome(written)

    def _delete_share(self, post_id: str, sharer: str, share_id: str) -> None:
        """A deleted post's share goes too: the share post (whose own stream record then
        takes it out of timelines), its count on the sharer, and its record."""
        tables = self.tables
        forget = tables.shares.forget(post_id, sharer)
        try:
            tables.transact(
                [
                    tables.posts.delete_owned(share_id, sharer),
                    tables.profiles.posts_moved(sharer, -1),
                    forget,
                ]
            )
        except Refused as refused:
            if 0 not in refused.failed:
                raise
            tables.transact([forget])  # the share post went already (a redelivery)

    def _each_reader(self, post: Post, *, remove: bool) -> int:
        written = self.cache.fan_out(post.post_id, [post.author_id], remove=remove)
        pages = self.tables.follows.follower_pages(post.author_id, feed_rules.FOLLOWER_PAGE)
        for followers in pages:
            written += self.cache.fan_out(post.post_id, followers, remove=remove)
        return written
