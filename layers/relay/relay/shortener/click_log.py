"""The click log: how the redirect records a click, as one line on its own log.

The redirect must not wait on the network to record a click, and must not lose one.
So it writes a JSON line to its log (microseconds, no round trip); CloudWatch Logs
keeps it and a subscription filter hands it to ClickShipper, which packs lines into
batches on the click queue; ClickConsumer counts each batch once (clicks.py,
counting.py). The figures behind this choice are in docs/decisions.md.

The hot path does no parsing: it logs the raw values, each cut to MAX_HEADER, and
the consumer works out the rest. This module is on the redirect's hot path, so it
imports next to nothing.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable

from relay.shortener.rules import MAX_HEADER

KIND = "click"
CACHE_ANSWERS = frozenset({"hit", "miss", "down", ""})


def _stdout(line: str) -> None:
    # Looked up per call: Lambda's runtime (and the local stack) may swap sys.stdout.
    sys.stdout.write(line)
    sys.stdout.flush()


class ClickLog:
    """Where the redirect records a click: one structured line on the function's log.

    `country` comes from a source clients cannot set (the redirect decides which),
    "" when there is none. `cache` says how the redirect's cache answered (hit, miss,
    down): metric filters in the template count it from the same line, at no cost
    per request.
    """

    def __init__(self, write: Callable[[str], None] = _stdout) -> None:
        self._write = write

    def record(
        self,
        code: str,
        generation: int,
        now_ms: int,
        headers: dict[str, str],
        *,
        country: str = "",
        cache: str = "",
    ) -> None:
        line = {
            "kind": KIND,
            "id": secrets.token_hex(16),
            "code": code,
            "gen": generation,
            "ts": now_ms,
            "referer": headers.get("referer", "")[:MAX_HEADER],
            "ua": headers.get("user-agent", "")[:MAX_HEADER],
            "country": country[:2],
            "cache": cache if cache in CACHE_ANSWERS else "",
        }
        self._write(json.dumps(line, separators=(",", ":")) + "\n")
