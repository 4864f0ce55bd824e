"""Lambda's asynchronous invocation: what CloudWatch Logs, SNS and schedules use.

An event handed to `AsyncInvoker.submit` is journaled first (so a kill -9 before
or during its invocation loses nothing: it is invoked again at the next start),
then invoked. A failed invocation is retried `MaximumRetryAttempts` times (two
by default), waiting as Lambda waits (one minute, then two; `relay run
--async-retry-delay` shortens that for development and tests); an event older
than `MaximumEventAgeInSeconds` is not retried. When retries are exhausted, the
function's OnFailure destination (an SQS queue or SNS topic of the template)
gets Lambda's invocation record; without one, the event is dropped, as on AWS,
with a line that says so.

`submit` may be called from any thread: moto's request threads deliver SNS
messages through it.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relay_local.state.journal import Journal, read_journal, rewrite

if TYPE_CHECKING:
    # Not at run time: `relay invoke` imports this module for `pending_entry` alone.
    from relay_local.output import Output
    from relay_local.runtime.invoker import Invocation, Invoker
    from relay_local.state.wire import AsyncAws
    from relay_local.template.model import Destination, FunctionSpec, StackModel

LAMBDA_RETRY_DELAYS_S = (60.0, 120.0)


def iso_now() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def failure_record(
    spec: FunctionSpec, invocation: Invocation, event: Any, attempts: int, condition: str
) -> dict[str, Any]:
    """Lambda's invocation record for an asynchronous invocation that failed."""
    return {
        "version": "1.0",
        "timestamp": iso_now(),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{spec.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": invocation.error,
    }


async def send_to_destination(
    aws: AsyncAws, model: StackModel, destination: Destination, record: dict[str, Any]
) -> str:
    """Send an invocation record to an SQS queue or SNS topic; returns where it went."""
    from relay_local.state.wire import SQS

    body = json.dumps(record)
    if destination.kind == "SQS":
        queue = model.queues[destination.target]
        await aws.call(SQS + "SendMessage", {"QueueUrl": queue.url, "MessageBody": body})
        return queue.name
    topic = model.topics[destination.target]
    await aws.query("sns", "Publish", {"TopicArn": topic.arn, "Message": body})
    return topic.name


def pending_entry(
    function: str, event: Any, source: str, now: float | None = None
) -> dict[str, Any]:
    """An asynchronous invocation as its journal keeps it."""
    return {
        "id": secrets.token_hex(8),
        "function": function,
        "event": event,
        "source": source,
        "first": time.time() if now is None else now,
        "attempts": 0,
    }


class AsyncInvoker:
    def __init__(
        self,
        state_dir: Path,
        invoker: Invoker,
        aws: AsyncAws,
        output: Output,
        model: StackModel,
        retry_delays_s: tuple[float, ...] = LAMBDA_RETRY_DELAYS_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.invoker = invoker
        self.aws = aws
        self.output = output
        self.model = model
        self.retry_delays_s = retry_delays_s
        self.clock = clock
        self.journal_path = state_dir / "async-invocations.jsonl"
        self.journal: Journal | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def recover(self) -> list[dict[str, Any]]:
        """Compact the journal to the invocations not yet done, and return them."""
        pending: dict[str, dict[str, Any]] = {}
        for record in read_journal(self.journal_path):
            if "add" in record:
                pending[record["add"]["id"]] = record["add"]
            elif "attempt" in record and record["attempt"]["id"] in pending:
                pending[record["attempt"]["id"]]["attempts"] = record["attempt"]["n"]
            for done in record.get("done", []):
                pending.pop(done, None)
        self.journal = rewrite(self.journal_path, ({"add": e} for e in pending.values()))
        return list(pending.values())

    def start(self, pending: list[dict[str, Any]]) -> None:
        self.loop = asyncio.get_running_loop()
        for entry in pending:
            self._spawn(entry)

    def submit(self, function: str, event: Any, source: str) -> None:
        """Queue an asynchronous invocation; durable when this returns. Any thread."""
        entry = pending_entry(function, event, source, self.clock())
        assert self.journal is not None and self.loop is not None
        self.journal.append({"add": entry})
        self.loop.call_soon_threadsafe(self._spawn, entry)

    def _spawn(self, entry: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, entry: dict[str, Any]) -> None:
        spec = self.model.functions.get(entry["function"])
        if spec is None:
            self.output.line(f"[relay] {entry['source']}: no function {entry['function']} any more")
            self._done(entry)
            return
        attempts = int(entry.get("attempts", 0))
        invocation: Invocation | None = None
        while True:
            attempts += 1
            assert self.journal is not None
            self.journal.append({"attempt": {"id": entry["id"], "n": attempts}})
            invocation = await self.invoker.invoke(spec.logical_id, entry["event"])
            retry = f" (retry {attempts - 1})" if attempts > 1 else ""
            self.output.invocation(
                entry["source"] + retry, invocation, "error" if invocation.failed else "ok"
            )
            if not invocation.failed:
                self._done(entry)
                return
            if self.clock() - float(entry["first"]) > spec.max_event_age_s:
                condition = "EventAgeExceeded"
                break
            if attempts > spec.max_async_retries:
                condition = "RetriesExhausted"
                break
            delay = self.retry_delays_s[min(attempts - 1, len(self.retry_delays_s) - 1)]
            if delay > 0:
                self.output.line(
                    f"[relay] {entry['source']}: {spec.logical_id} failed;"
                    f" Lambda retries in {delay:g} s"
                )
                await asyncio.sleep(delay)
        await self._failed(spec, entry, invocation, attempts, condition)
        self._done(entry)

    async def _failed(
        self,
        spec: FunctionSpec,
        entry: dict[str, Any],
        invocation: Invocation,
        attempts: int,
        condition: str,
    ) -> None:
        if spec.on_failure is None:
            self.output.line(
                f"[relay] {entry['source']}: event dropped after {attempts} attempts"
                f" ({spec.logical_id} has no OnFailure destination)"
            )
            return
        from relay_local.state.wire import AwsError

        record = failure_record(spec, invocation, entry["event"], attempts, condition)
        try:
            where = await send_to_destination(self.aws, self.model, spec.on_failure, record)
            self.output.line(f"[relay] {entry['source']}: failed event sent to {where}")
        except AwsError as exc:
            self.output.line(f"[relay] {entry['source']}: could not send the failed event: {exc}")

    def _done(self, entry: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.append({"done": [entry["id"]]})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.journal is not None:
            self.journal.close()
