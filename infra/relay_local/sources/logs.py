"""CloudWatch Logs subscription filters: a function's matching log lines, delivered
to another function as the `awslogs` event.

After each invocation of a source function, its lines that match the filter
pattern are written to `<state-dir>/log-deliveries.jsonl` (so a kill -9
between the invocation and the delivery loses nothing) and queued; lines that
arrive within 100 ms travel in one delivery, an asynchronous invoke with
Lambda's two retries, then the destination's OnFailure SQS queue. Only the
filter pattern forms the template needs are supported; others are refused at
start rather than matched wrongly.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay_local.output import Output
from relay_local.runtime.invoker import Invocation, Invoker
from relay_local.state.aws import SQS, AsyncAws, AwsError, Journal, read_journal
from relay_local.template.loader import ACCOUNT_ID, REGION
from relay_local.template.model import FunctionSpec, StackModel, SubscriptionSpec, TemplateError

BATCH_WINDOW_S = 0.1
Matcher = Callable[[str], bool]

_JSON_TERM = re.compile(
    r"""\s*\$\.(?P<path>[A-Za-z0-9_.$-]+)\s*(?P<op>!?=)\s*
    (?:"(?P<quoted>[^"]*)"|(?P<star>\*)|(?P<bare>[^\s&|)]+))\s*""",
    re.VERBOSE,
)


def compile_pattern(pattern: str) -> Matcher:
    """A matcher for `{ $.a = "x" }`, `{ $.a = * }`, `&&` of those, or plain terms."""
    text = pattern.strip()
    if not text:
        return lambda line: True
    if text.startswith("{"):
        if not text.endswith("}") or "||" in text:
            raise TemplateError(f"unsupported filter pattern {pattern!r}")
        conditions = []
        for term in text[1:-1].split("&&"):
            match = _JSON_TERM.fullmatch(term)
            if match is None:
                raise TemplateError(f"unsupported filter pattern term {term.strip()!r}")
            value = match.group("quoted")
            if value is None:
                value = match.group("bare")
            conditions.append((match.group("path").split("."), match.group("op") == "!=", value))
        return lambda line: _json_matches(line, conditions)
    terms = re.findall(r'"([^"]*)"|(\S+)', text)
    words = [quoted or bare for quoted, bare in terms]
    if any(w.startswith(("?", "-", "[")) for w in words):
        raise TemplateError(f"unsupported filter pattern {pattern!r}")
    return lambda line: all(word in line for word in words)


def _json_matches(line: str, conditions: list[tuple[list[str], bool, str | None]]) -> bool:
    try:
        document = json.loads(line)
    except ValueError:
        return False
    for path, negated, expected in conditions:
        value: Any = document
        for key in path:
            if not isinstance(value, dict) or key not in value:
                value = _MISSING
                break
            value = value[key]
        if expected is None:  # `= *`: the field exists
            ok = value is not _MISSING
        elif value is _MISSING or isinstance(value, (dict, list)):
            ok = False
        else:
            text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
            ok = text == expected
        if ok == negated:
            return False
    return True


_MISSING = object()


