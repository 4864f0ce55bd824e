"""Counting clicks exactly once, many batches at a time, at a fraction of a write per click.

The batches of one delivery (up to ten SQS messages, a thousand clicks) are summed
per link and month, each dimension apart (total, day, device, country, referrer),
and written in one transaction with a marker per batch, each on condition that it
is new: a batch delivered again finds its marker. So a click costs its share of
the delivery's writes (the clicks of a link in one delivery are one item's update)
instead of a marker and counters of its own.

When a marker exists, that batch is dropped and the rest written again. A group
too big for one transaction (over 100 items: a marker per batch, an item per link
and month), or one DynamoDB refuses as invalid, is cut in two: a list of batches
by batches, a single batch by `Batch.halves` (its halves are batches with ids
derived from its id, so the same batch is always cut the same way and a
redelivery finds the halves' markers). A single click DynamoDB refuses is set
aside, logged and counted in a metric, and the rest are counted. When another
consumer wrote the same item at the same moment, the transaction is retried
after a short random pause (the storage kit's back-off, CONFLICT_RETRIES times).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from relay.platform.dynamo import Backoff
from relay.shortener.clicks import Batch, Click, country, device_class, referrer_host
from relay.shortener.clicks_table import (
    MAX_TRANSACTION_ITEMS,
    AlreadyCounted,
    ClicksTable,
    Conflict,
    Increments,
    LinkKey,
    MonthKey,
    Referrers,
    Refused,
)
from relay.shortener.rules import CONFLICT_RETRIES, FIRST_PAUSE_S, MAX_PAUSE_S
from relay.shortener.topk import TopK


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


def increments(batches: Sequence[Batch]) -> dict[MonthKey, Increments]:
    """What some batches add, per link and month."""
    result: dict[MonthKey, Increments] = {}
    for batch in batches:
        for click in batch.clicks:
            month, day = (
                datetime.fromtimestamp(click.ts / 1000, tz=UTC).strftime("%Y-%m %d").split()
            )
            adds = result.setdefault(MonthKey(LinkKey(click.code, click.gen), month), Increments())
            adds.total += 1
            for bucket, name in (
                (adds.devices, device_class(click.ua)),
                (adds.countries, country(click.country)),
                (adds.days, day),
                (adds.referrers, referrer_host(click.referer)),
            ):
                bucket[name] = bucket.get(name, 0) + 1
    return result


def _clicks(batches: Sequence[Batch]) -> int:
    return sum(len(batch.clicks) for batch in batches)


class ClickCounter:
    def __init__(
        self,
        store: ClicksTable,
        now_ms: Callable[[], int],
        pause: Callable[[float], None],
        on_set_aside: Callable[[Click, str], None] = lambda click, reason: None,
    ) -> None:
        self._store = store
        self._now_ms = now_ms
        # Waits between conflict retries (`pause`: time.sleep; the tests pass a recorder).
        self._backoff = Backoff(sleep=pause, base_s=FIRST_PAUSE_S, cap_s=MAX_PAUSE_S)
        self._on_set_aside = on_set_aside

    def count(self, batches: Sequence[Batch]) -> Outcome:
        """Count these batches, those counted before excepted; raises what retrying may cure."""
        batches = [batch for batch in batches if batch.clicks]
        if not batches:
            return Outcome()
        adds = increments(batches)
        if len(batches) + len(adds) > MAX_TRANSACTION_ITEMS:
            return self._split(batches)
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._store.add(
                    [batch.id for batch in batches], adds, self._referrers(adds), self._now_ms()
                )
            except AlreadyCounted as counted:
                seen = [batch for batch in batches if batch.id == counted.batch_id]
                rest = [batch for batch in batches if batch.id != counted.batch_id]
                outcome = self.count(rest)
                outcome.seen += _clicks(seen)
                return outcome
            except Conflict:
                if attempt == CONFLICT_RETRIES:
                    raise
                # Another consumer wrote the same item: back off with full jitter, so
                # the writers of a hot link spread out, then read again.
                self._backoff.pause(attempt)
                continue
            except Refused as refusal:
                if len(batches) == 1 and len(batches[0].clicks) == 1:
                    click = batches[0].clicks[0]
                    self._on_set_aside(click, str(refusal))
                    return Outcome(set_aside=[click])
                return self._split(batches)
            return Outcome(counted=_clicks(batches))
        raise AssertionError("unreachable: the loop returns or raises")

    def _referrers(
        self, adds: dict[MonthKey, Increments]
    ) -> dict[MonthKey, tuple[Referrers, TopK]]:
        """Each summary the clicks change, as read and as it becomes."""
        changed = {month: a.hosts for month, a in adds.items() if a.hosts}
        result = {}
        for month, read in self._store.referrers(changed).items():
            top = read.top.copy()
            for host, n in sorted(changed[month].items()):
                top.add(host, n)
            result[month] = (read, top)
        return result

    def _split(self, batches: list[Batch]) -> Outcome:
        if len(batches) == 1:
            halves: tuple[Sequence[Batch], ...] = tuple([half] for half in batches[0].halves())
        else:
            middle = len(batches) // 2
            halves = (batches[:middle], batches[middle:])
        outcome = Outcome()
        for half in halves:
            outcome += self.count(half)
        return outcome
