"""A link's analytics, as DESIGN shapes them: totals by day, referrer, country and device.

One bounded read of the link's partition (click_store), then the shaping:
referrers and countries are the top 20 plus `other`, and `other` is what the
top 20 leave of the total, so each sums to `clicks`; days are the last year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relay.shortener.click_store import ClickStore, Counters, LinkKey
from relay.shortener.clicks import DIRECT

TOP = 20
DAYS = 366


@dataclass(frozen=True)
class Summary:
    clicks: int
    referrers: dict[str, int]
    countries: dict[str, int]
    daily: dict[str, int]
    devices: dict[str, int]


def _with_other(ranked: list[tuple[str, int]], total: int) -> dict[str, int]:
    shown = dict(ranked[:TOP])
    rest = total - sum(shown.values())
    if rest > 0:
        shown["other"] = shown.get("other", 0) + rest
    return shown


def _ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _referrers(counters: Counters) -> list[tuple[str, int]]:
    """The top hosts, and the direct visits counted apart from them, ranked together."""
    counts = dict(counters.referrers)
    if counters.direct:
        counts[DIRECT] = counters.direct
    return _ranked(counts)


def summary(store: ClickStore, code: str, generation: int, now_ms: int) -> Summary:
    counters = store.read(LinkKey(code, generation))
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
    first_day = (today - timedelta(days=DAYS - 1)).isoformat()
    return Summary(
        clicks=counters.total,
        referrers=_with_other(_referrers(counters), counters.total),
        countries=_with_other(_ranked(counters.countries), counters.total),
        daily=dict(sorted((d, n) for d, n in counters.days.items() if d >= first_day)),
        devices=dict(_ranked(counters.devices)),
    )
