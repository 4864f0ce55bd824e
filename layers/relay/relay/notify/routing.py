"""Routing: each event, per recipient and channel, delivered exactly once.

For each recipient (never the actor), each channel gets one line in the delivery
log (relay.notify.deliveries_table). In-app, the line and the inbox write are one
transaction: the first delivery of an event writes both, any later one (a retry, a
redelivery, a second consumer) is cancelled by the line and changes nothing. Events
of a BATCHED category for one subject within one window write the same inbox item
(its id is a digest of category, subject and window), so they become one
notification whose actors are a set: concurrent consumers add to it, and the same
person twice counts once. After a first delivery, every open socket of the
recipient gets `{"type": "notification", "notification": ...}`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from relay.notify.deliveries_table import DEFERRED, SENT, SKIPPED, DeliveriesTable
from relay.notify.models import Delivery, Notification, NotificationEvent
from relay.notify.notifications_table import NotificationsTable
from relay.notify.preferences import Preferences
from relay.notify.preferences_table import PreferencesTable
from relay.notify.rules import BATCH_WINDOW_MS, BATCHED, CHANNELS, IN_APP, MAX_DELAY_S
from relay.notify.sockets import Sockets
from relay.platform.clock import Clock, iso
from relay.platform.dynamo import cancellation_reasons

log = logging.getLogger(__name__)
# A batching window's item is written by every event in it: a few conflicts under a
# burst are retried at once (DynamoDB's own advice), then the message comes again.
CONFLICT_TRIES = 4


class Busy(Exception):
    """Transactions kept conflicting: the message goes back to the queue."""


def notification_id(event: NotificationEvent) -> str:
    """The same for every event that belongs in one notification, whoever computes it."""
    if event.category in BATCHED:
        start = event.at_ms - event.at_ms % BATCH_WINDOW_MS
        what = f"{event.category}|{event.subject}|window:{start}"
    else:
        start = event.at_ms
        what = f"{event.category}|{event.subject}|event:{event.event_id}"
    digest = base64.b32encode(hashlib.sha256(what.encode()).digest()).decode()[:16].lower()
    return f"{start:013d}{digest}"


@dataclass(frozen=True)
class Outcome:
    """What one event did: recipient -> channel -> status."""

    deliveries: dict[str, dict[str, str]]

    def count(self, status: str) -> int:
        return sum(s == status for channels in self.deliveries.values() for s in channels.values())


Shown = Callable[[Notification], dict[str, Any]]


class Deferrer:
    """Puts an event back on NotificationQueue for later: SQS holds it up to
    MAX_DELAY_S, and a longer wait is several hops (each one re-checks the hours)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def defer(self, event: NotificationEvent, delay_s: int) -> None:
        self._sqs.send_message(
            QueueUrl=self._url, MessageBody=event.body(), DelaySeconds=min(MAX_DELAY_S, delay_s)
        )


class Router:
    def __init__(
        self,
        client: Any,
        notifications: NotificationsTable,
        deliveries: DeliveriesTable,
        sockets: Sockets,
        shown: Shown,
        clock: Clock,
        preferences: PreferencesTable,
        deferrer: Deferrer,
    ) -> None:
        self._client = client
        self._notifications = notifications
        self._deliveries = deliveries
        self._sockets = sockets
        self._shown = shown
        self._clock = clock
        self._preferences = preferences
        self._deferrer = deferrer

    def route(self, event: NotificationEvent) -> Outcome:
        recipients = [r for r in event.recipients if r != event.actor_id]
        preferences = self._preferences.of_users(recipients) if recipients else {}
        deliveries: dict[str, dict[str, str]] = {}
        for recipient in recipients:
            deliveries[recipient] = self._recipient(event, recipient, preferences[recipient])
        return Outcome(deliveries)

    def _recipient(
        self, event: NotificationEvent, recipient: str, preferences: Preferences
    ) -> dict[str, str]:
        now = self._clock.now_ms()
        quiet = preferences.quiet_hours
        until = quiet.until_ms(now, preferences.time_zone) if quiet and not event.critical else None
        if until is not None:
            reason = f"quiet hours until {iso(until)}"
            line = Delivery(event.event_id, IN_APP, DEFERRED, reason, "", now)
            if not self._deliveries.log(recipient, line):
                earlier = self._deliveries.of(recipient, event.event_id, IN_APP)
                if earlier is not None and earlier.status != DEFERRED:
                    return {IN_APP: "duplicate"}
            # Deferred, never dropped: the event comes back for this recipient alone.
            alone = NotificationEvent(
                event.event_id,
                event.category,
                (recipient,),
                event.actor_id,
                event.subject,
                event.at_ms,
                event.critical,
                event.text,
            )
            self._deferrer.defer(alone, -(-(until - now) // 1000))
            return {IN_APP: DEFERRED}
        statuses: dict[str, str] = {}
        for channel in CHANNELS:
            mode = "immediate" if event.critical else preferences.mode(event.category, channel)
            if channel == IN_APP:
                # In-app, a digest mode is the inbox itself: its windows batch already.
                statuses[channel] = (
                    self._in_app(event, recipient)
                    if mode != "off"
                    else self._skip(event, recipient, channel, "off by preference")
                )
            elif mode != "off":
                # Wanted, but nothing to send it to yet: skipped and recorded, not failed.
                statuses[channel] = self._skip(event, recipient, channel, f"no {channel} set up")
        return statuses

    def _skip(self, event: NotificationEvent, recipient: str, channel: str, reason: str) -> str:
        line = Delivery(event.event_id, channel, SKIPPED, reason, "", self._clock.now_ms())
        return SKIPPED if self._deliveries.log(recipient, line) else "duplicate"

    def _in_app(self, event: NotificationEvent, recipient: str) -> str:
        nid = notification_id(event)
        line = Delivery(event.event_id, IN_APP, SENT, "", nid, self._clock.now_ms())
        items = [
            self._notifications.upsert(
                recipient,
                nid,
                category=event.category,
                subject=event.subject,
                actor_id=event.actor_id,
                text=event.text,
                at_ms=event.at_ms,
                critical=event.critical,
            ),
            self._deliveries.record(recipient, line),
        ]
        for _ in range(CONFLICT_TRIES):
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed":
                    return "duplicate"
                if "TransactionConflict" in reasons:
                    continue
                raise
            break
        else:
            raise Busy(f"the notification {nid} kept conflicting")
        shown = self._notifications.get(recipient, nid)
        if shown is not None:
            self._sockets.send(
                recipient, {"type": "notification", "notification": self._shown(shown)}
            )
        return SENT
