"""The notification event every producer publishes, and what the inbox keeps of it.

The event (one JSON object, a NotificationQueue message body, or an SNS message
delivered raw to that queue):

    {"eventId": "feed.like:p1:u2", "category": "like", "recipients": ["<sub>"],
     "actorId": "<sub>" | null, "subject": "post:p1", "critical": false,
     "text": "optional, at most 140 characters", "at": 1795000000000}

- `eventId`: the producer's own id for what happened, the same on every retry of
  its publish; with the recipient and the channel it is what makes a message
  exactly one.
- `category`: one of relay.notify.rules.CATEGORIES; preferences are per category.
- `recipients`: user ids (subs), 1 to MAX_RECIPIENTS; the actor is never told of
  their own act.
- `subject`: what it is about, `<kind>:<id>`; events of a BATCHED category for one
  subject within one window become one notification.
- `critical`: bypasses preferences and quiet hours (account and security notices).
- `at`: when it happened (ms since the epoch); absent, when the consumer reads it.

Chat publishes its offline-member events on ChatPushTopic in its own shape
(conversationId, messageId, senderId, preview, recipients); `NotificationEvent.read`
takes that too, as a `message` about `conversation:<id>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from relay.notify.rules import (
    CATEGORIES,
    MAX_RECIPIENTS,
    MAX_TEXT_CHARS,
    TOKEN,
)


class NotAnEvent(ValueError):
    """A message body that is not a notification event: it fails alone and, after the
    queue's receives, rests in the dead-letter queue."""


def _token(value: Any, name: str) -> str:
    if not isinstance(value, str) or not TOKEN.fullmatch(value):
        raise NotAnEvent(f"{name}: a short token of letters, digits and ._:#@/- expected")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NotAnEvent("text: a string expected")
    # A lone surrogate cannot be stored or sent: replaced, not refused.
    return value.encode("utf-8", "replace").decode()[:MAX_TEXT_CHARS]


@dataclass(frozen=True)
class NotificationEvent:
    event_id: str
    category: str
    recipients: tuple[str, ...]
    actor_id: str | None
    subject: str
    at_ms: int
    critical: bool = False
    text: str = ""

    @classmethod
    def read(cls, body: str, now_ms: int) -> NotificationEvent:
        """The event a message body holds (the documented shape, or chat's push event)."""
        try:
            value = json.loads(body)
        except (ValueError, RecursionError) as error:
            raise NotAnEvent("not JSON") from error
        if not isinstance(value, dict):
            raise NotAnEvent("not a JSON object")
        return cls.of(value, now_ms)

    @classmethod
    def of(cls, value: dict[str, Any], now_ms: int) -> NotificationEvent:
        """The event a decoded JSON object holds."""
        if "category" not in value and "conversationId" in value:
            return cls._from_chat(value, now_ms)
        return cls._from_documented(value, now_ms)

    @classmethod
    def _from_documented(cls, value: dict[str, Any], now_ms: int) -> NotificationEvent:
        category = value.get("category")
        if category not in CATEGORIES:
            raise NotAnEvent(f"category: one of {', '.join(CATEGORIES)}")
        recipients = value.get("recipients")
        if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
            raise NotAnEvent(f"recipients: a list of 1 to {MAX_RECIPIENTS} user ids")
        actor = value.get("actorId")
        at = value.get("at", now_ms)
        if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at < 2**53:
            raise NotAnEvent("at: milliseconds since the epoch")
        critical = value.get("critical", False)
        if not isinstance(critical, bool):
            raise NotAnEvent("critical: true or false")
        return cls(
            event_id=_token(value.get("eventId"), "eventId"),
            category=category,
            recipients=tuple(dict.fromkeys(_token(r, "recipients") for r in recipients)),
            actor_id=None if actor is None else _token(actor, "actorId"),
            subject=_token(value.get("subject"), "subject"),
            at_ms=at,
            critical=critical,
            text=_text(value.get("text")),
        )

    @classmethod
    def _from_chat(cls, value: dict[str, Any], now_ms: int) -> NotificationEvent:
        conversation = _token(value.get("conversationId"), "conversationId")
        message = _token(value.get("messageId"), "messageId")
        return cls._from_documented(
            {
                "eventId": f"chat.message:{message}",
                "category": "message",
                "recipients": value.get("recipients"),
                "actorId": value.get("senderId"),
                "subject": f"conversation:{conversation}",
                "text": value.get("preview"),
            },
            now_ms,
        )

    def body(self) -> str:
        """The documented JSON of this event (what a producer sends)."""
        return json.dumps(
            {
                "eventId": self.event_id,
                "category": self.category,
                "recipients": list(self.recipients),
                "actorId": self.actor_id,
                "subject": self.subject,
                "critical": self.critical,
                "text": self.text,
                "at": self.at_ms,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class Notification:
    """One inbox entry: an event, or the events of one batching window for one subject."""

    notification_id: str
    recipient: str
    category: str
    subject: str
    actors: tuple[str, ...]  # the first MAX_ACTORS_KEPT, oldest first
    count: int  # distinct actors (or events, for one without an actor)
    text: str
    created_ms: int
    updated_ms: int
    read: bool
    critical: bool = False


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    next_cursor: str | None
    unread: int


@dataclass(frozen=True)
class Delivery:
    """A line of the delivery log: what happened to one event for one channel."""

    event_id: str
    channel: str
    status: str  # sent | skipped | deferred
    reason: str
    notification_id: str
    at_ms: int
