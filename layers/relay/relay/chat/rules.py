"""Every limit, window and cut-off of the chat, each written once.

None of these is a template parameter today: they follow from the seed (a group of
1,000), from API Gateway (a 32 KB frame, two-hour connections, a 10-minute idle
timeout) or from what a person does (a minute between pushes). Where a template
parameter is involved it is named beside the rule. Two rules of the chat live
elsewhere, each in the one place for its kind:
- the frame rate limits per connection and per user: `chat-connection` and
  `chat-user` in relay.platform.ratelimit.RULES (template parameters
  ChatConnectionLimitPerMinute and ChatUserLimitPerMinute), applied to the actions
  its GUARDS table names;
- how many ChatDelivery instances run at once: the delivery queue's
  MaximumConcurrency (template parameter ChatDeliveryConcurrency).
"""

from __future__ import annotations

# ---- Conversations
# The seed's group size, the creator included; the 1001st member is refused.
MAX_GROUP_MEMBERS = 1000
# People added to a group in one request: one transaction holds them with the group's
# two items (DynamoDB's 100 per transaction), with room to spare.
MAX_ADD = 50
# A group's name, after trimming.
MAX_NAME_CHARS = 100
# Pages of conversations and of history: the size a client gets unless it asks, and the
# largest it may ask for.
DEFAULT_PAGE = 50
MAX_PAGE = 100
# Conversations a warm process keeps (members never change; its last seq is a hint the
# seq transaction corrects), least recently used first out.
KNOWN_MAX = 10_000

# ---- Messages and frames
# A message is text a person typed; 4,000 characters is a long one (WhatsApp allows ~65k,
# Slack 40k, but a frame is at most 32 KB on API Gateway and JSON escapes can triple it).
MAX_CONTENT_CHARS = 4000
MAX_ATTACHMENTS = 10
MAX_CLIENT_MESSAGE_ID = 64
# A conversation id in a frame (ids are 33 characters; anything past this is not one).
MAX_FRAME_ID = 64
# Which message a clientMessageId became is kept a day, far past any client's retries.
CLIENT_ID_TTL_S = 86_400
# Storing a message: lost races for the next seq before the sender is told the
# conversation is busy, and the full-jitter back-off between them (the first loss goes
# again at once: a warm process's kept counter is often just stale).
SEQ_ATTEMPTS = 30
SEQ_BACKOFF_BASE_S = 0.004
SEQ_BACKOFF_CAP_S = 0.1
# A frame's `order` (the connection's count of its messages, relay.chat.turns): at most
# a JSON number any client holds exactly, and how long a frame waits for the one before
# it (a number the client skipped, a frame lost on the way) before it goes anyway. Two
# seconds is far past a message's store-and-deliver time (~10 ms) and short against a
# person's patience with a message that is slow to show.
MAX_ORDER = 2**53
TURN_WAIT_S = 2.0
# `sync` sends at most this many unread messages, then `more: true`.
SYNC_MAX = 1000

# ---- Delivery
# The inline-versus-queue cut-off: up to this many members, the function that stored
# the message delivers it; above, its members go to the delivery queue in chunks.
INLINE_MAX = 100
# Members per delivery job (one ChatDelivery invocation; ChatDeliveryConcurrency of
# them at once).
CHUNK = 100
# Posts to `@connections` at once, and how long one connection may hold a worker (the
# message is in history anyway: a client that missed it gets it on `sync`).
WORKERS = 32
POST_CONNECT_TIMEOUT_S = 1
POST_READ_TIMEOUT_S = 2
POST_MAX_ATTEMPTS = 2
# Typing and read receipts reach the others in groups up to this size; in a larger group
# they would be a queue job per keystroke for signals nobody follows (the reader's own
# lastRead still moves, and unread counts with it).
SIGNALS_MAX_GROUP = INLINE_MAX

# ---- Connections and presence
# API Gateway's maximum connection duration (two hours), and a margin: a connection
# item a lost `$disconnect` left behind expires by itself.
CONNECTION_TTL_S = 2 * 3600 + 600
# Presence lapses this long after a connect or the last ping. Clients ping every 5
# minutes, inside API Gateway's 10-minute idle timeout; two missed pings and they are
# offline. Pings are paid per message at 10 M connections (docs/scale.md): a closed
# connection goes offline at once through $disconnect anyway.
PRESENCE_TTL_MS = 11 * 60_000
# Presence is pushed to the members of 1:1 conversations and of groups up to this size;
# a larger group's members read it on demand (a thousand pushes per connect is not worth it).
PRESENCE_MAX_GROUP = 100
# Lapsed users one run of ChatPresenceSweep (once a minute) reports; the rest, the next.
SWEEP_MAX = 1000

# ---- Push notifications and attachments
# An offline member is notified about a conversation at most once per window.
PUSH_WINDOW_MS = 60_000
# Characters of the message a push carries.
PREVIEW_CHARS = 100
# An upload: at most this size, allowed for this long, of these types.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
UPLOAD_TTL_S = 300
CONTENT_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/mp4",
        "audio/mpeg",
        "application/pdf",
        "text/plain",
    }
)
