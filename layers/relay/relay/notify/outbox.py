"""The outbox's door onto the notification bus: domain events that ask to notify.

A producer with a transaction (a like, a follow, a comment) writes its event to the
EventsTable in that transaction (relay.platform.events.outbox_put), so a crash between
the change and the event cannot lose it. An event notifies when its `data` names a
`category` (relay.notify.rules.CATEGORIES) and it has `recipients`:

    Event.now("feed.liked", actor_id=liker, subject_id="post:p1", at_ms=now,
              recipients=(author,), data={"category": "like"})

(`data` may add `critical` and `text`). NotificationOutbox reads the table's stream
and puts each such event on NotificationQueue in the documented shape, with the
event's own id, so a stream record read twice is still one notification.
"""

from __future__ import annotations

from typing import Any

from relay.notify.models import NotificationEvent
from relay.platform.events import Event


def notification_of(event: Event) -> NotificationEvent | None:
    """The notification event a domain event asks for; None when it asks for none."""
    category = event.data.get("category")
    if category is None or not event.recipients:
        return None
    return NotificationEvent.of(
        {
            "eventId": event.event_id,
            "category": category,
            "recipients": list(event.recipients),
            "actorId": event.actor_id,
            "subject": event.subject_id,
            "critical": event.data.get("critical", False),
            "text": event.data.get("text"),
            "at": event.at_ms,
        },
        event.at_ms,
    )


class QueueSender:
    """Puts notification events on NotificationQueue, one message each."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, event: NotificationEvent) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=event.body())
