"""ClickConsumer: counts the clicks on the click queue, once each, reporting partial batch failures.

A message that is not a batch of clicks fails alone; after the queue's
maxReceiveCount the redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.clock import SystemClock
from relay.platform.observability import logger
from relay.shortener.analytics import ClickCounter
from relay.shortener.clicks import unpack

processor = BatchProcessor(event_type=EventType.SQS)
clock = SystemClock()


@functools.cache
def counter() -> ClickCounter:
    return ClickCounter()


def count_message(record: SQSRecord) -> int:
    return counter().count(unpack(record.body), clock.now_ms())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=count_message, processor=processor, context=context
    )
