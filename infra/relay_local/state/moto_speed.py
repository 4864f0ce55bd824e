"""Keeping moto's DynamoDB transactions cheap as the local tables grow.

moto backs up a table before a TransactWriteItems by deep-copying all of it, once
per item of the transaction. With one marker item per counted click, the clicks
table grows with every click, and a 100-item transaction over a table of ten
thousand items took seconds, starving the whole local stack (moto shares its
process). Real DynamoDB has no such cost, so the emulator should not either.

The fix keeps moto's transaction logic and replaces only its backup: during a
transaction, copying a table yields the table itself, and Relay keeps its own
undo record of just the items the transaction names. When moto cancels the
transaction, those items are put back as they were.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

_installed = False
_lock = threading.Lock()


class _TablesAsIs:
    """Stands in for the `copy` module inside moto's DynamoDB models during a transaction."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _key_of(backend: Any, item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    _, operation = next(iter(item.items()))
    table_name = operation.get("TableName")
    if table_name not in backend.tables:
        return None
    if "Key" in operation:
        return table_name, operation["Key"]
    table = backend.tables[table_name]
    attrs = operation.get("Item", {})
    key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs.get(table.range_key_attr)
    if any(value is None for value in key.values()):
        return None  # moto will refuse the item itself
    return table_name, key


def install() -> None:
    """Patch moto's DynamoDB backend once per process (the local stack's moto only)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table

        original = models.DynamoDBBackend.transact_write_items
        tables_as_is = _TablesAsIs(Table)

        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            keys = [k for item in transact_items if (k := _key_of(self, item)) is not None]
            before = []
            for table_name, key in keys:
                current = self.get_item(table_name, key)
                before.append(
                    (table_name, key, None if current is None else current.to_json()["Attributes"])
                )
            models.copy = tables_as_is  # type: ignore[attr-defined,assignment]
            try:
                original(self, transact_items)
            except Exception:
                for table_name, key, attrs in reversed(before):
                    if attrs is None:
                        if self.get_item(table_name, key) is not None:
                            self.delete_item(table_name, key)
                    else:
                        self.put_item(table_name, attrs)
                raise
            finally:
                models.copy = copy  # type: ignore[attr-defined]

        models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _installed = True
