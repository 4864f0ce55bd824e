"""Shipping click lines from the redirect's log to the click queue.

A delivery from CloudWatch Logs becomes a few batches (clicks.pack), one SQS
message each; they go out ten to a SendMessageBatch call. Any entry SQS refuses
fails the whole delivery, so Lambda's async retry (and then the dead-letter queue)
keeps every click: a batch sent twice is counted once downstream, by its id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relay.shortener.clicks import pack

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS's own limits: entries per SendMessageBatch call, and a call's payload (256 KiB on
# the older limit, less room for the request's own fields).
SQS_BATCH = 10
MAX_REQUEST_BYTES = 240 * 1024


class ShipFailed(Exception):
    """SQS refused some entries; raising makes Lambda retry the whole delivery."""


class Shipper:
    """Puts the batches of click lines on the click queue, handed its client and URL."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def ship(self, lines: list[str]) -> int:
        """Send the click lines to the queue; returns the number of messages sent."""
        bodies = [batch.body() for batch in pack(lines)]
        for group in groups(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(group)]
            reply = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)  # type: ignore[arg-type]
            if reply.get("Failed"):
                raise ShipFailed(
                    f"SQS refused {len(reply['Failed'])} of {len(entries)}: {reply['Failed'][:3]}"
                )
        return len(bodies)


def groups(bodies: list[str]) -> list[list[str]]:
    """Message bodies grouped for SendMessageBatch: at most ten, and MAX_REQUEST_BYTES in all."""
    grouped: list[list[str]] = []
    size = MAX_REQUEST_BYTES
    for body in bodies:
        weight = len(body.encode())
        if not grouped or len(grouped[-1]) == SQS_BATCH or size + weight > MAX_REQUEST_BYTES:
            grouped.append([])
            size = 0
        grouped[-1].append(body)
        size += weight
    return grouped
