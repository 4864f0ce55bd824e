"""DynamoDB Streams event source mappings, run the way Lambda runs them.

Each mapping reads its table's stream in order from a checkpoint kept in
`<state-dir>/stream-checkpoints.jsonl` (so a restart resumes where it stopped;
`LATEST` starts at the end the first time, `TRIM_HORIZON` at the oldest record
kept). A batch is up to `BatchSize` records, gathered within
`MaximumBatchingWindowInSeconds`, and invoked synchronously: on success the
checkpoint moves past it; with ReportBatchItemFailures it moves to just before
the lowest failed `SequenceNumber`; on a failure the batch is retried (halved
first with BisectBatchOnFunctionError), blocking the stream as on AWS, until
`MaximumRetryAttempts` (-1: until the records expire) is spent, then the
OnFailure destination gets Lambda's record with `DDBStreamBatchInfo` and the
stream moves on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relay_local.output import Output
from relay_local.runtime.invoker import Invocation, Invoker
from relay_local.sources.async_invoke import iso_now, send_to_destination
from relay_local.state.journal import Journal, read_journal, rewrite
from relay_local.state.streams import StreamLog
from relay_local.state.wire import AsyncAws, AwsError
from relay_local.template.model import StackModel, StreamSourceSpec

MAX_BACKOFF_S = 30.0


def _sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def failed_sequences(
    invocation: Invocation, batch: list[dict[str, Any]], report: bool
) -> int | None:
    """The lowest sequence number to retry from; None when the whole batch succeeded."""
    first = _sequence(batch[0])
    if invocation.failed:
        return first
    if not report:
        return None
    result = invocation.result
    if result is None or result == "" or result == {}:
        return None
    if not isinstance(result, dict):
        return first
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return first
    sequences = {str(_sequence(record)) for record in batch}
    lowest: int | None = None
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in sequences:
            return first  # Lambda treats a malformed report as a failure of the whole batch
        lowest = int(identifier) if lowest is None else min(lowest, int(identifier))
    return lowest


class StreamPoller:
    def __init__(
        self,
        spec: StreamSourceSpec,
        table: str,
        log: StreamLog,
        invoker: Invoker,
        aws: AsyncAws,
        model: StackModel,
        output: Output,
        checkpoint: int,
        save: Callable[[str, int], None],
        backoff_s: Callable[[int], float],
    ) -> None:
        self.spec = spec
        self.table = table
        self.log = log
        self.invoker = invoker
        self.aws = aws
        self.model = model
        self.output = output
        self.checkpoint = checkpoint
        self.save = save
        self.backoff_s = backoff_s
        self.changed = asyncio.Event()

    @property
    def key(self) -> str:
        return f"{self.spec.function}:{self.spec.table}"

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = self.log.after(self.table, self.checkpoint, self.spec.batch_size)
            if not batch:
                self.changed.clear()
                await self.changed.wait()
                continue
            if self.spec.window_s > 0 and len(batch) < self.spec.batch_size:
                deadline = loop.time() + self.spec.window_s
                while len(batch) < self.spec.batch_size and loop.time() < deadline:
                    self.changed.clear()
                    try:
                        await asyncio.wait_for(self.changed.wait(), deadline - loop.time())
                    except TimeoutError:
                        break
                    batch = self.log.after(self.table, self.checkpoint, self.spec.batch_size)
            await self._process(batch)

    async def _process(self, batch: list[dict[str, Any]]) -> None:
        matches = self.spec.record_filter
        if matches is not None:
            last = _sequence(batch[-1])
            batch = [record for record in batch if matches(record)]
            if not batch:  # nothing for the function: the checkpoint moves past them
                self._advance(last)
                return
        attempts = 0
        while batch:
            attempts += 1
            invocation = await self.invoker.invoke(self.spec.function, {"Records": batch})
            retry_from = failed_sequences(invocation, batch, self.spec.report_failures)
            source = f"DynamoDB stream {self.table} ({len(batch)} record{'s' * (len(batch) != 1)})"
            if retry_from is None:
                self.output.invocation(source, invocation, "ok")
                self._advance(_sequence(batch[-1]))
                return
            status = "error" if invocation.failed else f"failed from {retry_from}"
            self.output.invocation(source, invocation, status)
            done = [record for record in batch if _sequence(record) < retry_from]
            if done:
                self._advance(_sequence(done[-1]))
            remaining = [record for record in batch if _sequence(record) >= retry_from]
            limit = self.spec.max_retries
            if limit >= 0 and attempts > limit:
                await self._give_up(remaining, invocation, attempts)
                self._advance(_sequence(remaining[-1]))
                return
            if self.spec.bisect and invocation.failed and len(remaining) > 1:
                remaining = remaining[: len(remaining) // 2]
            await asyncio.sleep(self.backoff_s(attempts))
            batch = remaining

    def _advance(self, sequence: int) -> None:
        self.checkpoint = sequence
        self.save(self.key, sequence)

    async def _give_up(
        self, batch: list[dict[str, Any]], invocation: Invocation, attempts: int
    ) -> None:
        spec = self.model.functions[self.spec.function]
        where = f"DynamoDB stream {self.table} -> {spec.logical_id}"
        if self.spec.on_failure is None:
            self.output.line(
                f"[relay] {where}: {len(batch)} records skipped after {attempts} attempts"
            )
            return
        record = {
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": spec.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": iso_now(),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000000000000000000-local",
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _arrival(batch[0]),
                "approximateArrivalOfLastRecord": _arrival(batch[-1]),
                "batchSize": len(batch),
                "streamArn": self.model.tables[self.spec.table].stream_arn,
            },
        }
        try:
            where_to = await send_to_destination(self.aws, self.model, self.spec.on_failure, record)
            self.output.line(f"[relay] {where}: failed batch sent to {where_to}")
        except AwsError as exc:
            self.output.line(f"[relay] {where}: could not send the failed batch: {exc}")


def _arrival(record: dict[str, Any]) -> str:
    import datetime

    epoch = record["dynamodb"]["ApproximateCreationDateTime"]
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _backoff(attempt: int) -> float:
    return min(MAX_BACKOFF_S, 0.5 * 2.0 ** (attempt - 1))


class StreamPollers:
    def __init__(
        self,
        state_dir: Path,
        log: StreamLog,
        invoker: Invoker,
        aws: AsyncAws,
        output: Output,
        backoff_s: Callable[[int], float] = _backoff,
    ) -> None:
        self.log = log
        self.invoker = invoker
        self.aws = aws
        self.output = output
        self.backoff_s = backoff_s
        self.path = state_dir / "stream-checkpoints.jsonl"
        self.checkpoints: dict[str, int] = {}
        for record in read_journal(self.path):
            self.checkpoints[str(record["key"])] = int(record["seq"])
        self.journal: Journal = rewrite(
            self.path, ({"key": k, "seq": v} for k, v in self.checkpoints.items())
        )
        self.pollers: dict[StreamSourceSpec, tuple[StreamPoller, asyncio.Task[None]]] = {}
        log.listeners.append(self._changed)
        self._loop: asyncio.AbstractEventLoop | None = None

    def _save(self, key: str, sequence: int) -> None:
        self.checkpoints[key] = sequence
        self.journal.append({"key": key, "seq": sequence})

    def _changed(self, table: str) -> None:
        """From moto's thread: wake the pollers of `table`."""
        if self._loop is None:
            return
        for poller, _ in list(self.pollers.values()):
            if poller.table == table:
                self._loop.call_soon_threadsafe(poller.changed.set)

    def apply(self, model: StackModel) -> None:
        self._loop = asyncio.get_running_loop()
        self.log.open(list(model.tables.values()))
        wanted = {spec for spec in model.stream_sources if spec.enabled}
        for spec, (_, task) in list(self.pollers.items()):
            if spec not in wanted:
                task.cancel()
                del self.pollers[spec]
        for spec in wanted - set(self.pollers):
            table = model.tables[spec.table].name
            key = f"{spec.function}:{spec.table}"
            if key not in self.checkpoints:
                start = self.log.last_sequence(table) if spec.starting_position == "LATEST" else 0
                self._save(key, start)
            poller = StreamPoller(
                spec,
                table,
                self.log,
                self.invoker,
                self.aws,
                model,
                self.output,
                self.checkpoints[key],
                self._save,
                self.backoff_s,
            )
            self.pollers[spec] = (poller, self._loop.create_task(poller.run()))
        for poller, _ in self.pollers.values():
            poller.model = model

    async def close(self) -> None:
        tasks = [task for _, task in self.pollers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.journal.close()
