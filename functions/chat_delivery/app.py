"""ChatDelivery: sends large groups' messages, a chunk of members per queue message.

Each queue message's body is read here as a delivery job (relay.chat.delivery.
DeliveryJob). Failures are reported per message: a body that is not a delivery job
fails alone (the queue's redrive policy parks it on the dead-letter queue after a few
tries); a chunk whose connections could not be read comes again. A chunk delivered
twice sends some frames twice, which clients drop by `seq` (at-least-once,
docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from relay.chat.delivery import DeliveryJob, management_api
from relay.chat.service import messaging
from relay.platform.observability import flushing, logger


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            job = DeliveryJob.read(str(record.get("body", "")))
            messaging().deliver(job, management_api(job.endpoint))
        except ValueError as error:
            logger.warning(
                "not a delivery job", extra={"message_id": message_id, "why": str(error)}
            )
            failed.append(message_id)
        except (ClientError, BotoCoreError):
            logger.exception(
                "delivery failed; the chunk will come again", extra={"message_id": message_id}
            )
            failed.append(message_id)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
