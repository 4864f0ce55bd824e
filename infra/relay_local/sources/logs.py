"""CloudWatch Logs subscription filters: a function's matching log lines, delivered
to another function as the `awslogs` event.

After each invocation of a source function, its lines that match the filter
pattern are written to `<state-dir>/log-deliveries.jsonl` (so a kill -9 between
the invocation and the delivery loses nothing) and queued; lines that arrive
within a second travel in one delivery per log stream, handed to Lambda's asynchronous
invocation (`AsyncInvoker`: journaled, retried, then the destination's
OnFailure queue). Only the filter pattern forms of `template.languages.log_patterns` are
supported; others are refused when the template is read.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay_local.output import Output
from relay_local.runtime.invoker import Invocation
from relay_local.sources.async_invoke import AsyncInvoker
from relay_local.state.journal import Journal, read_journal, rewrite
from relay_local.template.languages.log_patterns import Matcher, compile_pattern
from relay_local.template.loader import ACCOUNT_ID
from relay_local.template.model import FunctionSpec, StackModel, SubscriptionSpec

# CloudWatch Logs delivers a log stream's matching events in batches, about a second
# apart: one invocation of the destination per stream per second, not one per line.
BATCH_WINDOW_S = 1.0


@dataclass
class _Subscription:
    spec: SubscriptionSpec
    matches: Matcher
    queue: asyncio.Queue[dict[str, Any]]
    task: asyncio.Task[None] | None = None


def awslogs_event(
    spec: SubscriptionSpec, log_stream: str, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT_ID,
        "logGroup": spec.log_group,
        "logStream": log_stream,
        "subscriptionFilters": [spec.name],
        "logEvents": [
            {"id": e["id"], "timestamp": e["timestamp"], "message": e["message"]} for e in entries
        ],
    }
    packed = gzip.compress(json.dumps(data).encode())
    return {"awslogs": {"data": base64.b64encode(packed).decode("ascii")}}


class LogSubscriptions:
    def __init__(self, async_invoker: AsyncInvoker, output: Output, state_dir: Path) -> None:
        self.async_invoker = async_invoker
        self.output = output
        self.journal_path = state_dir / "log-deliveries.jsonl"
        self.journal: Journal | None = None
        self._by_source: dict[str, list[_Subscription]] = {}
        self._by_name: dict[str, _Subscription] = {}

    def recover(self) -> list[dict[str, Any]]:
        """The lines a previous run captured but never handed over."""
        pending: dict[str, dict[str, Any]] = {}
        for record in read_journal(self.journal_path):
            if "add" in record:
                pending[record["add"]["id"]] = record["add"]
            for done in record.get("done", []):
                pending.pop(done, None)
        self.journal = rewrite(self.journal_path, ({"add": e} for e in pending.values()))
        return list(pending.values())

    def apply(self, model: StackModel, pending: list[dict[str, Any]] | None = None) -> None:
        """Run the model's subscriptions: keep unchanged ones, start new ones, stop old ones."""
        wanted = {spec.name: spec for spec in model.subscriptions}
        for name, subscription in list(self._by_name.items()):
            if wanted.get(name) != subscription.spec:
                if subscription.task is not None:
                    subscription.task.cancel()
                del self._by_name[name]
        for name, spec in wanted.items():
            if name not in self._by_name:
                subscription = _Subscription(spec, compile_pattern(spec.pattern), asyncio.Queue())
                subscription.task = asyncio.get_running_loop().create_task(
                    self._deliver_forever(subscription)
                )
                self._by_name[name] = subscription
        self._by_source = {}
        for subscription in self._by_name.values():
            source = subscription.spec.source_function
            self._by_source.setdefault(source, []).append(subscription)
        for entry in pending or []:
            found = self._by_name.get(entry["sub"])
            if found is not None:
                found.queue.put_nowait(entry)

    def on_invocation(self, spec: FunctionSpec, invocation: Invocation) -> None:
        """Invoker listener: capture the matching lines of a source function."""
        subscriptions = self._by_source.get(spec.logical_id)
        if not subscriptions or not invocation.logs:
            return
        timestamp = int(invocation.finished_at * 1000)
        for subscription in subscriptions:
            for line in invocation.logs:
                if not subscription.matches(line):
                    continue
                entry = {
                    "id": str(secrets.randbits(180)).zfill(56)[:56],
                    "sub": subscription.spec.name,
                    "stream": invocation.log_stream,
                    "timestamp": timestamp,
                    "message": line,
                }
                if self.journal is not None:
                    self.journal.append({"add": entry})
                subscription.queue.put_nowait(entry)

    async def _deliver_forever(self, subscription: _Subscription) -> None:
        loop = asyncio.get_running_loop()
        while True:
            entries = [await subscription.queue.get()]
            deadline = loop.time() + BATCH_WINDOW_S
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    entries.append(await asyncio.wait_for(subscription.queue.get(), remaining))
                except TimeoutError:
                    break
            # One delivery per log stream, as CloudWatch Logs sends them.
            by_stream: dict[str, list[dict[str, Any]]] = {}
            for entry in entries:
                by_stream.setdefault(entry["stream"], []).append(entry)
            spec = subscription.spec
            for stream, batch in by_stream.items():
                lines = f"{len(batch)} line{'s' * (len(batch) != 1)}"
                self.async_invoker.submit(
                    spec.destination_function,
                    awslogs_event(spec, stream, batch),
                    f"logs {spec.name} ({lines})",
                )
                if self.journal is not None:
                    self.journal.append({"done": [entry["id"] for entry in batch]})

    async def close(self) -> None:
        tasks = [s.task for s in self._by_name.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.journal is not None:
            self.journal.close()
