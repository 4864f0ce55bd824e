"""Append-only JSON-lines journals: what makes local state survive a kill -9.

Each record is written and flushed to the kernel before the call that made it
returns (the kernel keeps it when the process dies); a torn last line, from a
crash in the middle of a write, is skipped on reading. `rewrite` replaces a
journal with its compacted form atomically.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


class Journal:
    """An append-only JSON-lines file; each record is flushed before `append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a journal; a torn last line (a crash mid-write) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


def rewrite(path: Path, records: Iterable[dict[str, Any]]) -> Journal:
    """Replace the journal at `path` with `records`, atomically; returns it open for appends."""
    fresh = path.with_suffix(path.suffix + ".new")
    fresh.unlink(missing_ok=True)
    journal = Journal(fresh)
    for record in records:
        journal.append(record)
    journal.close()
    os.replace(fresh, path)
    return Journal(path)
