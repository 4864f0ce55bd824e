"""ClickConsumer: counts the batches on the click queue, once each, reporting failures per record.

A message that is not a batch of clicks fails alone (after the queue's
maxReceiveCount its redrive policy moves it to the dead-letter queue); a batch that
fails is reported without holding back the others, even when every record of the
event fails. A failed delivery that Lambda parked on the dead-letter queue, once
redriven here, is packed into the batches ClickShipper would have sent, so the
clicks it already shipped are not counted twice.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.aws_events import failed_log_delivery
from relay.platform.clock import SystemClock
from relay.platform.observability import logger, metrics
from relay.shortener.click_store import ClickStore
from relay.shortener.clicks import Batch, Click, pack, unpack
from relay.shortener.counting import ClickCounter, Outcome

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
clock = SystemClock()


def _set_aside(click: Click, reason: str) -> None:
    logger.warning("click set aside", extra={"click": click.id, "code": click.code, "why": reason})


@functools.cache
def counter() -> ClickCounter:
    return ClickCounter(ClickStore.from_settings(), clock.now_ms, time.sleep, _set_aside)


def batches_of(body: str) -> list[Batch]:
    lines = failed_log_delivery(body)
    return pack(lines) if lines is not None else [unpack(body)]


def count_message(record: SQSRecord) -> None:
    outcome = Outcome()
    for batch in batches_of(record.body):
        outcome += counter().count(batch)
    metrics().add_metric("ClicksCounted", MetricUnit.Count, outcome.counted)
    if outcome.set_aside:
        metrics().add_metric("ClicksSetAside", MetricUnit.Count, len(outcome.set_aside))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=count_message, processor=processor, context=context
    )
    metrics().flush_metrics()
    return response  # type: ignore[return-value]
