"""Keeping moto cheap where the local stack leans on it, without changing what it answers.

Each patch replaces a step whose cost real AWS does not have, found by profiling
local AWS under load (docs/performance.md):
- DynamoDB transactions: moto backed up a table before a TransactWriteItems by
  deep-copying all of it, once per item; now copying a table yields the table, and
  Relay keeps an undo record of just the items the transaction names, put back as
  they were when moto cancels it.
- The clock: moto asked for the time with an import and two datetimes per call,
  several times per SQS message per call (`_fast_clock`).
- SQS receives checked each message's retention by computing every attribute of
  its queue, a pass over all its messages (`_sqs_retention`).
- Dispatch: moto found each request's service from scratch, under a lock
  (`ServiceDispatch`).
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


def _fast_clock() -> None:
    """moto's clock functions, without an import statement and two datetimes per call.

    moto asks the time for every SQS message it looks at (is it visible? delayed?),
    several times per message per call, and each ask ran `from datetime import UTC`
    and built naive datetimes to subtract: a fifth of local AWS's CPU under the click
    pipeline. Same values, from `time.time()`. Must run before moto's services are
    imported, since they import these functions by name."""
    import datetime
    import time

    from moto.core import utils

    epoch = datetime.datetime(1970, 1, 1)
    utc = datetime.UTC

    def utcnow() -> datetime.datetime:
        return datetime.datetime.now(utc).replace(tzinfo=None)

    def unix_time(dt: datetime.datetime | None = None) -> float:
        if dt is None:
            return time.time()
        return (dt - epoch).total_seconds()

    def unix_time_millis(dt: datetime.datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    utils.utcnow = utcnow
    utils.unix_time = unix_time
    utils.unix_time_millis = unix_time_millis


def _sqs_retention() -> None:
    """Reading one attribute of a queue without computing all of them.

    moto checked each received message's retention by building every attribute of
    its queue, the approximate counts included (a pass over all its messages): a
    receive was quadratic in the queue's depth."""
    import time

    from moto.sqs.models import SQSBackend

    def valid(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > time.time())

    SQSBackend.is_message_valid_based_on_retention_period = valid  # type: ignore[method-assign]


def install() -> None:
    """Patch moto once per process (the local stack's moto only)."""
    global _installed
    with _lock:
        if _installed:
            return
        _fast_clock()
        _sqs_retention()
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


# Services whose requests the local stack routes straight to moto's app for them.
_DIRECT = frozenset(
    {"dynamodb", "sqs", "sns", "s3", "secretsmanager", "dynamodbstreams", "sts", "cognito-idp"}
)
_TARGET_SERVICES = (
    ("DynamoDB_20120810.", "dynamodb"),
    ("AmazonSQS.", "sqs"),
    ("secretsmanager.", "secretsmanager"),
    ("DynamoDBStreams_20120810.", "dynamodbstreams"),
    ("AWSCognitoIdentityProviderService.", "cognito-idp"),
)


class ServiceDispatch:
    """Sends each request to moto's app for its service without moto's own dispatcher.

    moto's dispatcher works out the service of every request from scratch, under a
    lock, listing its own package directory on the way; at a few thousand local AWS
    calls a second (the click pipeline under load) that was a fifth of the stack's CPU.
    The service is in the request already: the JSON protocol's target, or the
    signature's credential scope. Anything else still goes through moto's dispatcher.
    """

    def __init__(self, fallback: Any, create_app: Any) -> None:
        self.fallback = fallback
        self.create_app = create_app
        self.apps: dict[str, Any] = {}
        self._lock = threading.Lock()

    def service(self, environ: dict[str, Any]) -> str | None:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            for prefix, service in _TARGET_SERVICES:
                if target.startswith(prefix):
                    return service
            return None
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        start = authorization.find("Credential=")
        if start >= 0:
            scope = authorization[start:].split(",", 1)[0].split("/")
            if len(scope) >= 5 and scope[3] in _DIRECT:
                return str(scope[3])
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        service = self.service(environ)
        if service is None:
            return self.fallback(environ, start_response)
        app = self.apps.get(service)
        if app is None:
            with self._lock:
                app = self.apps.get(service) or self.create_app(service)
                self.apps[service] = app
        return app(environ, start_response)
