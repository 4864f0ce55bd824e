"""Click analytics: counting each click exactly once, and reading a link's summary.

The clicks table holds one counter item per (link, dimension value): `TOTAL`,
`DAY#2026-11-25`, `REF#news.example`, `CTRY#DE`, `DEV#mobile`, so reading a link's
analytics is one query on its partition. A link is its code *and* its generation
(its creation time): a code deleted and later claimed by someone else starts from
zero, and never shows the previous owner's clicks.

Counting is idempotent per click: each click's marker item (`SEEN#<click id>`) is
written, on condition that it is new, in the same transaction as the counters it
adds to. When some clicks of a chunk were counted before (a redelivered message, a
retried or regrouped log delivery), the transaction names them, and the chunk is
counted again without them.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from relay.platform.config import settings
from relay.shortener.clicks import Click, country, device_class, referrer_host

_conf = settings()

# DynamoDB allows 100 items a transaction: one marker per click plus the counters.
MAX_ITEMS = 100
MARKER_TTL_S = 14 * 86_400  # longer than any SQS retention, so a redelivery always finds it
CONFLICT_RETRIES = 3


def counters_key(code: str, generation: int) -> str:
    return f"LINK#{code}#{generation}"


def marker_key(click_id: str) -> str:
    return f"SEEN#{click_id}"


class _Table:
    table_name = _conf.clicks_table
    region = _conf.aws_region
    host = _conf.aws_endpoint_url


class CounterItem(Model):
    class Meta(_Table):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    clicks = NumberAttribute(default=0)


class MarkerItem(Model):
    class Meta(_Table):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ttl = NumberAttribute()


def dimensions(click: Click) -> list[str]:
    day = datetime.fromtimestamp(click.ts / 1000, tz=UTC).strftime("%Y-%m-%d")
    return [
        "TOTAL",
        f"DAY#{day}",
        f"REF#{referrer_host(click.referer)}",
        f"CTRY#{country(click.country)}",
        f"DEV#{device_class(click.ua)}",
    ]


@dataclass
class Chunk:
    clicks: list[Click] = field(default_factory=list)
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, click: Click, keys: list[tuple[str, str]]) -> None:
        self.clicks.append(click)
        self.counters.update(keys)

    def items(self) -> int:
        return len(self.clicks) + len(self.counters)


def _keys(click: Click) -> list[tuple[str, str]]:
    return [(counters_key(click.code, click.gen), sk) for sk in dimensions(click)]


def chunks(clicks: list[Click]) -> list[Chunk]:
    """Cut clicks, in order and each once, into chunks that fit one transaction."""
    result = [Chunk()]
    seen: set[str] = set()
    for click in clicks:
        if click.id in seen:
            continue
        seen.add(click.id)
        keys = _keys(click)
        current = result[-1]
        if current.items() + 1 + sum(key not in current.counters for key in keys) > MAX_ITEMS:
            current = Chunk()
            result.append(current)
        current.add(click, keys)
    return [chunk for chunk in result if chunk.clicks]


class ClickCounter:
    def __init__(self) -> None:
        self._connection = Connection(region=_conf.aws_region, host=_conf.aws_endpoint_url)

    def count(self, clicks: list[Click], now_ms: int) -> int:
        """Add clicks to their counters; returns how many were new (not counted before)."""
        return sum(self._count_chunk(chunk, now_ms) for chunk in chunks(clicks))

    def _count_chunk(self, chunk: Chunk, now_ms: int) -> int:
        conflicts = 0
        while chunk.clicks:
            try:
                self._write(chunk, now_ms)
                return len(chunk.clicks)
            except TransactWriteError as error:
                reasons = [r.code if r else None for r in error.cancellation_reasons]
                counted = {
                    click.id
                    for click, reason in zip(chunk.clicks, reasons, strict=False)
                    if reason == "ConditionalCheckFailed"
                }
                if counted:
                    chunk = _without(chunk, counted)
                elif "TransactionConflict" in reasons and conflicts < CONFLICT_RETRIES:
                    # Another consumer was adding to the same hot counter.
                    conflicts += 1
                    time.sleep(random.uniform(0.01, 0.05) * conflicts)  # noqa: S311 - jitter
                else:
                    raise
        return 0

    def _write(self, chunk: Chunk, now_ms: int) -> None:
        expires = now_ms // 1000 + MARKER_TTL_S
        with TransactWrite(connection=self._connection) as tx:
            for click in chunk.clicks:  # markers first: their positions name the clicks
                marker = MarkerItem(marker_key(click.id), "-", ttl=expires)
                tx.save(marker, condition=MarkerItem.pk.does_not_exist())
            for (pk, sk), n in chunk.counters.items():
                tx.update(CounterItem(pk, sk), actions=[CounterItem.clicks.add(n)])


def _without(chunk: Chunk, counted: set[str]) -> Chunk:
    rest = Chunk()
    for click in chunk.clicks:
        if click.id not in counted:
            rest.add(click, _keys(click))
    return rest


@dataclass(frozen=True)
class Summary:
    clicks: int
    referrers: dict[str, int]
    countries: dict[str, int]
    daily: dict[str, int]
    devices: dict[str, int]


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def summary(code: str, generation: int) -> Summary:
    groups: dict[str, dict[str, int]] = {"REF": {}, "CTRY": {}, "DAY": {}, "DEV": {}}
    total = 0
    for item in CounterItem.query(counters_key(code, generation)):
        kind, _, value = item.sk.partition("#")
        if kind == "TOTAL":
            total = int(item.clicks)
        elif kind in groups:
            groups[kind][value] = int(item.clicks)
    return Summary(
        clicks=total,
        referrers=_ranked(groups["REF"]),
        countries=_ranked(groups["CTRY"]),
        daily=dict(sorted(groups["DAY"].items())),
        devices=_ranked(groups["DEV"]),
    )
