"""Autocomplete: what `GET /api/suggest` answers, in one Redis round trip.

A query is folded (relay.search.folding) and its last word is the prefix being typed.
One pipeline carries the caller's sign-out mark, their rate limit and `suggest.lua`,
which reads the candidates under the prefix's key (and, for a word of TYPO_MIN or more
characters, under the keys of its deletion neighbourhood), their docs, which of them
the caller follows, and the caller's recent searches. Here the candidates are checked
against the whole query, ranked by log-popularity, typo matches lowered, and the
caller's own (people they follow, searches they ran) lifted by PERSONAL_BONUS, for at
most PERSONAL_SHARE of the places: what is popular still shows.

Without Redis, or with an index that is not built (a node that restarted empty), the
answer is degraded, not an error: the person whose handle is the query, read from
DynamoDB, and `degraded: true`; the scheduled rebuild restores the index by itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from relay.platform.cache import RedisGate
from relay.search import index, rules
from relay.search.folding import deletions, fold, within_one_edit, words
from relay.search.index import INDEX, SUGGEST, SearchIndex
from relay.search.models import Doc, Kind, Suggestion, Suggestions


@dataclass(frozen=True)
class Query:
    """A query as typed, folded: its words, and the kind it asks for (`@` people, `#`
    hashtags)."""

    words: tuple[str, ...]
    only: Kind | None = None

    @classmethod
    def of(cls, text: str) -> Query:
        stripped = text.strip()
        marks: dict[str, Kind] = {"@": "user", "#": "hashtag"}
        only = marks.get(stripped[:1])
        return cls(tuple(words(stripped)), only)

    @property
    def last(self) -> str:
        return self.words[-1] if self.words else ""

    def keys(self) -> tuple[list[str], list[str]]:
        """The exact prefix key, and the keys that forgive one typo."""
        look = self.last[: rules.PREFIX_MAX]
        exact = [index.prefix_key(look)]
        if len(self.last) < rules.TYPO_MIN:
            return exact, []
        typo = [index.typo_key(look)]
        for variant in sorted(deletions(look)):
            typo += [index.prefix_key(variant), index.typo_key(variant)]
        return exact, typo

    def matches(self, terms: tuple[str, ...]) -> bool | None:
        """True: every word starts a term; False: with one typo; None: no match."""
        *before, last = self.words
        if not all(any(t.startswith(w) for t in terms) for w in before):
            return None
        if any(t.startswith(last) for t in terms):
            return True
        if any(within_one_edit(last, t) for t in terms):
            return False
        return None


@dataclass
class Along:
    """Commands that ride in the suggestion's pipeline (the caller's sign-out mark, the
    rate limit), queued before it; `take` gets their replies in order."""

    queue: Callable[[Any], None]
    count: int
    take: Callable[[list[Any]], None]
    load: Callable[[Any], None] = field(default=lambda client: None)


@dataclass(frozen=True)
class Raw:
    """What suggest.lua answered."""

    ids: list[str]
    popularity: list[float]
    exact: list[bool]
    docs: list[bytes | None]
    followed: list[bool]
    recent: list[str]
    follows_known: bool
    built: bool

    @classmethod
    def of(cls, reply: list[Any], built: Any) -> Raw:
        ids, pops, exact, docs, followed, recent, known = reply
        return cls(
            ids=[i.decode() if isinstance(i, bytes) else str(i) for i in ids],
            popularity=[float(p) for p in pops],
            exact=[bool(int(e)) for e in exact],
            docs=list(docs) + [None] * (len(ids) - len(docs)),
            followed=[bool(int(f)) for f in followed],
            recent=[r.decode() if isinstance(r, bytes) else str(r) for r in recent],
            follows_known=bool(int(known)),
            built=bool(int(built)),
        )


def score_of(popularity: float, exact: bool) -> float:
    return math.log1p(max(popularity, 0.0)) * (1.0 if exact else rules.TYPO_FACTOR)


class Suggester:
    def __init__(
        self,
        client: redis.Redis,
        gate: RedisGate,
        *,
        handle_owner: Callable[[str], tuple[str, str, str] | None],
        followees: Callable[[str], list[str]],
    ) -> None:
        self.client = client
        self.gate = gate
        self.index = SearchIndex(client)
        # (sub, handle, display name) of the person whose handle is exactly this, from
        # DynamoDB: the degraded answer.
        self.handle_owner = handle_owner
        self.followees = followees

    def keys(self, sub: str, query: Query) -> tuple[list[str], int]:
        exact, typo = query.keys()
        head = [index.DOCS, index.recent_key(sub), index.follows_key(sub)]
        return head + exact + typo, len(exact)

    def fetch(self, sub: str, query: Query, along: Along | None = None) -> Raw:
        """The one round trip: `along`'s commands, the built mark and suggest.lua."""
        keys, exact = self.keys(sub, query)
        args = [exact, rules.TOP_K, rules.TYPO_READ, rules.RECENT_SEARCHES]
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            if along:
                along.queue(pipe)
            pipe.exists(index.BUILT)
            pipe.evalsha(SUGGEST.sha, len(keys), *keys, *args)
            try:
                replies = pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                self.client.script_load(SUGGEST.text)
                self.client.script_load(INDEX.text)
                if along:
                    along.load(self.client)
        count = along.count if along else 0
        if along:
            along.take(replies[:count])
        return Raw.of(replies[count + 1], replies[count])

    def suggest(self, sub: str, text: str, limit: int, along: Along | None = None) -> Suggestions:
        query = Query.of(text)
        if not query.last:
            if along:
                self.gate.attempt(lambda: self._along_only(along))
            return Suggestions([])
        raw = self.gate.attempt(lambda: self.fetch(sub, query, along))
        if raw is None:
            return Suggestions(self.degraded(query, limit), degraded=True)
        items = rank(query, raw, limit)
        if not raw.follows_known:
            self.gate.attempt(lambda: self.index.keep_follows(sub, self.followees(sub)))
        if not raw.built:
            shown = {(s.kind, s.text) for s in items}
            extra = [s for s in self.degraded(query, limit) if (s.kind, s.text) not in shown]
            return Suggestions((extra + items)[:limit], degraded=True)
        return Suggestions(items)

    def _along_only(self, along: Along) -> None:
        pipe = self.client.pipeline(transaction=False)
        along.queue(pipe)
        try:
            along.take(pipe.execute())
        except redis.exceptions.NoScriptError:
            along.load(self.client)
            pipe = self.client.pipeline(transaction=False)
            along.queue(pipe)
            along.take(pipe.execute())

    def degraded(self, query: Query, limit: int) -> list[Suggestion]:
        if query.only == "hashtag" or len(query.words) != 1:
            return []
        owner = self.handle_owner(query.last)
        if owner is None:
            return []
        sub, handle, name = owner
        return [Suggestion("user", handle, 0.0, user_id=sub, display_name=name or None)][:limit]