@dataclass
class _Subscription:
    spec: SubscriptionSpec
    matches: Matcher
    queue: asyncio.Queue[dict[str, Any]]


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
    def __init__(
        self,
        model: StackModel,
        invoker: Invoker,
        aws: AsyncAws | None,
        output: Output,
        state_dir: Path,
    ) -> None:
        self.model = model
        self.invoker = invoker
        self.aws = aws
        self.output = output
        self.journal_path = state_dir / "log-deliveries.jsonl"
        self.journal: Journal | None = None
        self._by_source: dict[str, list[_Subscription]] = {}
        self._by_name: dict[str, _Subscription] = {}
        for spec in model.subscriptions:
            subscription = _Subscription(spec, compile_pattern(spec.pattern), asyncio.Queue())
            self._by_source.setdefault(spec.source_function, []).append(subscription)
            self._by_name[spec.name] = subscription

    def recover(self) -> int:
        """Queue the deliveries a previous run captured but never completed."""
        pending: dict[str, dict[str, Any]] = {}
        for record in read_journal(self.journal_path):
            if "add" in record:
                pending[record["add"]["id"]] = record["add"]
            for done in record.get("done", []):
                pending.pop(done, None)
        fresh = self.journal_path.with_suffix(".jsonl.new")
        fresh.unlink(missing_ok=True)
        journal = Journal(fresh)
        for entry in pending.values():
            journal.append({"add": entry})
        journal.close()
        os.replace(fresh, self.journal_path)
        self.journal = Journal(self.journal_path)
        for entry in pending.values():
            subscription = self._by_name.get(entry["sub"])
            if subscription is not None:
                subscription.queue.put_nowait(entry)
        return len(pending)

    def on_invocation(self, spec: FunctionSpec, invocation: Invocation) -> None:
        """Invoker listener: capture the matching lines of a source function."""
        subscriptions = self._by_source.get(spec.logical_id)
        if not subscriptions or not invocation.logs:
            return
        stream = self.invoker.runtimes[spec.logical_id].env["AWS_LAMBDA_LOG_STREAM_NAME"]
        timestamp = int(invocation.finished_at * 1000)
        for subscription in subscriptions:
            for line in invocation.logs:
                if not subscription.matches(line):
                    continue
                entry = {
                    "id": str(secrets.randbits(180)).zfill(56)[:56],
                    "sub": subscription.spec.name,
                    "stream": stream,
                    "timestamp": timestamp,
                    "message": line,
                }
                if self.journal is not None:
                    self.journal.append({"add": entry})
                subscription.queue.put_nowait(entry)

    async def run(self) -> None:
        await asyncio.gather(*(self._deliver_forever(s) for s in self._by_name.values()))

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
            try:
                await self._deliver(subscription.spec, entries)
            except Exception as exc:  # noqa: BLE001 - the journal keeps them for the next start
                self.output.line(f"[relay] log delivery for {subscription.spec.name}: {exc!r}")

    async def _deliver(self, spec: SubscriptionSpec, entries: list[dict[str, Any]]) -> None:
        event = awslogs_event(spec, entries[0]["stream"], entries)
        destination = self.model.functions[spec.destination_function]
        source = f"logs {spec.name} ({len(entries)} line{'s' * (len(entries) != 1)})"
        invocation: Invocation | None = None
        for attempt in range(1 + destination.max_async_retries):
            invocation = await self.invoker.invoke(destination.logical_id, event)
            retry = f" (retry {attempt})" if attempt else ""
            self.output.invocation(
                source + retry, invocation, "error" if invocation.failed else "ok"
            )
            if not invocation.failed:
                break
        assert invocation is not None
        if invocation.failed:
            await self._on_failure(destination, event, invocation)
        if self.journal is not None:
            self.journal.append({"done": [entry["id"] for entry in entries]})

    async def _on_failure(
        self, destination: FunctionSpec, event: dict[str, Any], invocation: Invocation
    ) -> None:
        if destination.on_failure is None or self.aws is None:
            self.output.line(f"[relay] delivery to {destination.logical_id} dropped after retries")
            return
        queue = self.model.queues[destination.on_failure.queue]
        record = {
            "version": "1.0",
            "timestamp": _iso_now(),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{destination.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 1 + destination.max_async_retries,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": invocation.error,
        }
        try:
            await self.aws.call(
                SQS + "SendMessage", {"QueueUrl": queue.url, "MessageBody": json.dumps(record)}
            )
            self.output.line(f"[relay] failed delivery sent to {queue.name} ({REGION})")
        except AwsError as exc:
            self.output.line(f"[relay] could not send failed delivery to {queue.name}: {exc}")


def _iso_now() -> str:
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
