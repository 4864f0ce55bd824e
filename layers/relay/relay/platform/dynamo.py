"""The storage kit: the one way Relay's stores reach DynamoDB.

Every store is a thin class over boto3's low-level client, handed its client and
table names (tests pass moto's, the local stack its own); a store of one table starts
from `Table` (its `client` and the table's `name`). What they all need is written
here once:

- `dynamodb_client()`: the deployment's client, made on first use and kept per
  process (never at import: cold start is a feature).
- `s`, `n` and `Item`: DynamoDB's attribute values, spelled the same everywhere.
- `batch_get` and `batch_write`: split a request into DynamoDB's per-call limits
  and retry what DynamoDB left unprocessed, with exponential back-off and full
  jitter, so a throttled table is given room instead of hammered. Bounded: after
  MAX_ROUNDS the caller gets `Unprocessed`, not an endless loop.
- `cancellation_reasons`: the per-item codes of a cancelled transaction, which is
  how every store tells "already done" from "somebody raced us".
- `add_to`: the transaction item that moves a counter, so counts change in the
  same transaction as what they count; `add_counts`, many counters of one item.
- `query_pages`: a Query's items a page at a time, to the last page; and
  `delete_partition`, which deletes every item under one partition key.
- `put_new` and `delete_existing`: the transaction items that create or remove one
  item, refused when it is already there or already gone.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from relay.platform.config import settings

Item = dict[str, Any]

# DynamoDB's own limits per call.
BATCH_GET_MAX = 100
BATCH_WRITE_MAX = 25
# Back-off between rounds of unprocessed keys: full jitter over an exponential ceiling.
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 1.0
# After this many rounds a store gives up; the caller's retry (a queue's redelivery, a
# client's next request) is the better place to wait longer.
MAX_ROUNDS = 10

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"


class Unprocessed(Exception):
    """DynamoDB still left part of a batch unprocessed after MAX_ROUNDS rounds."""


@functools.cache
def dynamodb_client() -> Any:
    import boto3

    conf = settings()
    return boto3.client("dynamodb", region_name=conf.aws_region, endpoint_url=conf.aws_endpoint_url)


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


class Backoff:
    """Pauses between retries: full jitter over BACKOFF_BASE_S * 2^round, capped.

    `sleep` and `jitter` are injected so tests count pauses instead of waiting."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        base_s: float = BACKOFF_BASE_S,
        cap_s: float = BACKOFF_CAP_S,
    ) -> None:
        self._sleep = sleep
        self._jitter = jitter
        self._base_s = base_s
        self._cap_s = cap_s

    def pause(self, attempt: int) -> None:
        """Wait before retry number `attempt` (0 for the first retry)."""
        ceiling = min(self._cap_s, self._base_s * (2**attempt))
        self._sleep(self._jitter(0, ceiling))


DEFAULT_BACKOFF = Backoff()


def _rounds(
    call: Callable[[dict[str, Any]], dict[str, Any]],
    request: dict[str, Any],
    leftover_key: str,
    backoff: Backoff,
) -> None:
    """Call with `request` until DynamoDB leaves nothing unprocessed, backing off between."""
    pending = request
    for attempt in range(MAX_ROUNDS):
        answer = call(pending)
        pending = answer.get(leftover_key) or {}
        if not pending:
            return
        if attempt < MAX_ROUNDS - 1:
            backoff.pause(attempt)
    raise Unprocessed(f"{sum(map(len, pending.values()))} request(s) left unprocessed")


