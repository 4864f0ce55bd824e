"""The clicks table: counters per link, the referrer summary, and batch markers.

The only module that knows the table's keys. A link's partition is
`LINK#<code>#<generation>` (a code deleted and claimed again starts from zero),
holding a bounded set of items, so reading a link's analytics is one query:
`TOTAL`; `DEV#<class>` (five classes); `CTRY#<XX>` (two letters); `DAY#<date>`
(kept a year, by TTL); and `REFS`, one item with the top referrers (`TopK`). A
batch that was counted leaves `BATCH#<id>`, written in the same transaction as
its counters, on condition that it is new: that is what makes counting
exactly-once. Markers expire after two weeks, longer than any message lives.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from relay.shortener.topk import TopK

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit
MARKER_TTL_S = 14 * 86_400  # longer than any SQS retention: a redelivery always finds it
DAY_TTL_S = 400 * 86_400  # a year of daily counts, and a little slack


@dataclass(frozen=True)
class LinkKey:
    code: str
    generation: int


@dataclass
class Increments:
    """What one batch adds to one link's counters."""

    total: int = 0
    devices: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    referrers: dict[str, int] = field(default_factory=dict)

    def items(self) -> int:
        """How many table items adding it writes (the referrers are one item)."""
        return 1 + len(self.devices) + len(self.countries) + len(self.days) + 1


@dataclass(frozen=True)
class Referrers:
    """A link's referrer summary as read, with the version a write must find."""

    top: TopK
    version: int


@dataclass(frozen=True)
class Counters:
    """Everything a link's partition holds, as read."""

    total: int
    devices: dict[str, int]
    countries: dict[str, int]
    days: dict[str, int]
    referrers: TopK


class Conflict(Exception):
    """Another writer changed what this write depends on; read again and retry."""


class AlreadyCounted(Exception):
    """The batch's marker exists: it was counted before."""


class Refused(Exception):
    """DynamoDB refused the write as invalid (ValidationException): retrying cannot help."""


def link_partition(link: LinkKey) -> str:
    return f"LINK#{link.code}#{link.generation}"


@functools.cache
def _model(table: str, region_name: str, host_url: str | None) -> type[Model]:
    """The table's item model, bound to one table (a store is built with its table)."""

    class TableMeta:
        table_name = table
        region = region_name
        host = host_url

    class ClickItem(Model):
        Meta = TableMeta  # type: ignore[assignment]
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        clicks = NumberAttribute(null=True)  # counters
        ttl = NumberAttribute(null=True)  # day counters and batch markers
        entries = UnicodeAttribute(null=True)  # REFS: the TopK, as JSON
        version = NumberAttribute(null=True)  # REFS: optimistic concurrency

    return ClickItem


class ClickStore:
    def __init__(self, table: str, region: str, host: str | None = None) -> None:
        self._item: Any = _model(table, region, host)
        self._connection = Connection(region=region, host=host)

    @classmethod
    def from_settings(cls) -> ClickStore:
        """The deployment's clicks table, as the template names it."""
        from relay.platform.config import settings

        conf = settings()
        return cls(conf.clicks_table, conf.aws_region, conf.aws_endpoint_url)

    def referrers(self, links: Iterable[LinkKey]) -> dict[LinkKey, Referrers]:
        """The referrer summaries of these links, read consistently (a write follows)."""
        wanted = list(links)
        found: dict[LinkKey, Referrers] = {link: Referrers(TopK(), 0) for link in wanted}
        keys = {link_partition(link): link for link in wanted}
        for item in self._item.batch_get([(pk, "REFS") for pk in keys], consistent_read=True):
            found[keys[item.pk]] = Referrers(TopK.loads(item.entries or "{}"), int(item.version))
        return found

    def add(
        self,
        batch_id: str,
        increments: Mapping[LinkKey, Increments],
        referrers: Mapping[LinkKey, tuple[Referrers, TopK]],
        now_ms: int,
    ) -> None:
        """Write a batch's marker and counters in one transaction.

        `referrers` holds each link's summary as read and as it should become: the write
        finds the version it read, or it raises Conflict."""
        now_s = now_ms // 1000
        item = self._item
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(
                    item(f"BATCH#{batch_id}", "-", ttl=now_s + MARKER_TTL_S),
                    condition=item.pk.does_not_exist(),
                )
                for link, adds in increments.items():
                    pk = link_partition(link)
                    for sk, n, ttl in _counters(adds, now_s):
                        actions = [item.clicks.add(n)]
                        if ttl is not None:
                            actions.append(item.ttl.set(ttl))
                        tx.update(item(pk, sk), actions=actions)
                for link, (before, after) in referrers.items():
                    written = item(
                        link_partition(link),
                        "REFS",
                        entries=after.dumps(),
                        version=before.version + 1,
                    )
                    condition = (
                        item.pk.does_not_exist()
                        if before.version == 0
                        else item.version == before.version
                    )
                    tx.save(written, condition=condition)
        except TransactWriteError as error:
            raise _translated(error) from error

    def read(self, link: LinkKey) -> Counters:
        """A link's whole partition: one query over a bounded set of items."""
        total = 0
        groups: dict[str, dict[str, int]] = {"DEV": {}, "CTRY": {}, "DAY": {}}
        top = TopK()
        for item in self._item.query(link_partition(link)):
            kind, _, value = str(item.sk).partition("#")
            if kind == "TOTAL":
                total = int(item.clicks or 0)
            elif kind == "REFS":
                top = TopK.loads(item.entries or "{}")
            elif kind in groups:
                groups[kind][value] = int(item.clicks or 0)
        return Counters(total, groups["DEV"], groups["CTRY"], groups["DAY"], top)


def _counters(adds: Increments, now_s: int) -> list[tuple[str, int, int | None]]:
    rows: list[tuple[str, int, int | None]] = [("TOTAL", adds.total, None)]
    rows += [(f"DEV#{name}", n, None) for name, n in sorted(adds.devices.items())]
    rows += [(f"CTRY#{name}", n, None) for name, n in sorted(adds.countries.items())]
    rows += [(f"DAY#{day}", n, now_s + DAY_TTL_S) for day, n in sorted(adds.days.items())]
    return rows


def _translated(error: TransactWriteError) -> Exception:
    reasons = [reason.code if reason else None for reason in error.cancellation_reasons or []]
    if reasons and reasons[0] == "ConditionalCheckFailed":
        return AlreadyCounted()
    if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
        return Conflict()
    if error.cause_response_code == "ValidationException" or "ValidationError" in reasons:
        return Refused(str(error))
    return error
