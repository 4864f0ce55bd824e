"""Counting clicks exactly once, a batch at a time, at a fraction of a write per click.

A batch's clicks are summed per link and dimension (total, device, country, day,
referrer), and written in one transaction with the batch's marker, on condition
that the marker is new: a batch delivered again finds its marker and counts
nothing. So a click costs its share of the batch's writes (a hundred clicks of a
popular link are one increment per counter) instead of a marker of its own.

A batch too big for one transaction (over 100 items, when its clicks spread over
many links), or one that DynamoDB refuses as invalid, is cut in halves that are
batches of their own (`Batch.halves`, with ids derived from its id): the same
batch is always cut the same way, so a redelivery finds the halves' markers. A
single click DynamoDB refuses is set aside, logged and counted in a metric, and
the rest of its batch is counted. When another consumer wrote the same counters
at the same moment, the transaction is retried after a short random pause.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from relay.shortener.click_store import (
    MAX_TRANSACTION_ITEMS,
    AlreadyCounted,
    ClickStore,
    Conflict,
    Increments,
    LinkKey,
    Refused,
)
from relay.shortener.clicks import Batch, Click, country, device_class, referrer_host

CONFLICT_RETRIES = 5


@dataclass
class Outcome:
    counted: int = 0  # clicks added to counters now
    seen: int = 0  # clicks of batches counted before (redeliveries)
    set_aside: list[Click] = field(default_factory=list)

    def __iadd__(self, other: Outcome) -> Outcome:
        self.counted += other.counted
        self.seen += other.seen
        self.set_aside += other.set_aside
        return self


def increments(clicks: tuple[Click, ...]) -> dict[LinkKey, Increments]:
    """What a batch adds, per link."""
    result: dict[LinkKey, Increments] = {}
    for click in clicks:
        adds = result.setdefault(LinkKey(click.code, click.gen), Increments())
        adds.total += 1
        for bucket, key in (
            (adds.devices, device_class(click.ua)),
            (adds.countries, country(click.country)),
            (adds.days, datetime.fromtimestamp(click.ts / 1000, tz=UTC).strftime("%Y-%m-%d")),
            (adds.referrers, referrer_host(click.referer)),
        ):
            bucket[key] = bucket.get(key, 0) + 1
    return result


class ClickCounter:
    def __init__(
        self,
        store: ClickStore,
        now_ms: Callable[[], int],
        pause: Callable[[float], None],
        on_set_aside: Callable[[Click, str], None] = lambda click, reason: None,
    ) -> None:
        self._store = store
        self._now_ms = now_ms
        self._pause = pause  # waits between conflict retries; the tests pass a recorder
        self._on_set_aside = on_set_aside

    def count(self, batch: Batch) -> Outcome:
        if not batch.clicks:
            return Outcome()
        adds = increments(batch.clicks)
        if 1 + sum(a.items() for a in adds.values()) > MAX_TRANSACTION_ITEMS:
            return self._halves(batch)
        for attempt in range(CONFLICT_RETRIES + 1):
            before = self._store.referrers(adds)
            after = {}
            for link, read in before.items():
                top = read.top.copy()
                for host, n in sorted(adds[link].referrers.items()):
                    top.add(host, n)
                after[link] = (read, top)
            try:
                self._store.add(batch.id, adds, after, self._now_ms())
            except AlreadyCounted:
                return Outcome(seen=len(batch.clicks))
            except Conflict:
                if attempt == CONFLICT_RETRIES:
                    raise
                # Another consumer wrote the same link: jitter, then read again.
                self._pause(random.uniform(0.005, 0.02) * (attempt + 1))  # noqa: S311
                continue
            except Refused as refusal:
                if len(batch.clicks) == 1:
                    self._on_set_aside(batch.clicks[0], str(refusal))
                    return Outcome(set_aside=[batch.clicks[0]])
                return self._halves(batch)
            return Outcome(counted=len(batch.clicks))
        raise AssertionError("unreachable: the loop returns or raises")

    def _halves(self, batch: Batch) -> Outcome:
        outcome = Outcome()
        for half in batch.halves():
            outcome += self.count(half)
        return outcome
