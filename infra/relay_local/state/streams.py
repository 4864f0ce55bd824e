"""DynamoDB Streams: every change to a table with a StreamSpecification, kept in order.

Moto computes a stream record inside each write; Relay replaces that step
(`install`) so the record is built as DynamoDB builds it (no record for a write
that changes nothing, `ApproximateCreationDateTime` in epoch seconds, images per
`StreamViewType`) and appended to `<state-dir>/streams/<table>.jsonl` before
the write's answer returns: a change that was acknowledged is in the stream
even after a kill -9. Records are kept 24 hours, as DynamoDB keeps them.
Replaying the journal at start makes no records (`StreamLog.capturing` is off).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relay_local.state.journal import Journal, read_journal, rewrite
from relay_local.template.loader import REGION
from relay_local.template.model import TableSpec

RETENTION_S = 24 * 3600
_FIRST_SEQUENCE = 10**20


class StreamLog:
    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.clock = clock
        self.capturing = False
        self.tables: dict[str, TableSpec] = {}  # by table name
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.listeners: list[Callable[[str], None]] = []
        self._journals: dict[str, Journal] = {}
        self._lock = threading.Lock()

    def open(self, tables: list[TableSpec]) -> None:
        """Load each stream table's records (the last 24 hours) and keep appending."""
        with self._lock:
            for table in tables:
                if table.stream_view is None or table.name in self.tables:
                    continue
                self.tables[table.name] = table
                path = self.folder / f"{table.name}.jsonl"
                horizon = self.clock() - RETENTION_S
                kept = [
                    record
                    for record in read_journal(path)
                    if record["dynamodb"]["ApproximateCreationDateTime"] >= horizon
                ]
                self._journals[table.name] = rewrite(path, kept)
                self.records[table.name] = kept

    def last_sequence(self, table: str) -> int:
        records = self.records.get(table) or []
        return int(records[-1]["dynamodb"]["SequenceNumber"]) if records else _FIRST_SEQUENCE

    def after(self, table: str, sequence: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` records of `table` with a sequence number above `sequence`."""
        records = self.records.get(table) or []
        low, high = 0, len(records)
        while low < high:  # the records are in sequence order: bisect
            middle = (low + high) // 2
            if int(records[middle]["dynamodb"]["SequenceNumber"]) <= sequence:
                low = middle + 1
            else:
                high = middle
        return records[low : low + limit]

    def capture(
        self,
        table: str,
        keys: dict[str, Any],
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
        by_ttl: bool = False,
    ) -> None:
        """Record one change (from moto's request thread, inside the write)."""
        if not self.capturing or table not in self.tables:
            return
        if old is not None and new is not None and old == new:
            return  # DynamoDB writes no record for a write that changed nothing
        spec = self.tables[table]
        view = spec.stream_view or "KEYS_ONLY"
        name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        with self._lock:
            sequence = self.last_sequence(table) + 1
            change: dict[str, Any] = {
                "ApproximateCreationDateTime": int(self.clock()),
                "Keys": keys,
            }
            if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
                change["NewImage"] = new
            if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
                change["OldImage"] = old
            change["SequenceNumber"] = str(sequence)
            change["SizeBytes"] = len(json.dumps([keys, new or {}, old or {}]))
            change["StreamViewType"] = view
            record: dict[str, Any] = {
                "eventID": uuid.uuid4().hex,
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": change,
                "eventSourceARN": spec.stream_arn,
            }
            if by_ttl:
                record["userIdentity"] = {
                    "type": "Service",
                    "principalId": "dynamodb.amazonaws.com",
                }
            self._journals[table].append(record)
            self.records.setdefault(table, []).append(record)
        for listener in self.listeners:
            listener(table)

    def close(self) -> None:
        with self._lock:
            for journal in self._journals.values():
                journal.close()


_installed: StreamLog | None = None


def install(log: StreamLog) -> None:
    """Route moto's stream step to `log` (one stack per process)."""
    global _installed
    from moto.dynamodb.models.table import StreamShard

    if _installed is None:

        def add(shard: Any, old: Any, new: Any) -> None:
            target = _installed
            if target is None:
                return
            table = shard.table
            item = old if old is not None else new
            keys = {table.hash_key_attr: item.hash_key.to_json()}
            if table.range_key_attr is not None:
                keys[table.range_key_attr] = item.range_key.to_json()
            target.capture(
                table.name,
                keys,
                None if old is None else old.to_json()["Attributes"],
                None if new is None else new.to_json()["Attributes"],
            )

        StreamShard.add = add  # type: ignore[method-assign,assignment]
    _installed = log
