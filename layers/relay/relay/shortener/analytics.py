"""Click analytics: counting each click exactly once, and reading a link's summary.

The clicks table holds one counter item per (link, dimension value): `TOTAL`,
`DAY#2026-11-25`, `REF#news.example`, `CTRY#DE`, `DEV#mobile`, so reading a link's
analytics is one query on its partition. Counting is idempotent: the clicks of a
message are cut into chunks deterministically, and each chunk's counters are added
in one transaction with a marker item named after the chunk's click ids. A
redelivered message finds its markers and adds nothing.
"""

from __future__ import annotations

import hashlib
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

# DynamoDB allows 100 items a transaction; one is the marker.
MAX_COUNTERS = 99
MARKER_TTL_S = 14 * 86_400  # longer than any SQS retention, so a redelivery always finds it


def counters_key(code: str) -> str:
    return f"LINK#{code}"


def marker_key(click_ids: list[str]) -> str:
    return "SEEN#" + hashlib.sha256("\n".join(click_ids).encode()).hexdigest()


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
    click_ids: list[str] = field(default_factory=list)
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)


def chunks(clicks: list[Click]) -> list[Chunk]:
    """Cut clicks, in order, into chunks whose counters fit one transaction."""
    result = [Chunk()]
    for click in clicks:
        keys = [(counters_key(click.code), sk) for sk in dimensions(click)]
        current = result[-1]
        if len(set(current.counters) | set(keys)) > MAX_COUNTERS:
            current = Chunk()
            result.append(current)
        current.click_ids.append(click.id)
        current.counters.update(keys)
    return [chunk for chunk in result if chunk.click_ids]


class ClickCounter:
    def __init__(self) -> None:
        self._connection = Connection(region=_conf.aws_region, host=_conf.aws_endpoint_url)

    def count(self, clicks: list[Click], now_ms: int) -> int:
        """Add clicks to their counters; returns how many were new (not seen before)."""
        new = 0
        for chunk in chunks(clicks):
            marker = MarkerItem(marker_key(chunk.click_ids), "-", ttl=now_ms // 1000 + MARKER_TTL_S)
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.save(marker, condition=MarkerItem.pk.does_not_exist())
                    for (pk, sk), n in chunk.counters.items():
                        tx.update(CounterItem(pk, sk), actions=[CounterItem.clicks.add(n)])
            except TransactWriteError as error:
                reasons = error.cancellation_reasons
                if (
                    reasons
                    and reasons[0] is not None
                    and reasons[0].code == "ConditionalCheckFailed"
                ):
                    continue  # counted on an earlier delivery
                raise
            new += len(chunk.click_ids)
        return new


@dataclass(frozen=True)
class Summary:
    clicks: int
    referrers: dict[str, int]
    countries: dict[str, int]
    daily: dict[str, int]
    devices: dict[str, int]


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def summary(code: str) -> Summary:
    groups: dict[str, dict[str, int]] = {"REF": {}, "CTRY": {}, "DAY": {}, "DEV": {}}
    total = 0
    for item in CounterItem.query(counters_key(code)):
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
