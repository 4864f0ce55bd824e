"""SQS event sources, polled the way Lambda's event source mapping does it.

Each poller receives up to `BatchSize` messages (at most 10 per call,
accumulated within `MaximumBatchingWindowInSeconds`), invokes the function
with the SQS event, and deletes what succeeded: everything on success, all
but `batchItemFailures` when the mapping has ReportBatchItemFailures, nothing
when the function failed or answered a malformed failure report. What is not
deleted reappears after the queue's own visibility timeout. Moto would move a
message to the dead-letter queue on the receive after `maxReceiveCount`, as
SQS does, but inside moto, where the journal cannot see it (after a restart
the message would be back on its source queue); so the poller moves a message
that failed its last allowed receive itself, through journaled calls. The copy
in the DLQ gets a new MessageId, where SQS keeps the old one. Short long-polls
keep a sent message's latency near a second.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from relay_local.output import Output
from relay_local.runtime.invoker import Invocation, Invoker
from relay_local.state.wire import SQS, AsyncAws, AwsError
from relay_local.template.languages.event_filters import sqs_view
from relay_local.template.loader import REGION
from relay_local.template.model import QueueSpec, SqsSourceSpec, StackModel

_LONG_POLL_S = 1
_RETRY_AFTER_ERROR_S = 1.0


def sqs_event(messages: Iterable[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event source mapping's event, from ReceiveMessage (JSON protocol) messages."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message.get("Body", ""),
                "attributes": {
                    key: attributes[key]
                    for key in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SenderId",
                        "ApproximateFirstReceiveTimestamp",
                        "SequenceNumber",
                        "MessageGroupId",
                        "MessageDeduplicationId",
                        "AWSTraceHeader",
                    )
                    if key in attributes
                },
                "messageAttributes": {
                    name: _message_attribute(value)
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = value["BinaryValue"]
    attribute["stringListValues"] = value.get("StringListValues", [])
    attribute["binaryListValues"] = value.get("BinaryListValues", [])
    attribute["dataType"] = value.get("DataType")
    return attribute


def failed_ids(invocation: Invocation, batch_ids: set[str], report_failures: bool) -> set[str]:
    """Message ids to leave on the queue after an invocation, as Lambda decides them."""
    if invocation.failed:
        return set(batch_ids)
    if not report_failures:
        return set()
    result = invocation.result
    if result is None or result == "" or result == {}:
        return set()
    if not isinstance(result, dict):
        return set(batch_ids)
    failures = result.get("batchItemFailures")
    if failures is None or failures == []:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            # Lambda treats a malformed report as a failure of the whole batch.
            return set(batch_ids)
        ids.add(identifier)
    return ids


class SqsPoller:
    def __init__(
        self,
        source: SqsSourceSpec,
        queue: QueueSpec,
        aws: AsyncAws,
        invoker: Invoker,
        output: Output,
        on_consumed: Callable[[list[str]], None],
        dead_letter_candidates: Iterable[QueueSpec] = (),
    ) -> None:
        self.source = source
        self.queue = queue
        self.aws = aws
        self.invoker = invoker
        self.output = output
        self.on_consumed = on_consumed
        # (the DLQ, maxReceiveCount) from the queue's redrive policy, when it has one.
        self.dead_letter: tuple[QueueSpec, int] | None = None
        policy = json.loads(queue.attributes.get("RedrivePolicy", "null"))
        if isinstance(policy, dict):
            target = next(
                (q for q in dead_letter_candidates if q.arn == policy.get("deadLetterTargetArn")),
                None,
            )
            if target is not None:
                self.dead_letter = (target, int(policy.get("maxReceiveCount", 1)))

    def describe(self) -> str:
        failures = ", ReportBatchItemFailures" if self.source.report_failures else ""
        window = f", window {self.source.window_s:g} s" if self.source.window_s else ""
        dlq = ""
        if self.dead_letter is not None:
            dlq = f", DLQ {self.dead_letter[0].name} after {self.dead_letter[1]} receives"
        return (
            f"{self.queue.name} -> {self.source.function} "
            f"(batch {self.source.batch_size}{window}{failures}{dlq})"
        )

    async def run(self) -> None:
        while True:
            try:
                batch = await self._collect()
                if batch:
                    await self._process(batch)
            except (AwsError, httpx.HTTPError) as exc:
                self.output.line(f"[relay] SQS poller for {self.queue.name}: {exc}")
                await asyncio.sleep(_RETRY_AFTER_ERROR_S)
            except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the queue
                self.output.line(f"[relay] SQS poller for {self.queue.name} failed: {exc!r}")
                await asyncio.sleep(_RETRY_AFTER_ERROR_S)

    async def _receive(self, limit: int, wait_s: int) -> list[dict[str, Any]]:
        answer = await self.aws.call(
            SQS + "ReceiveMessage",
            {
                "QueueUrl": self.queue.url,
                "MaxNumberOfMessages": max(1, min(limit, 10)),
                "WaitTimeSeconds": wait_s,
                "AttributeNames": ["All"],
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            },
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    async def _collect(self) -> list[dict[str, Any]]:
        batch = await self._receive(self.source.batch_size, _LONG_POLL_S)
        if not batch or self.source.window_s <= 0:
            return batch
        deadline = time.monotonic() + self.source.window_s
        while len(batch) < self.source.batch_size and time.monotonic() < deadline:
            wait = min(_LONG_POLL_S, int(deadline - time.monotonic()))
            more = await self._receive(self.source.batch_size - len(batch), wait)
            if not more and wait == 0:
                break
            batch.extend(more)
        return batch

    async def _process(self, batch: list[dict[str, Any]]) -> None:
        event = sqs_event(batch, self.queue.arn)
        matches = self.source.record_filter
        if matches is not None:
            kept = {r["messageId"] for r in event["Records"] if matches(sqs_view(r))}
            filtered = [message for message in batch if message["MessageId"] not in kept]
            if filtered:
                # Lambda deletes what no filter matches; the function never sees it.
                await self._delete(filtered)
                self.on_consumed([message["MessageId"] for message in filtered])
                count = len(filtered)
                self.output.line(
                    f"[relay] SQS {self.queue.name}: {count} message{'s' * (count != 1)} "
                    "matched no filter, deleted"
                )
            batch = [message for message in batch if message["MessageId"] in kept]
            if not batch:
                return
            event["Records"] = [r for r in event["Records"] if r["messageId"] in kept]
        invocation = await self.invoker.invoke(self.source.function, event)
        batch_ids = {message["MessageId"] for message in batch}
        failed = failed_ids(invocation, batch_ids, self.source.report_failures)
        done = [message for message in batch if message["MessageId"] not in failed]
        dead = self._exhausted([message for message in batch if message["MessageId"] in failed])
        if dead and self.dead_letter is not None:
            await self._send_to(self.dead_letter[0], dead)
        await self._delete(done + dead)
        self.on_consumed([message["MessageId"] for message in done + dead])
        if invocation.failed:
            status = "error (batch returns to the queue)"
        elif failed:
            status = f"{len(failed)} of {len(batch)} failed"
        else:
            status = "ok"
        if dead and self.dead_letter is not None:
            status += f", {len(dead)} moved to {self.dead_letter[0].name}"
        source = f"SQS {self.queue.name} ({len(batch)} message{'s' * (len(batch) != 1)})"
        self.output.invocation(source, invocation, status)

    def _exhausted(self, failed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Failed messages whose receive was the last the redrive policy allows."""
        if self.dead_letter is None:
            return []
        limit = self.dead_letter[1]
        return [
            message
            for message in failed
            if int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) >= limit
        ]

    async def _send_to(self, queue: QueueSpec, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            entries = []
            for index, message in enumerate(messages[start : start + 10]):
                entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.get("Body", "")}
                if message.get("MessageAttributes"):
                    entry["MessageAttributes"] = message["MessageAttributes"]
                entries.append(entry)
            await self.aws.call(
                SQS + "SendMessageBatch", {"QueueUrl": queue.url, "Entries": entries}
            )

    async def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            await self.aws.call(
                SQS + "DeleteMessageBatch",
                {
                    "QueueUrl": self.queue.url,
                    "Entries": [
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(chunk)
                    ],
                },
            )


