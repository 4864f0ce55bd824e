"""A clock the tests move by hand: time passes when a test says so, never by sleeping."""

from __future__ import annotations


class FrozenClock:
    def __init__(self, now_ms: int = 1_795_000_000_000) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)
