"""The chat's entities: conversations, a member's view of and place in them, messages,
connections, and what the logic hands back (a created conversation, a page of
history, an upload).

Plain dataclasses beside the logic that uses them: the tables (`*_table.py`) turn
items into these, the HTTP and WebSocket shapes (schemas.py, frames.py) turn these
into JSON, and neither knows the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.platform.clock import iso, parse_iso

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
    # Who may add, remove, rename and promote (a group's creator, and whom admins make
    # admins); a 1:1 conversation has none.
    admins: tuple[str, ...] = ()
    # Moves with every change of members or admins: a warm process's kept copy is
    # checked against it when a message is stored (relay.chat.ordering).
    members_version: int = 0

    def role(self, user_id: str) -> str:
        return "admin" if user_id in self.admins else "member"


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
    # The sender's handle when the message is shown (never stored: a handle may change);
    # None for a deleted account.
    sender_handle: str | None = None

    def frame(self) -> dict[str, Any]:
        """What every other online member receives."""
        return {
            "type": "message",
            "conversationId": self.conversation_id,
            "messageId": self.message_id,
            "seq": self.seq,
            "senderId": self.sender_id,
            "senderHandle": self.sender_handle,
            "content": self.content,
            "attachments": list(self.attachments),
            "timestamp": iso(self.timestamp_ms),
        }

    @classmethod
    def of_frame(cls, frame: dict[str, Any]) -> Message:
        """The message a `frame()` shows (KeyError, TypeError or ValueError for another)."""
        return cls(
            conversation_id=frame["conversationId"],
            message_id=frame["messageId"],
            seq=int(frame["seq"]),
            sender_id=frame["senderId"],
            content=frame["content"],
            timestamp_ms=parse_iso(frame["timestamp"]),
            attachments=tuple(frame.get("attachments") or ()),
            sender_handle=frame.get("senderHandle"),
        )

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
class Connection:
    connection_id: str
    user_id: str


@dataclass(frozen=True)
class Membership:
    """A member's place in a conversation: what they have read up to."""

    conversation_id: str
    last_read: int


@dataclass(frozen=True)
class Created:
    """A conversation asked for: made now, or the 1:1 conversation that already was."""

    view: ConversationView
    created: bool


@dataclass(frozen=True)
class MemberChange:
    """A group's members or admins changed: as they were, as they are, and who came and
    went (both empty for a promotion)."""

    before: Conversation
    after: Conversation
    added: list[str]
    removed: list[str]


@dataclass(frozen=True)
class HistoryPage:
    items: list[Message]
    next_cursor: str | None


@dataclass(frozen=True)
class Upload:
    """A presigned POST for one attachment: S3 holds the upload to what it names."""

    attachment_id: str
    url: str
    fields: dict[str, str]
    expires_in_s: int
    max_bytes: int
    content_type: str