class SqsPollers:
    """The template's SQS event source mappings, one poller task each, kept in step with
    the template: an unchanged mapping keeps polling through a template edit."""

    def __init__(
        self,
        aws: AsyncAws,
        invoker: Invoker,
        output: Output,
        on_consumed: Callable[[list[str]], None],
    ) -> None:
        self.aws = aws
        self.invoker = invoker
        self.output = output
        self.on_consumed = on_consumed
        self.pollers: dict[
            tuple[SqsSourceSpec, QueueSpec], tuple[SqsPoller, asyncio.Task[None]]
        ] = {}

    def apply(self, model: StackModel) -> None:
        wanted = {
            (source, model.queues[source.queue]): source
            for source in model.sqs_sources
            if source.enabled
        }
        for key, (_, task) in list(self.pollers.items()):
            if key not in wanted:
                task.cancel()
                del self.pollers[key]
        for key, source in wanted.items():
            if key in self.pollers:
                continue
            poller = SqsPoller(
                source,
                key[1],
                self.aws,
                self.invoker,
                self.output,
                self.on_consumed,
                dead_letter_candidates=model.queues.values(),
            )
            self.pollers[key] = (poller, asyncio.get_running_loop().create_task(poller.run()))

    def describe(self) -> dict[str, str]:
        return {key[1].logical_id: poller.describe() for key, (poller, _) in self.pollers.items()}

    async def close(self) -> None:
        tasks = [task for _, task in self.pollers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
