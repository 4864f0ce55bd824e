"""The chat's entities and limits: a conversation, a member's view of it, a message.

Plain dataclasses beside the logic that uses them: the tables (store.py) turn items
into these, the HTTP and WebSocket shapes (schemas.py, frames.py) turn these into
JSON, and neither knows the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relay.platform.clock import iso

# The seed's group size; the 1001st member is refused.
MAX_GROUP_MEMBERS = 1000
# A message is text a person typed; 4,000 characters is a long one (WhatsApp allows ~65k,
# Slack 40k, but a frame is at most 32 KB on API Gateway and JSON escapes can triple it).
MAX_CONTENT_CHARS = 4000
MAX_ATTACHMENTS = 10
MAX_NAME_CHARS = 100
MAX_CLIENT_MESSAGE_ID = 64

DIRECT = "direct"
GROUP = "group"


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    kind: str
    name: str | None
    members: tuple[str, ...]
    last_seq: int
    last_message_ms: int | None
    created_ms: int


@dataclass(frozen=True)
class ConversationView:
    """A conversation as one member sees it: with their unread count."""

    conversation: Conversation
    unread: int


@dataclass(frozen=True)
class Message:
    conversation_id: str
    message_id: str
    seq: int
    sender_id: str
    content: str
    timestamp_ms: int
    attachments: tuple[str, ...] = ()
    client_message_id: str | None = None

    def frame(self) -> dict[str, Any]:
        """What every other online member receives."""
        return {
            "type": "message",
            "conversationId": self.conversation_id,
            "messageId": self.message_id,
            "seq": self.seq,
            "senderId": self.sender_id,
            "content": self.content,
            "attachments": list(self.attachments),
            "timestamp": iso(self.timestamp_ms),
        }

    def ack(self) -> dict[str, Any]:
        """What the sender's connection receives."""
        return {
            "type": "ack",
            "clientMessageId": self.client_message_id,
            "messageId": self.message_id,
            "seq": self.seq,
            "conversationId": self.conversation_id,
            "timestamp": iso(self.timestamp_ms),
        }


@dataclass(frozen=True)
class Sent:
    message: Message
    duplicate: bool  # a retried clientMessageId: stored before, not delivered again


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user_id: str


@dataclass
class Recipients:
    """Where a conversation's event goes: live connections, and members with none."""

    connections: list[Connection] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
