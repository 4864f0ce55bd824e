"""Every rule of the feed, each written once: limits, thresholds, windows, TTLs.

Three are the deployment's (`Rules`), each set by the template parameter named beside
it; the default here is the one place the code holds it, and the parameter's Default
in template.yaml must equal it (tests/unit/test_feed_rules.py holds them equal). The
service (relay.feed.service) builds `Rules` from the settings; nothing else reads them.

- `celebrity_threshold`: an author with at least this many followers is a celebrity:
  their posts are not fanned out on write but pulled at read time (the hybrid model).
  Once crossed, an author stays a celebrity (see docs/decisions.md, "Feed").
- `timeline_length`: how many post ids a cached timeline keeps (Twitter and Mastodon
  keep about 800); older ones are trimmed on every write.
- `inactive_after_s`: a cached timeline not read for this long expires; fan-out writes
  only into timelines that exist, so inactive followers cost nothing and get their
  feed rebuilt from DynamoDB when they come back.

The constants are fixed: no template parameter sets them. `score` is the ranking of
`?rank=top`, recency and engagement (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_S = 86_400

# A post: at most this many characters of content and this many media URLs.
MAX_CONTENT = 2_000
MAX_MEDIA = 4
MAX_MEDIA_URL = 2_048
MAX_COMMENT = 1_000
# Pages of the feed and of lists: default and largest page.
DEFAULT_PAGE = 20
MAX_PAGE = 50
# How many of a celebrity's newest posts the read path keeps cached, and for how long.
CELEBRITY_RECENT = 200
CELEBRITY_RECENT_TTL_S = 3_600
# The cached set of celebrities is loaded again from DynamoDB this often: what bounds
# how long a promotion the cache missed and no post of theirs repaired stays missed.
CELEBRITIES_TTL_S = 300
# A rebuilt timeline takes at most this many newest posts from each followed author.
REBUILD_PER_AUTHOR = 100
# Fan-out reads an author's followers this many at a time: one fanout.lua call each.
FOLLOWER_PAGE = 5_000
# A follow retries this many times when other follow changes of the same person take
# its number first (relay.feed.profiles_table), then answers 409.
FOLLOW_ATTEMPTS = 5
# Mentions and hashtags kept per post or comment, and the longest hashtag (relay.feed.tags).
MAX_TAGS = 10
MAX_HASHTAG = 100
# ?rank=top ranks this many newest posts of the feed.
RANK_WINDOW = 100
# Ranking: engagement weights and gravity (how fast age wins over engagement).
LIKE_WEIGHT = 1.0
COMMENT_WEIGHT = 2.0
SHARE_WEIGHT = 3.0
GRAVITY = 1.5


@dataclass(frozen=True)
class Rules:
    # Template parameter CelebrityThreshold (environment CELEBRITY_THRESHOLD).
    celebrity_threshold: int = 10_000
    # Template parameter FeedTimelineLength (environment FEED_TIMELINE_LENGTH).
    timeline_length: int = 800
    # Template parameter FeedInactiveDays (environment FEED_INACTIVE_DAYS), in days there.
    inactive_after_s: int = 30 * DAY_S

    @classmethod
    def set_by(
        cls,
        *,
        celebrity_threshold: int | None,
        timeline_length: int | None,
        inactive_days: int | None,
    ) -> Rules:
        """The rules a deployment set; a rule it left unset (None) keeps its default."""
        given = {
            "celebrity_threshold": celebrity_threshold,
            "timeline_length": timeline_length,
            "inactive_after_s": None if inactive_days is None else inactive_days * DAY_S,
        }
        return cls(**{name: value for name, value in given.items() if value is not None})

    def is_celebrity(self, followers: int) -> bool:
        return followers >= self.celebrity_threshold


def score(likes: int, comments: int, shares: int, age_ms: int) -> float:
    """?rank=top: engagement over age, as Hacker News ranks stories:
    (1 + likes + 2 comments + 3 shares) / (age in hours + 2) ^ 1.5."""
    engagement = 1 + LIKE_WEIGHT * likes + COMMENT_WEIGHT * comments + SHARE_WEIGHT * shares
    hours = max(0, age_ms) / 3_600_000
    return float(engagement / (hours + 2) ** GRAVITY)
