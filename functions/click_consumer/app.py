"""ClickConsumer: counts the batches on the click queue, once each, a delivery at a time.

The batches of every message in the delivery are counted together (`ClickCounter`
sums them per link, so a thousand clicks of one link are one increment per
counter), and failures are reported per message: a message that is not a batch of
clicks fails alone (after the queue's maxReceiveCount its redrive policy moves it
to the dead-letter queue); when counting fails for a reason retrying may cure
(throttling, endless conflicts) the messages that were being counted fail, and
come again. Batches already counted leave markers, so a redelivery counts only
what is new. A failed delivery that Lambda parked on the dead-letter queue, once
redriven here, is packed into the batches ClickShipper would have sent, so the
clicks it already shipped are not counted twice.

The SQS records, and Lambda's invocation records inside them, are read here and in
relay.platform.aws_events: the shortener is handed message bodies and log lines.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from relay.platform.aws_events import failed_log_delivery
from relay.platform.observability import logger, metrics
from relay.shortener import service
from relay.shortener.clicks import Batch, pack, unpack
from relay.shortener.clicks_table import Conflict


def batches_of(body: str) -> list[Batch]:
    """The batches one message brings: a batch ClickShipper sent, or the log lines of a
    delivery Lambda gave up on (redriven from the dead-letter queue)."""
    lines = failed_log_delivery(body)
    return pack(lines) if lines is not None else [unpack(body)]


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    counting: list[str] = []
    batches: list[Batch] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            batches += batches_of(str(record.get("body", "")))
        except ValueError as error:
            logger.warning(
                "not a batch of clicks", extra={"message_id": message_id, "why": str(error)}
            )
            failed.append(message_id)
        else:
            counting.append(message_id)
    try:
        outcome = service.click_counter().count(batches)
    except (Conflict, ClientError, BotoCoreError):
        logger.exception(
            "counting failed; the messages will come again", extra={"message_ids": counting}
        )
        failed += counting
    else:
        metrics().add_metric("ClicksCounted", MetricUnit.Count, outcome.counted)
        if outcome.set_aside:
            metrics().add_metric("ClicksSetAside", MetricUnit.Count, len(outcome.set_aside))
    if failed:
        metrics().add_metric("ClickMessagesFailed", MetricUnit.Count, len(failed))
    metrics().flush_metrics()
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
