"""Search's entities: what the index holds (a Doc), what a client is offered (a
Suggestion, a trend), and what a search finds (people and posts)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["user", "hashtag", "query"]
_PREFIX: dict[str, Kind] = {"u": "user", "h": "hashtag", "q": "query"}


@dataclass(frozen=True)
class Doc:
    """One thing suggestions can offer: a person (`u:<sub>`), a hashtag (`h:<tag>`) or a
    search people ran (`q:<folded query>`), with the folded terms it is found by."""

    doc_id: str
    text: str
    terms: tuple[str, ...]
    name: str = ""

    @property
    def kind(self) -> Kind:
        return _PREFIX[self.doc_id[0]]

    @property
    def key(self) -> str:
        """What follows the kind in the id: a sub, a tag, a query."""
        return self.doc_id[2:]

    def dumps(self) -> str:
        shown = {"t": self.text, "w": list(self.terms)} | ({"n": self.name} if self.name else {})
        return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def loads(cls, doc_id: str, text: str | bytes) -> Doc:
        data = json.loads(text)
        return cls(doc_id, str(data["t"]), tuple(data.get("w", ())), str(data.get("n", "")))


@dataclass(frozen=True)
class Suggestion:
    kind: Kind
    text: str
    score: float
    user_id: str | None = None
    display_name: str | None = None
    personal: bool = False


@dataclass(frozen=True)
class Suggestions:
    items: list[Suggestion]
    # True when the index was unavailable or empty and the answer came from elsewhere.
    degraded: bool = False


@dataclass(frozen=True)
class Trend:
    kind: Literal["hashtag", "query"]
    text: str
    score: float
    people: int


@dataclass(frozen=True)
class PostHit:
    post_id: str
    author_id: str
    content: str
    created_ms: int


@dataclass(frozen=True)
class UserHit:
    user_id: str
    handle: str
    display_name: str


@dataclass(frozen=True)
class Page:
    posts: list[PostHit] = field(default_factory=list)
    users: list[UserHit] = field(default_factory=list)
    next_cursor: str | None = None
    degraded: bool = False