def batch_get(
    client: Any,
    keys: Mapping[str, Iterable[Item]],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> dict[str, list[Item]]:
    """The items found for `keys` (table -> keys), table by table, in calls of at most
    BATCH_GET_MAX keys (tables mixed in one call as long as they fit).

    `options` adds per-table request fields (ProjectionExpression, ConsistentRead,
    ExpressionAttributeNames). Keys nothing matches are simply absent from the answer."""
    found: dict[str, list[Item]] = {table: [] for table in keys}
    queue = [(table, key) for table, table_keys in keys.items() for key in table_keys]

    def call(request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = client.batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        return answer

    for start in range(0, len(queue), BATCH_GET_MAX):
        request: dict[str, Any] = {}
        for table, key in queue[start : start + BATCH_GET_MAX]:
            entry = request.setdefault(table, {**(options or {}).get(table, {}), "Keys": []})
            entry["Keys"].append(key)
        _rounds(call, request, "UnprocessedKeys", backoff)
    return found


def batch_write(
    client: Any,
    table: str,
    *,
    puts: Iterable[Item] = (),
    deletes: Iterable[Item] = (),
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Put `puts` (items) and delete `deletes` (keys) in `table`, BATCH_WRITE_MAX a call."""
    requests = [{"PutRequest": {"Item": item}} for item in puts]
    requests += [{"DeleteRequest": {"Key": key}} for key in deletes]

    def call(request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = client.batch_write_item(RequestItems=request)
        return answer

    for start in range(0, len(requests), BATCH_WRITE_MAX):
        _rounds(
            call, {table: requests[start : start + BATCH_WRITE_MAX]}, "UnprocessedItems", backoff
        )


def is_cancelled(error: ClientError) -> bool:
    """Whether a TransactWriteItems call was cancelled (some item's condition, a conflict)."""
    return bool(error.response.get("Error", {}).get("Code") == "TransactionCanceledException")


def cancellation_reasons(error: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction, in the order of its items ("None"
    for an item that was fine); [] for any other error."""
    if not is_cancelled(error):
        return []
    return [str(r.get("Code") or "None") for r in error.response.get("CancellationReasons") or []]


def cancellation_items(error: ClientError) -> list[Item | None]:
    """The items a cancelled transaction carries back for the items whose condition failed
    (ReturnValuesOnConditionCheckFailure=ALL_OLD), in the order of its items."""
    if not is_cancelled(error):
        return []
    reasons: list[Any] = list(error.response.get("CancellationReasons") or [])
    return [reason.get("Item") for reason in reasons]


def is_condition_failed(error: ClientError) -> bool:
    """Whether a single conditional write (PutItem, UpdateItem, DeleteItem) lost its condition."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def add_to(
    table: str, key: Item, counter: str, delta: int, *, condition: str | None = None
) -> dict[str, Any]:
    """The TransactWriteItems entry that adds `delta` to a counter (made at 0 if absent);
    `condition` (an expression over the item) guards it, as `attribute_exists(pk)` does
    for a counter on something that must still exist."""
    return {"Update": add_counts(table, key, {counter: delta}, condition=condition)}


def add_counts(
    table: str, key: Item, deltas: Mapping[str, int], *, condition: str | None = None
) -> dict[str, Any]:
    """The update (an UpdateItem request, or a TransactWriteItems `Update`) that adds each
    delta to its counter on one item, all at once (each made at 0 if absent): DynamoDB
    lets a transaction touch an item once, so the counters of one item move together.

    Counter names may be anything (they are chosen at run time: a country, a device);
    they travel as `#c0, #c1...`, values as `:c0, :c1...`. A caller may add to the
    expression (`SET ...`), the names and the values."""
    names = sorted(deltas)
    update: dict[str, Any] = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names))),
        "ExpressionAttributeNames": {f"#c{i}": name for i, name in enumerate(names)},
        "ExpressionAttributeValues": {f":c{i}": n(deltas[name]) for i, name in enumerate(names)},
    }
    if condition is not None:
        update["ConditionExpression"] = condition
    return update


def query_pages(client: Any, request: Mapping[str, Any]) -> Iterator[list[Item]]:
    """The items a Query finds, a page (one call) at a time, following LastEvaluatedKey
    until the last page; `request` is the Query's parameters (its `Limit` sizes a page)."""
    page = dict(request)
    while True:
        answer = client.query(**page)
        yield answer["Items"]
        if "LastEvaluatedKey" not in answer:
            return
        page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def scan_pages(client: Any, request: Mapping[str, Any]) -> Iterator[list[Item]]:
    """The items a Scan finds, a page at a time (a rebuild's read of a whole table)."""
    page = dict(request)
    while True:
        answer = client.scan(**page)
        yield answer["Items"]
        if "LastEvaluatedKey" not in answer:
            return
        page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def delete_partition(
    client: Any, table: str, key_name: str, value: dict[str, str], sort_key: str
) -> int:
    """Delete every item of `table` whose partition key `key_name` is `value` (a post's
    likes, say), a page of keys at a time; how many items went."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": key_name, "#sk": sort_key},
        "ExpressionAttributeValues": {":pk": value},
        "ProjectionExpression": "#pk, #sk",
    }
    deleted = 0
    for keys in query_pages(client, request):
        batch_write(client, table, deletes=keys)
        deleted += len(keys)
    return deleted


def put_new(table: str, item: Item, key_name: str) -> dict[str, Any]:
    """The TransactWriteItems entry that puts `item` unless its key is taken (`key_name`:
    one of the table's key attributes); a taken key cancels with ConditionalCheckFailed."""
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#key)",
            "ExpressionAttributeNames": {"#key": key_name},
        }
    }


def delete_existing(table: str, key: Item) -> dict[str, Any]:
    """The TransactWriteItems entry that deletes the item at `key`; when there is none,
    the transaction cancels with ConditionalCheckFailed."""
    return {
        "Delete": {
            "TableName": table,
            "Key": key,
            "ConditionExpression": "attribute_exists(#key)",
            "ExpressionAttributeNames": {"#key": next(iter(key))},
        }
    }


class Table:
    """What every store over one table starts from: its client and the table's name."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
