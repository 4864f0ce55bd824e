"""The top referrers of a link in bounded space: the Space-Saving summary (Metwally,
Agrawal and El Abbadi, 2005).

At most CAPACITY hosts (rules.TOPK_CAPACITY) are tracked. A host already tracked adds
to its count; a new host takes a free slot, or else the slot of the host with the
smallest count, starting from that count (which becomes its `error`, the most it may
be overcounted by). Any host with more than total / CAPACITY clicks is guaranteed a
slot, so spraying random referrers cannot hide a real top referrer; what a host is
shown with is its guaranteed count (`count - error`), never more than it had, so the
top referrers plus `other` still sum to the total. docs/decisions.md has the reasoning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from relay.shortener.rules import TOPK_CAPACITY as CAPACITY


@dataclass
class TopK:
    # host -> [count, error]
    entries: dict[str, list[int]] = field(default_factory=dict)
    capacity: int = CAPACITY

    def add(self, host: str, count: int) -> None:
        if host in self.entries:
            self.entries[host][0] += count
            return
        if len(self.entries) < self.capacity:
            self.entries[host] = [count, 0]
            return
        smallest = min(self.entries, key=lambda h: (self.entries[h][0], h))
        floor = self.entries.pop(smallest)[0]
        self.entries[host] = [floor + count, floor]

    def top(self, n: int) -> list[tuple[str, int]]:
        """The `n` hosts with the most clicks, each with its guaranteed count."""
        ranked = sorted(
            ((host, count - error) for host, (count, error) in self.entries.items()),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return [(host, count) for host, count in ranked[:n] if count > 0]

    def guaranteed(self) -> dict[str, int]:
        """Every tracked host with its guaranteed count."""
        return dict(self.top(len(self.entries)))

    def dumps(self) -> str:
        return json.dumps(self.entries, separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> TopK:
        entries = json.loads(text) if text else {}
        return cls({str(host): [int(c), int(e)] for host, (c, e) in entries.items()})

    def copy(self) -> TopK:
        return TopK({host: list(pair) for host, pair in self.entries.items()}, self.capacity)