def rank(query: Query, raw: Raw, limit: int) -> list[Suggestion]:
    """The candidates that match the whole query, ranked. Docs are parsed best first and
    only until `limit` plain matches are found: a candidate ranked below those can only
    rise by the personal lift, and whether it is personal is known from its id."""
    mine = set(raw.recent)
    order = []
    for n, doc_id in enumerate(raw.ids):
        is_query = doc_id.startswith("q:")
        personal = raw.followed[n] or (is_query and doc_id[2:] in mine)
        if is_query and not personal and raw.popularity[n] < rules.QUERY_MIN_PEOPLE:
            continue
        order.append((score_of(raw.popularity[n], raw.exact[n]), n, personal))
    order.sort(key=lambda entry: -entry[0])
    found: dict[str, tuple[float, bool, Doc]] = {}
    plain = 0
    for _, n, personal in order:
        if plain >= limit and not personal:
            continue
        text = raw.docs[n]
        if not text:
            continue
        doc = Doc.loads(raw.ids[n], text)
        if query.only and doc.kind != query.only:
            continue
        matched = query.matches(doc.terms)
        if matched is None:
            continue
        found[doc.doc_id] = (score_of(raw.popularity[n], matched), personal, doc)
        plain += not personal
    if query.only in (None, "query"):
        for recent in raw.recent:
            doc_id = index.query_id(recent)
            if doc_id not in found and query.matches(tuple(words(recent))) is not None:
                doc = Doc(doc_id, recent, tuple(words(recent)))
                found[doc_id] = (0.0, True, doc)
    lifts = max(1, int(limit * rules.PERSONAL_SHARE))
    by_own_score = sorted(found.items(), key=lambda entry: -entry[1][0])
    ranked: list[Suggestion] = []
    for _, (score, personal, doc) in by_own_score:
        lifted = personal and lifts > 0
        if lifted:
            lifts -= 1
            score += rules.PERSONAL_BONUS
        ranked.append(
            Suggestion(
                kind=doc.kind,
                text=doc.text,
                score=round(score, 4),
                user_id=doc.key if doc.kind == "user" else None,
                display_name=(doc.name or None) if doc.kind == "user" else None,
                personal=lifted,
            )
        )
    ranked.sort(key=lambda s: (-s.score, s.text))
    return ranked[:limit]


def folded(text: str) -> str:
    """A search as it is remembered and counted: its folded words, space-separated."""
    return " ".join(words(fold(text)))
