"""The clicks table: a link's counters, one item a month, and batch markers.

The only module that knows the table's keys and attribute names. A link's
partition is `LINK#<code>#<generation>` (a code deleted and claimed again starts
from zero); it holds one item per month with clicks, `MONTH#<yyyy-mm>`, so a
link's analytics are one query over at most a few dozen small items, and the
clicks of one link in one delivery are one write:
- `clicks`, and one number per day of the month (`t_<dd>`), device class
  (`d_<class>`), country (`c_<XX>`) and the direct visits (`r_direct`), all added
  in one update;
- `refs`, the month's top referrer hosts (`TopK`), rewritten only by a write
  that brings some, on condition that nobody rewrote it since it was read
  (`version`).

A batch that was counted leaves `BATCH#<id>`, written in the same transaction as
its counters on condition that it is new: that is what makes counting
exactly-once. Markers expire after MARKER_TTL_S, longer than any message lives.

A thin store over boto3's low-level client (relay.platform.dynamo): counter names
are chosen at run time (a device class, a country), which DynamoDB's own API takes
as they come.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from relay.platform.dynamo import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    Item,
    Table,
    add_counts,
    batch_get,
    cancellation_reasons,
    n,
    put_new,
    query_pages,
    s,
)
from relay.shortener.clicks import DIRECT
from relay.shortener.rules import MARKER_TTL_S
from relay.shortener.topk import TopK

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit


@dataclass(frozen=True, order=True)
class LinkKey:
    """Whose clicks: a code and its generation (a code deleted and claimed again starts
    from zero)."""

    code: str
    generation: int


@dataclass(frozen=True, order=True)
class MonthKey:
    """One link's clicks in one month (`yyyy-mm`, UTC): one item of the table."""

    link: LinkKey
    month: str


@dataclass
class Increments:
    """What some clicks add to one link's month."""

    total: int = 0
    devices: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)  # day of the month, "01".."31"
    referrers: dict[str, int] = field(default_factory=dict)  # host (or DIRECT) -> clicks

    @property
    def hosts(self) -> dict[str, int]:
        return {host: count for host, count in self.referrers.items() if host != DIRECT}


@dataclass(frozen=True)
class Referrers:
    """A month's referrer summary as read, with the version a write must find."""

    top: TopK
    version: int


@dataclass(frozen=True)
class Counters:
    """Everything a link's partition holds, months added together."""

    total: int
    devices: dict[str, int]
    countries: dict[str, int]
    days: dict[str, int]  # yyyy-mm-dd -> clicks
    direct: int
    referrers: dict[str, int]  # host -> guaranteed clicks, from each month's summary


class Conflict(Exception):
    """Another writer changed what this write depends on; read again and retry."""


