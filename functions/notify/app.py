"""Notify: reads the notification events on NotificationQueue and delivers each one.

Each SQS record's body is one event (relay.notify.models.NotificationEvent: the
documented shape, or chat's push event delivered raw from ChatPushTopic). Failures
are reported per message: a body that is not an event fails alone and, after the
queue's maxReceiveCount (5), rests in NotificationDeadLetterQueue, whose alarm tells
AlarmTopic; a delivery that failed for a reason retrying may cure (throttling,
conflicts, a timeout) comes again, and what it had delivered already is not
delivered twice (the delivery log, relay.notify.deliveries_table).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from relay.notify.models import NotAnEvent, NotificationEvent
from relay.notify.routing import Busy
from relay.notify.service import router
from relay.platform.clock import SystemClock
from relay.platform.observability import count, flushing, logger


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            notification = NotificationEvent.read(
                str(record.get("body", "")), SystemClock().now_ms()
            )
            outcome = router().route(notification)
        except NotAnEvent as error:
            logger.warning(
                "not a notification event", extra={"message_id": message_id, "why": str(error)}
            )
            count("NotificationEventsRefused")
            failed.append(message_id)
        except (Busy, ClientError, BotoCoreError):
            logger.exception(
                "delivery failed; the event will come again", extra={"message_id": message_id}
            )
            count("NotificationEventsRetried")
            failed.append(message_id)
        else:
            logger.info(
                "event routed",
                extra={"event_id": notification.event_id, "deliveries": outcome.deliveries},
            )
            count("NotificationEventsRouted")
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
