"""A link's analytics, as DESIGN shapes them: totals by day, referrer, country and device.

One bounded read of the link's partition (clicks_table), then the shaping:
referrers and countries are the top TOP plus `other`, and `other` is what the
top leave of the total, so each sums to `clicks`; days are the last DAYS
(relay.shortener.rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relay.platform.clock import Clock
from relay.shortener.clicks import DIRECT
from relay.shortener.clicks_table import ClicksTable, Counters, LinkKey
from relay.shortener.links import Links
from relay.shortener.models import Link
from relay.shortener.rules import DAYS, TOP


@dataclass(frozen=True)
class Summary:
    """A link's analytics, as DESIGN shapes them."""

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


def summary(clicks: ClicksTable, code: str, generation: int, now_ms: int) -> Summary:
    counters = clicks.read(LinkKey(code, generation))
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
    first_day = (today - timedelta(days=DAYS - 1)).isoformat()
    return Summary(
        clicks=counters.total,
        referrers=_with_other(_referrers(counters), counters.total),
        countries=_with_other(_ranked(counters.countries), counters.total),
        daily=dict(sorted((d, n) for d, n in counters.days.items() if d >= first_day)),
        devices=dict(_ranked(counters.devices)),
    )


class Analytics:
    """GET /api/analytics/{code}: a link's summary, for whoever may read it."""

    def __init__(self, links: Links, clicks: ClicksTable, clock: Clock) -> None:
        self._links = links
        self._clicks = clicks
        self._clock = clock

    def of(self, code: str, user_id: str | None) -> tuple[Link, Summary]:
        """The link and its summary; anonymous links are public, owned ones their owner's."""
        link = self._links.readable(code, user_id)
        return link, summary(self._clicks, link.code, link.created_ms, self._clock.now_ms())
