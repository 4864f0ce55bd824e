"""The shortener's entities: a link, what a caller asks to shorten, and what came of it.

Plain dataclasses, beside the logic that uses them and apart from storage: the
links table (links_table.py) turns items into these, the HTTP shapes (schemas.py) turn
these into JSON, and neither knows the other. Importing this module costs nothing,
so the redirect's hot path can use `Link` without loading the store.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    code: str
    long_url: str
    owner: str | None
    created_ms: int  # also the link's generation: a code reused later is another link
    expires_ms: int | None
    redirect_type: int

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_ms is not None and now_ms >= self.expires_ms


@dataclass(frozen=True)
class ShortenRequest:
    long_url: str
    custom_code: str | None = None
    expires_at: str | None = None
    redirect_type: int = 301


@dataclass(frozen=True)
class Shortened:
    link: Link
    created: bool
