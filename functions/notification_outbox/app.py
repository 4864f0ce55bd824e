"""NotificationOutbox: the EventsTable's stream in, notification events onto
NotificationQueue.

Each new event that asks to notify (relay.notify.outbox) is put on the queue in the
documented shape; the others are nothing to do. The records of a shard come in order:
when one cannot be sent, the ones before it are done, and it and the rest are
reported failed (the stream retries from it; after MaximumRetryAttempts the batch's
pointer goes to NotificationDeadLetterQueue, whose alarm tells AlarmTopic). A record
that is not an event, or asks for a notification that is not one, is logged and
skipped: retrying would never cure it. Sending twice is harmless: Notify delivers an
event id once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from relay.notify.models import NotAnEvent
from relay.notify.outbox import notification_of
from relay.notify.service import outbox_sender
from relay.platform.events import NotAnEventRecord, from_stream_image
from relay.platform.observability import count, flushing, logger


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    for record in event.get("Records", []):
        change = record.get("dynamodb") or {}
        sequence = str(change.get("SequenceNumber", ""))
        try:
            notification = notification_of(from_stream_image(change.get("NewImage") or {}))
        except (NotAnEventRecord, NotAnEvent) as error:
            logger.warning("not a notification", extra={"sequence": sequence, "why": str(error)})
            count("OutboxEventsRefused")
            continue
        if notification is None:
            continue
        try:
            outbox_sender().send(notification)
        except (ClientError, BotoCoreError):
            logger.exception("not sent; the stream retries from here", extra={"sequence": sequence})
            count("OutboxEventsRetried")
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
        count("OutboxEventsSent")
    return {"batchItemFailures": []}
