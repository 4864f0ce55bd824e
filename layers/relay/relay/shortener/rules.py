"""Every rule of the shortener in one place: codes, links, the redirect's caches, clicks
and analytics, each written once, with the template parameter that sets it (if any).

No template parameter sets these: a deployment changes them with a release. What the
template does set lives beside the settings it feeds: the shortener's per-caller rate
limits are relay.platform.ratelimit.RULES (RedirectLimitPerMinute, ShortenLimitPerMinute,
AnonymousShortenLimitPerMinute, ReadLimitPerMinute, AnonymousReadLimitPerMinute), and
where short links are served is ShortBaseUrl (relay.shortener.service).

This module only names values: the redirect's hot path imports it.
"""

from __future__ import annotations

import string

# ---- Codes (relay.shortener.codes; docs/decisions.md has the collision arithmetic)
# A random code: this many characters of base62 from a CSPRNG.
ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7
# A custom code: 4 to 32 of these characters. Random codes fit the same pattern, so it is
# also what any code a link could ever have looks like.
CUSTOM_CODE_CHARS = "A-Za-z0-9_-"
CUSTOM_CODE_MIN = 4
CUSTOM_CODE_MAX = 32
CODE_PATTERN = f"[{CUSTOM_CODE_CHARS}]{{{CUSTOM_CODE_MIN},{CUSTOM_CODE_MAX}}}"
# Custom codes share the path space with the API and with whatever a deployment
# serves beside it; these would shadow or impersonate it.
RESERVED_CODES = frozenset(
    {
        "api",
        "admin",
        "docs",
        "health",
        "healthz",
        "login",
        "logout",
        "static",
        "assets",
        "favicon.ico",
        "robots.txt",
        "openapi.json",
        "www",
        "help",
        "about",
        "status",
    }
)
# At the seed's five-year load 5.2 % of the code space is used: eight collisions in a
# row then happen once in 2e10 shortenings (docs/decisions.md).
MAX_ATTEMPTS = 8

# ---- Links (relay.shortener.links, relay.shortener.links_table)
MAX_URL_LENGTH = 2048
# GET /api/links: the page a caller gets without asking, and the largest one.
DEFAULT_PAGE = 20
MAX_PAGE = 100
# The latest expiry that still has a four-digit year (9999-12-31T23:59:59Z).
MAX_EXPIRY_MS = 253_402_300_799_000
# An expired link answers 410 for this long before DynamoDB's TTL may remove it (then: 404).
EXPIRED_GRACE_S = 30 * 86_400
# A deleted code is kept unusable for a while, so nobody can re-register it while
# browsers still hold the old redirect (CACHE_CONTROL, below).
TOMBSTONE_S = 86_400

# ---- The redirect (relay.shortener.redirects, functions/redirect)
# The most a cached link may lag behind DynamoDB: how long a delete whose invalidation
# was lost keeps redirecting. Refilling a hot code once a minute costs one read.
CACHE_TTL_S = 60
# How long an unknown code is remembered as unknown (negative caching).
NEGATIVE_TTL_S = 60
# Browsers keep a 301 forever unless told otherwise; private caching for as long as
# Redis may keep the link keeps clicks, expiry and deletion visible while still
# sparing repeat visits (docs/decisions.md).
CACHE_CONTROL = {301: f"private, max-age={CACHE_TTL_S}", 302: "private, no-cache"}

# ---- Clicks (relay.shortener.clicks, relay.shortener.counting)
# A logged header (Referer, User-Agent) is cut to this many characters.
MAX_HEADER = 512
# A referrer host kept longer than this is cut at a label boundary.
MAX_HOST_BYTES = 100
# A batch of clicks on the click queue: at most this many clicks and bytes. Well under
# SQS's message limit (256 KiB, the older and smaller of its limits), so a batch of
# them can be cut to fit a request too (relay.shortener.shipping).
CLICKS_PER_BATCH = 100
MAX_BATCH_BYTES = 64 * 1024
# A counted batch's marker outlives any message that could bring the batch again (the
# template's ClickDeadLetterQueue keeps messages 14 days, SQS's longest).
MARKER_TTL_S = 14 * 86_400
# A hot link's month item is written by every consumer at once; with the consumer's
# concurrency capped (template: ClickConsumerConcurrency) eight tries spread over
# up to ~2.5 s let each writer through before the message would go back to the queue.
CONFLICT_RETRIES = 8
FIRST_PAUSE_S = 0.01
MAX_PAUSE_S = 1.0

# ---- Analytics (relay.shortener.analytics, relay.shortener.topk)
# Referrers and countries: the top TOP, the rest summed as `other`.
TOP = 20
# Days of daily counts shown: the last year.
DAYS = 366
# Referrer hosts a month's summary tracks (the Space-Saving summary's slots).
TOPK_CAPACITY = 50
