"""FanOut: the posts table's stream in, new posts into their readers' cached timelines.

New posts (INSERT) are fanned out, deleted ones (REMOVE) taken out again with their
comments and likes; counter updates (MODIFY) are nothing to do. The records of a
shard come in order; when one fails the ones before it are done, and it and the
rest are reported as failed (the stream retries from the lowest failed record; after
MaximumRetryAttempts the batch goes to FanOutDeadLetterQueue). A record that is not a
post (KeyError, TypeError, ValueError) is reported the same way, never thrown, which
would fail the whole batch. Redelivery is harmless: every step is idempotent.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from redis.exceptions import RedisError

from relay.feed.posts_table import post_of
from relay.feed.service import fan_out
from relay.platform.observability import logger, metrics


def handle(record: dict[str, Any]) -> None:
    change = record.get("dynamodb") or {}
    if record.get("eventName") == "INSERT":
        fan_out().created(post_of(change["NewImage"]))
    elif record.get("eventName") == "REMOVE":
        fan_out().deleted(post_of(change["OldImage"]))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    for done, record in enumerate(records):
        try:
            handle(record)
        except (RedisError, ClientError, BotoCoreError, KeyError, TypeError, ValueError):
            sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            logger.exception(
                "fan-out failed; the stream retries from here", extra={"sequence": sequence}
            )
            metrics().add_metric("FanOutFailed", MetricUnit.Count, 1)
            metrics().add_metric("FanOutDone", MetricUnit.Count, done)
            metrics().flush_metrics()
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    metrics().add_metric("FanOutDone", MetricUnit.Count, len(records))
    metrics().flush_metrics()
    return {"batchItemFailures": []}
