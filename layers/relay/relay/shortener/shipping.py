"""Shipping click lines from the redirect's log to the click queue.

A delivery from CloudWatch Logs becomes a few batches (clicks.pack), one SQS
message each; they go out ten to a SendMessageBatch call. Any entry SQS refuses
fails the whole delivery, so Lambda's async retry (and then the dead-letter queue)
keeps every click: a batch sent twice is counted once downstream, by its id.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import boto3

from relay.platform.config import settings
from relay.shortener.clicks import pack

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10
# A SendMessageBatch request's payload is capped too (256 KiB on the older limit).
MAX_BATCH_BYTES = 240 * 1024


@functools.cache
def sqs() -> SQSClient:
    return boto3.client("sqs", region_name=settings().aws_region)


class ShipFailed(Exception):
    """SQS refused some entries; raising makes Lambda retry the whole delivery."""


def ship(lines: list[str], client: SQSClient | None = None, queue_url: str | None = None) -> int:
    """Send the click lines to the queue; returns the number of messages sent."""
    client = client or sqs()
    queue_url = queue_url or settings().click_queue_url
    bodies = [batch.body() for batch in pack(lines)]
    for group in groups(bodies):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(group)]
        reply = client.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        if reply.get("Failed"):
            raise ShipFailed(
                f"SQS refused {len(reply['Failed'])} of {len(entries)}: {reply['Failed'][:3]}"
            )
    return len(bodies)


def groups(bodies: list[str]) -> list[list[str]]:
    """Message bodies grouped for SendMessageBatch: at most ten, and MAX_BATCH_BYTES in all."""
    grouped: list[list[str]] = []
    size = MAX_BATCH_BYTES
    for body in bodies:
        weight = len(body.encode())
        if not grouped or len(grouped[-1]) == SQS_BATCH or size + weight > MAX_BATCH_BYTES:
            grouped.append([])
            size = 0
        grouped[-1].append(body)
        size += weight
    return grouped
