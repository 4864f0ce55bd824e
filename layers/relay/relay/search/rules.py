"""Search's limits, windows and weights, each written once.

None is set by the template yet: the suggest path's costs (docs/performance.md) and its
memory (docs/scale.md) were measured with these values.
"""

from __future__ import annotations

# ---- What a client may send
MAX_QUERY_CHARS = 100
DEFAULT_SUGGESTIONS = 8
MAX_SUGGESTIONS = 20
DEFAULT_PAGE = 20
MAX_PAGE = 50
# Words of a post search beyond this many are ignored (each is one set to intersect).
MAX_QUERY_WORDS = 5

# ---- The suggestion index
# Prefixes of a term are indexed up to this many characters; a longer query is looked up
# by its first PREFIX_MAX characters and the candidates checked against all of it.
PREFIX_MAX = 8
# Each prefix keeps its TOP_K best entries: a short prefix ("a") matches millions of
# terms, and autocomplete shows a handful of them.
TOP_K = 48
# One typo (a deletion, an insertion or a substitution) is forgiven in words of at least
# this many characters, through a deletion neighbourhood of prefixes 5..PREFIX_MAX + 1.
TYPO_MIN = 5
# Entries read from each of a query's typo keys (up to 2 x PREFIX_MAX + 1 of them).
TYPO_READ = 8
# A typo match ranks below an exact prefix of the same popularity.
TYPO_FACTOR = 0.5

# A search shows in other people's suggestions once this many people have run it: one
# person's search is theirs alone.
QUERY_MIN_PEOPLE = 3

# ---- Personalisation: the caller's recent searches and the people they follow
RECENT_SEARCHES = 20
# A personal match adds this much to its log-popularity score (e^2, about 7x the
# popularity), and at most half the suggestions are lifted by it, so what is popular
# still shows.
PERSONAL_BONUS = 2.0
PERSONAL_SHARE = 0.5
# The people a caller follows are read from the feed's FollowsTable and kept this long.
FOLLOWS_TTL_S = 600
FOLLOWS_MAX = 5_000

# ---- Trending: distinct people per term in minute buckets, decayed
BUCKET_S = 60
# The window that counts now (with a half-life), against the baseline before it.
TRENDING_WINDOW_BUCKETS = 30
TRENDING_HALF_LIFE_S = 600
TRENDING_BASELINE_BUCKETS = 180
TRENDING_SIZE = 10
# A person counts once per term in each period this long, however often they repeat it.
DEDUPE_S = 1_800
# Buckets live as long as the baseline needs them.
BUCKET_TTL_S = (TRENDING_WINDOW_BUCKETS + TRENDING_BASELINE_BUCKETS + 2) * BUCKET_S

# ---- Posts
# A post's words beyond this many are not indexed (a post is at most a few hundred).
MAX_POST_WORDS = 64
# A word index keeps the newest this many posts.
WORD_POSTS = 10_000
# A post search reads at most this many entries of its rarest word per page.
SCAN_MAX = 2_000

# ---- Recovery: a deleted user or post stays out of a rebuild that read it before
TOMBSTONE_S = 3_600