class AlreadyCounted(Exception):
    """A batch's marker exists: that batch was counted before."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(batch_id)
        self.batch_id = batch_id


class Refused(Exception):
    """DynamoDB refused the write as invalid (ValidationException): retrying cannot help."""


def link_partition(link: LinkKey) -> str:
    return f"LINK#{link.code}#{link.generation}"


def _key(month: MonthKey) -> Item:
    return {"pk": s(link_partition(month.link)), "sk": s(f"MONTH#{month.month}")}


def _add(into: dict[str, int], name: str, count: int) -> None:
    into[name] = into.get(name, 0) + count


class ClicksTable(Table):
    """The clicks table, handed its client and name (tests pass moto's, the local stack its own)."""

    def referrers(self, months: Iterable[MonthKey]) -> dict[MonthKey, Referrers]:
        """The referrer summaries of these months, read consistently (a write follows)."""
        wanted = {(link_partition(m.link), f"MONTH#{m.month}"): m for m in months}
        found = {month: Referrers(TopK(), 0) for month in wanted.values()}
        items = batch_get(
            self.client,
            {self.name: [_key(month) for month in wanted.values()]},
            options={
                self.name: {
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, sk, refs, version",
                }
            },
        )
        for item in items[self.name]:
            top = TopK.loads(item.get("refs", {}).get("S", ""))
            version = int(item.get("version", {}).get("N", "0"))
            found[wanted[item["pk"]["S"], item["sk"]["S"]]] = Referrers(top, version)
        return found

    def add(
        self,
        batch_ids: list[str],
        increments: Mapping[MonthKey, Increments],
        referrers: Mapping[MonthKey, tuple[Referrers, TopK]],
        now_ms: int,
    ) -> None:
        """Write the batches' markers and their counters in one transaction: one item
        per batch, and one per link and month.

        `referrers` holds, for each month whose clicks name referrer hosts, its summary
        as read and as it should become: the write finds the version it read, or it
        raises Conflict. AlreadyCounted names a batch whose marker exists."""
        expires = n(now_ms // 1000 + MARKER_TTL_S)
        items: list[dict[str, Any]] = [
            put_new(self.name, {"pk": s(f"BATCH#{batch_id}"), "sk": s("-"), "ttl": expires}, "pk")
            for batch_id in batch_ids
        ]
        for month, adds in sorted(increments.items()):
            items.append({"Update": self._update(month, adds, referrers.get(month))})
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            raise _translated(error, batch_ids) from error

    def _update(
        self, month: MonthKey, adds: Increments, refs: tuple[Referrers, TopK] | None
    ) -> dict[str, Any]:
        counters = {"clicks": adds.total}
        counters.update({f"t_{day}": count for day, count in adds.days.items()})
        counters.update({f"d_{name}": count for name, count in adds.devices.items()})
        counters.update({f"c_{name}": count for name, count in adds.countries.items()})
        if adds.referrers.get(DIRECT):
            counters["r_direct"] = adds.referrers[DIRECT]
        update = add_counts(self.name, _key(month), counters)
        if refs is not None:
            before, after = refs
            values = update["ExpressionAttributeValues"]
            update["UpdateExpression"] += " SET refs = :refs, version = :next"
            values[":refs"] = s(after.dumps())
            values[":next"] = n(before.version + 1)
            if before.version == 0:
                update["ConditionExpression"] = "attribute_not_exists(version)"
            else:
                update["ConditionExpression"] = "version = :read"
                values[":read"] = n(before.version)
        return update

    def read(self, link: LinkKey) -> Counters:
        """A link's whole partition, months added together: one query over a bounded
        set of items (one a month of the link's life)."""
        total = direct = 0
        devices: dict[str, int] = {}
        countries: dict[str, int] = {}
        days: dict[str, int] = {}
        referrers: dict[str, int] = {}
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": s(link_partition(link))},
        }
        for page in query_pages(self.client, request):
            for item in page:
                month = item["sk"]["S"].removeprefix("MONTH#")
                for name, value in item.items():
                    if name == "clicks":
                        total += int(value["N"])
                    elif name == "r_direct":
                        direct += int(value["N"])
                    elif name.startswith("t_"):
                        _add(days, f"{month}-{name[2:]}", int(value["N"]))
                    elif name.startswith("d_"):
                        _add(devices, name[2:], int(value["N"]))
                    elif name.startswith("c_"):
                        _add(countries, name[2:], int(value["N"]))
                    elif name == "refs":
                        for host, count in TopK.loads(value["S"]).guaranteed().items():
                            _add(referrers, host, count)
        return Counters(total, devices, countries, days, direct, referrers)


def _translated(error: ClientError, batch_ids: list[str]) -> Exception:
    """What a failed transaction means: a batch counted before (its marker's condition
    failed), a conflict worth another read and try, or a write DynamoDB refuses."""
    if error.response.get("Error", {}).get("Code") == "ValidationException":
        return Refused(str(error))
    reasons = cancellation_reasons(error)
    if not reasons:
        return error
    for batch_id, reason in zip(batch_ids, reasons, strict=False):
        if reason == CONDITION_FAILED:
            return AlreadyCounted(batch_id)
    if CONDITION_FAILED in reasons or TRANSACTION_CONFLICT in reasons:
        return Conflict()
    if "ValidationError" in reasons:
        return Refused(str(error))
    return error
