"""The feed's Redis side: cached timelines, followees, celebrities and their recent posts.

Key formats live here and nowhere else:
- `feed:tl:<user>`: the user's timeline, post ids in a sorted set ordered by id (all
  scores 0, so by id, which sorts by time: relay.feed.ids), trimmed to the timeline
  length; it expires when its reader has been away for the inactivity cut-off.
- `feed:fl:<user>`: whom the user follows (to find their celebrity followees).
- `feed:fv:<user>`: the number of the user's last follow change the two above hold
  (relay.feed.profiles_table numbers them); a read compares it with DynamoDB's.
- `feed:celebs`: every celebrity; it expires after CELEBRITIES_TTL_S (relay.feed.rules)
  and is loaded again whole, and each celebrity's post adds its author (the post's
  fan-out job is retried until Redis takes it), so a promotion the cache missed
  comes back.
- `feed:recent:<author>`: a celebrity's newest post ids, cached for the read path.
Each holds a sentinel member, so an empty one still exists: a missing key always
means "not cached", never "empty". In sorted sets of post ids it is "~", which sorts
after every id; in sets of users it is "", which no user id can be (a token's
empty subject is no user at all).

Redis is a cache: every key can be rebuilt from DynamoDB (relay.feed.timelines does it).
The scripts (fanout.lua, read.lua, follow.lua) do many small things in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis

from relay.feed import rules as feed_rules

SENTINEL = "~"
NO_USER = ""
TIMELINE = "feed:tl:"
FOLLOWEES = "feed:fl:"
FOLLOWS_VERSION = "feed:fv:"
CELEBRITIES = "feed:celebs"
RECENT = "feed:recent:"


def _script(client: redis.Redis, name: str) -> Any:
    return client.register_script(resources.files("relay.feed").joinpath(name).read_text())


def timeline_key(user_id: str) -> str:
    return TIMELINE + user_id


@dataclass(frozen=True)
class CachedPage:
    """What read.lua found: the pushed ids, the number of the last follow change the
    cache holds, and per celebrity followee their ids (None when not cached) and how
    many of their posts the cache holds."""

    pushed: list[str]
    version: int
    celebrities: dict[str, tuple[list[str] | None, int]]


class NotCached(Exception):
    """The reader's timeline (`what` = "timeline") or the celebrities ("celebrities")."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class TimelineCache:
    def __init__(self, client: redis.Redis, *, keep: int, ttl_s: int) -> None:
        self.client = client
        self.keep = keep + 1  # the sentinel takes a place
        self.ttl_s = ttl_s
        self._fanout = _script(client, "fanout.lua")
        self._read = _script(client, "read.lua")
        self._follow = _script(client, "follow.lua")

    # ------------------------------------------------------------------ write side
    def fan_out(self, post_id: str, readers: list[str], *, remove: bool = False) -> int:
        """Write (or remove) a post id in the cached timelines of `readers`; how many
        were cached (and so written)."""
        if not readers:
            return 0
        keys = [TIMELINE + reader for reader in readers]
        return int(self._fanout(keys=keys, args=["rem" if remove else "add", post_id, self.keep]))

    def add_recent(self, author: str, post_id: str, keep: int, *, remove: bool = False) -> None:
        """Keep a celebrity's cached recent posts current (when they are cached)."""
        self._fanout(keys=[RECENT + author], args=["rem" if remove else "add", post_id, keep + 1])

    def followed(
        self, follower: str, followee: str, post_ids: list[str], *, on: bool, number: int
    ) -> bool:
        """Follow change `number` in the follower's cached feed; False when not written
        (not cached, held already, or dropped because an earlier change is missing)."""
        keys = [TIMELINE + follower, FOLLOWEES + follower, FOLLOWS_VERSION + follower]
        op = "follow" if on else "unfollow"
        return bool(self._follow(keys=keys, args=[op, followee, self.keep, number, *post_ids]))

    def add_celebrity(self, user_id: str) -> None:
        """One more celebrity; when the set is not cached, the next read loads it whole."""
        self.client.eval(
            "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('SADD', KEYS[1], ARGV[1]) end",
            1,
            CELEBRITIES,
            user_id,
        )

    # ------------------------------------------------------------------ read side
    def page(self, reader: str, before: str | None, limit: int) -> CachedPage:
        bound = "(" + (before or SENTINEL)
        reply = self._read(
            keys=[TIMELINE + reader, FOLLOWEES + reader, FOLLOWS_VERSION + reader, CELEBRITIES],
            args=[bound, limit, self.ttl_s, RECENT],
        )
        status = int(reply[0])
        if status == 0:
            raise NotCached("celebrities")
        if status == 1:
            raise NotCached("timeline")
        celebrities: dict[str, tuple[list[str] | None, int]] = {}
        rest = reply[3:]
        for i in range(0, len(rest), 3):
            ids = rest[i + 1]
            celebrities[_text(rest[i])] = (
                None if ids is None else [_text(x) for x in ids],
                int(rest[i + 2]),
            )
        return CachedPage([_text(x) for x in reply[1]], int(reply[2]), celebrities)

    def open_timeline(self, reader: str) -> None:
        """Before a rebuild reads DynamoDB: make the timeline exist (the sentinel alone
        if it was missing), so a post fanned out while the rebuild runs lands in it
        rather than being skipped as "not cached". Readers still see it as not cached
        until `store_timeline` writes the followees."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(TIMELINE + reader, {SENTINEL: 0})
        pipe.expire(TIMELINE + reader, self.ttl_s)
        pipe.execute()

    def store_timeline(
        self, reader: str, post_ids: list[str], followees: list[str], version: int
    ) -> None:
        """A rebuilt timeline, merged into what fan-out wrote meanwhile, the followee set,
        and the number of the last follow change they hold (read before the followees),
        at once."""
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(FOLLOWEES + reader)
        pipe.set(FOLLOWS_VERSION + reader, version, ex=self.ttl_s)
        pipe.zadd(TIMELINE + reader, dict.fromkeys([SENTINEL, *post_ids], 0))
        pipe.zremrangebyrank(TIMELINE + reader, 0, -(self.keep + 1))
        pipe.sadd(FOLLOWEES + reader, NO_USER, *followees)
        pipe.expire(TIMELINE + reader, self.ttl_s)
        pipe.expire(FOLLOWEES + reader, self.ttl_s)
        pipe.execute()

    def store_celebrities(self, user_ids: list[str]) -> None:
        """The celebrities as DynamoDB's index has them, added to what the set holds (a
        celebrity stays one, and the index may lag a promotion that a post's fan-out
        added already), for CELEBRITIES_TTL_S."""
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(CELEBRITIES, NO_USER, *user_ids)
        pipe.expire(CELEBRITIES, feed_rules.CELEBRITIES_TTL_S, nx=True)
        pipe.execute()

    def store_recent(self, recent: dict[str, list[str]], ttl_s: int) -> None:
        """Celebrities' newest post ids, as read from DynamoDB: one round trip for all."""
        if not recent:
            return
        pipe = self.client.pipeline(transaction=False)
        for author, post_ids in recent.items():
            pipe.delete(RECENT + author)
            pipe.zadd(RECENT + author, dict.fromkeys([SENTINEL, *post_ids], 0))
            pipe.expire(RECENT + author, ttl_s)
        pipe.execute()

    def drop(self, reader: str) -> None:
        self.client.delete(TIMELINE + reader, FOLLOWEES + reader, FOLLOWS_VERSION + reader)
