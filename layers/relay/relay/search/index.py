"""The search index in plain Redis structures (ElastiCache has no RediSearch); every key
format of search is written here and nowhere else.

- `search:doc` (hash): doc id -> the doc as JSON (what a suggestion shows, and the terms
  that find it, so it can be taken out again).
- `search:pop` (zset): doc id -> popularity (people searching a query, posts using a
  hashtag, a person's posts + 1).
- `search:p:<prefix>` (zset): the TOP_K most popular docs with a term starting so.
- `search:d:<variant>` (zset): the same for the deletion neighbourhood of prefixes, so
  one typo finds them (relay.search.folding.typo_variants).
- `search:gone:<doc id>`: a tombstone, so a rebuild that read a doc before its deletion
  cannot put it back.
- `search:recent:<sub>` (zset): the caller's folded searches by time.
- `search:follows:<sub>` (set): the people the caller follows (`u:<sub>`), a copy of the
  feed's FollowsTable kept FOLLOWS_TTL_S; `-` marks a copy of nobody.
- `search:w:<word>` (zset): post ids by creation ms, the words of posts.
- `search:tr:<bucket>` (zset): term -> distinct people in that minute;
  `search:trp:<bucket>:<term>` (set): who they were.
- `search:built`: set when a rebuild has finished; its absence means Redis restarted
  empty (or never was built) and a rebuild is due.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import redis

from relay.search import rules
from relay.search.folding import prefixes, typo_variants
from relay.search.models import Doc

DOCS = "search:doc"
POPULARITY = "search:pop"
BUILT = "search:built"
NOBODY = "-"


def prefix_key(prefix: str) -> str:
    return f"search:p:{prefix}"


def typo_key(variant: str) -> str:
    return f"search:d:{variant}"


def tombstone_key(doc_id: str) -> str:
    return f"search:gone:{doc_id}"


def recent_key(sub: str) -> str:
    return f"search:recent:{sub}"


def follows_key(sub: str) -> str:
    return f"search:follows:{sub}"


def word_key(word: str) -> str:
    return f"search:w:{word}"


def bucket_key(bucket: int) -> str:
    return f"search:tr:{bucket}"


def bucket_people_key(bucket: int, term: str) -> str:
    return f"search:trp:{bucket}:{term}"


def user_id(sub: str) -> str:
    return f"u:{sub}"


def hashtag_id(tag: str) -> str:
    return f"h:{tag}"


def query_id(query: str) -> str:
    return f"q:{query}"


def term_keys(terms: Iterable[str]) -> list[str]:
    """Every key a doc with these terms is kept under."""
    keys: dict[str, None] = {}
    for term in terms:
        keys |= dict.fromkeys(prefix_key(p) for p in prefixes(term))
        keys |= dict.fromkeys(typo_key(v) for v in sorted(typo_variants(term)))
    return list(keys)


class Script:
    """A Lua script of this package, run by its SHA, loaded on a server's first call."""

    def __init__(self, name: str) -> None:
        self.text = resources.files("relay.search").joinpath(name).read_text()
        self.sha = hashlib.sha1(self.text.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return client.eval(self.text, len(keys), *keys, *args)


INDEX = Script("index.lua")
SUGGEST = Script("suggest.lua")


class SearchIndex:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    # ---- docs
    def put(self, doc: Doc, popularity: float, *, add: bool = False) -> float | None:
        """Index `doc` under its terms, taking it out from under terms it no longer has;
        its popularity set (or, with `add`, increased). None if a tombstone refused it."""
        old = self.doc(doc.doc_id)
        stale = set(term_keys(old.terms)) - set(term_keys(doc.terms)) if old else set()
        if stale:
            pipe = self.client.pipeline(transaction=False)
            for key in stale:
                pipe.zrem(key, doc.doc_id)
            pipe.execute()
        keys = [DOCS, POPULARITY, tombstone_key(doc.doc_id), *term_keys(doc.terms)]
        args = [doc.doc_id, doc.dumps(), popularity, "incr" if add else "set", rules.TOP_K]
        score = float(INDEX(self.client, keys, args))
        return None if score < 0 else score

    def bump(self, doc_id: str, delta: float) -> float | None:
        """More popularity for a doc already indexed (None when it is not)."""
        doc = self.doc(doc_id)
        return self.put(doc, delta, add=True) if doc else None

    def doc(self, doc_id: str) -> Doc | None:
        text = self.client.hget(DOCS, doc_id)
        return Doc.loads(doc_id, text) if text else None

    def remove(self, doc_id: str, *, tombstone: bool = True) -> None:
        old = self.doc(doc_id)
        pipe = self.client.pipeline(transaction=False)
        if tombstone:
            pipe.set(tombstone_key(doc_id), 1, ex=rules.TOMBSTONE_S)
        for key in term_keys(old.terms) if old else ():
            pipe.zrem(key, doc_id)
        pipe.hdel(DOCS, doc_id)
        pipe.zrem(POPULARITY, doc_id)
        pipe.execute()

    def forget_tombstone(self, doc_id: str) -> None:
        self.client.delete(tombstone_key(doc_id))

    # ---- the caller's own
    def remember_search(self, sub: str, query: str, now_ms: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(recent_key(sub), {query: now_ms})
        pipe.zremrangebyrank(recent_key(sub), 0, -(rules.RECENT_SEARCHES + 1))
        pipe.execute()

    def keep_follows(self, sub: str, followees: Sequence[str]) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(follows_key(sub))
        pipe.sadd(follows_key(sub), NOBODY, *(user_id(f) for f in followees))
        pipe.expire(follows_key(sub), rules.FOLLOWS_TTL_S)
        pipe.execute()

    # ---- built or not
    def is_built(self) -> bool:
        return bool(self.client.exists(BUILT))

    def mark_built(self, at_ms: int) -> None:
        self.client.set(BUILT, at_ms)
