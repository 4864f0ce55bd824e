"""DynamoDB Streams: every change to a table with a StreamSpecification, kept in order.

Two halves, one per process. In the AWS process, moto computes a stream record
inside each write; Relay replaces that step (`install`) with `StreamRecorder`,
which builds the record as DynamoDB builds it (no record for a write that
changes nothing, `ApproximateCreationDateTime` in epoch seconds, images per
`StreamViewType`) and appends it to `<state-dir>/streams/<table>.jsonl` before
the write's answer returns: a change that was acknowledged is in the stream even
after a kill -9. Replaying the journal at start makes no records. In the stack's
process, `StreamLog` holds the records the pollers read: the files at start,
then each new record as the recorder sends it. Records are kept 24 hours, as
DynamoDB keeps them.
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
FIRST_SEQUENCE = 10**20

Record = dict[str, Any]


def sequence_of(record: Record) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def _recent(path: Path, clock: Callable[[], float]) -> list[Record]:
    horizon = clock() - RETENTION_S
    return [
        record
        for record in read_journal(path)
        if record["dynamodb"]["ApproximateCreationDateTime"] >= horizon
    ]


class StreamRecorder:
    """The AWS process's half: builds and journals each change's record."""

    def __init__(
        self,
        folder: Path,
        on_record: Callable[[str, Record], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder
        self.on_record = on_record
        self.clock = clock
        self.capturing = False
        self.tables: dict[str, TableSpec] = {}  # by table name
        self._last: dict[str, int] = {}
        self._journals: dict[str, Journal] = {}
        self._lock = threading.Lock()

    def open(self, tables: list[TableSpec]) -> None:
        """Keep each stream table's last 24 hours and append from there."""
        with self._lock:
            for table in tables:
                if table.stream_view is None or table.name in self.tables:
                    continue
                self.tables[table.name] = table
                kept = _recent(self.folder / f"{table.name}.jsonl", self.clock)
                self._journals[table.name] = rewrite(self.folder / f"{table.name}.jsonl", kept)
                self._last[table.name] = sequence_of(kept[-1]) if kept else FIRST_SEQUENCE

    def capture(
        self,
        table: str,
        keys: dict[str, Any],
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> None:
        """Record one change (from moto's request thread, inside the write)."""
        if not self.capturing or table not in self.tables:
            return
        if old is not None and new is not None and old == new:
            return  # DynamoDB writes no record for a write that changed nothing
        spec = self.tables[table]
        view = spec.stream_view or "KEYS_ONLY"
        with self._lock:
            sequence = self._last[table] + 1
            self._last[table] = sequence
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
            record: Record = {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": change,
                "eventSourceARN": spec.stream_arn,
            }
            self._journals[table].append(record)
        self.on_record(table, record)

    def close(self) -> None:
        with self._lock:
            for journal in self._journals.values():
                journal.close()


class StreamLog:
    """The stack's half: the records of each stream table, in sequence order."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.clock = clock
        self.records: dict[str, list[Record]] = {}
        self.listeners: list[Callable[[str], None]] = []

    def open(self, tables: list[TableSpec]) -> None:
        for table in tables:
            if table.stream_view is not None and table.name not in self.records:
                self.records[table.name] = _recent(self.folder / f"{table.name}.jsonl", self.clock)

    def add(self, table: str, record: Record) -> None:
        records = self.records.setdefault(table, [])
        if records and sequence_of(record) <= sequence_of(records[-1]):
            return  # read from the file already
        records.append(record)
        for listener in self.listeners:
            listener(table)

    def last_sequence(self, table: str) -> int:
        records = self.records.get(table) or []
        return sequence_of(records[-1]) if records else FIRST_SEQUENCE

    def after(self, table: str, sequence: int, limit: int) -> list[Record]:
        """Up to `limit` records of `table` with a sequence number above `sequence`."""
        records = self.records.get(table) or []
        low, high = 0, len(records)
        while low < high:  # the records are in sequence order: bisect
            middle = (low + high) // 2
            if sequence_of(records[middle]) <= sequence:
                low = middle + 1
            else:
                high = middle
        return records[low : low + limit]


_installed: StreamRecorder | None = None


def install(recorder: StreamRecorder) -> None:
    """Route moto's stream step to `recorder` (one per process)."""
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
    _installed = recorder
