"""Every category, channel, window, page size and lifetime of notifications, once.

None is a template parameter yet; where one should be, it is named beside the rule.
"""

from __future__ import annotations

import re

# ---- What an event may say
# Categories, as producers name them. `broadcast` comes from operators only.
CATEGORIES = ("like", "comment", "share", "follow", "mention", "message", "broadcast")
# Categories whose events for one subject within one window become one notification
# ("alice and 12 others liked your post"): the others are each their own.
BATCHED = frozenset({"like", "share", "follow"})
# The batching window (Novu's digest window is an hour too). Windows follow the clock,
# so every consumer, concurrent or redelivered, puts an event in the same one.
BATCH_WINDOW_MS = 3_600_000
# An event names at most this many recipients; a larger audience is a broadcast,
# which fans out in pages.
MAX_RECIPIENTS = 1_000
# Ids and subjects are short printable tokens: they become parts of keys.
TOKEN = re.compile(r"[A-Za-z0-9._:#@/-]{1,160}")
# A short text a producer may add (a comment's first words, a message preview).
MAX_TEXT_CHARS = 140
# The most actors one notification names; the count goes on beyond them.
MAX_ACTORS_KEPT = 50

# ---- Channels
IN_APP = "inApp"
EMAIL = "email"
SMS = "sms"
PUSH = "push"
CHANNELS = (IN_APP, EMAIL, SMS, PUSH)

# ---- Storage
# A notification, and the delivery log's line about it, are kept 30 days.
RETENTION_S = 30 * 86_400
# Inbox pages: the size a client gets unless it asks, and the most it may ask for.
DEFAULT_PAGE = 20
MAX_PAGE = 100
# A client marks at most this many notifications read by id in one call.
MAX_READ_IDS = 100
# The delivery log: how much of it one answer shows.
LOG_PAGE = 50

# ---- The consumer (template: NotificationQueue's maxReceiveCount is 5, its
# visibility timeout 6x Notify's Timeout, AWS's rule for SQS event sources).
MAX_RECEIVES = 5
# The longest SQS holds a message back (DelaySeconds): a deferral past quiet hours
# longer than this is several hops.
MAX_DELAY_S = 900
