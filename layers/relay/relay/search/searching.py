"""Search (GET /api/search): posts newest first, people by handle and name.

Posts: the word index (`search:w:<word>`) of every word of the query, intersected by
`posts.lua` from the rarest word, newest first, after the cursor (relay.platform.cursors,
bound to the query). Each hit is then read from the posts table: a post deleted since,
or edited so that it no longer has the words, or whose author deleted their account,
is not shown, whatever the index still holds.

People: the suggestion index, asked for people only, each checked against the users
table (a deleted account is not shown).

A search run by a signed-in person is remembered as theirs (their suggestions) and
counted for popular and trending searches.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import redis

from relay.accounts.models import User
from relay.platform import cursors
from relay.platform.cache import RedisGate
from relay.search import index, rules
from relay.search.folding import words
from relay.search.index import Script
from relay.search.indexer import Indexer
from relay.search.models import Page, PostHit, UserHit
from relay.search.posts_table import PostsView
from relay.search.suggest import Suggester, folded

POSTS = Script("posts.lua")
_SCOPE = "search-posts"
_POST_ID = re.compile(r"[0-9A-Za-z_-]{1,64}").fullmatch


def _cursor_scope(query: str) -> str:
    return f"{_SCOPE}:{query}"


class Search:
    def __init__(
        self,
        client: redis.Redis,
        gate: RedisGate,
        posts: PostsView,
        people: Callable[[list[str]], dict[str, User]],
        suggester: Suggester,
        indexer: Indexer,
    ) -> None:
        self.client = client
        self.gate = gate
        self.posts_view = posts
        self.people = people
        self.suggester = suggester
        self.indexer = indexer

    def search(self, sub: str, text: str, kind: str, cursor: str | None, limit: int) -> Page:
        query = folded(text)
        if query:
            self.gate.attempt(lambda: self.indexer.searched(sub, query))
        if kind == "users":
            return self.users(sub, text, limit)
        return self.posts(query, cursor, limit)

    def posts(self, query: str, cursor: str | None, limit: int) -> Page:
        terms = words(query)[: rules.MAX_QUERY_WORDS]
        after_ms, after_id = "+inf", ""
        if cursor:
            ms, post_id = cursors.decode(
                cursor, _cursor_scope(query), [cursors.whole(), cursors.text(_POST_ID)]
            )
            after_ms, after_id = str(ms), str(post_id)
        if not terms:
            return Page()
        found = self.gate.attempt(lambda: self._post_ids(terms, after_ms, after_id, limit + 1))
        if found is None:
            return Page(degraded=True)
        more = len(found) > limit
        found = found[:limit]
        posts = self.posts_view.get_many([post_id for post_id, _ in found])
        authors = self.people(list({p.author_id for p in posts.values()}))
        shown: list[PostHit] = []
        for post_id, _ in found:
            post = posts.get(post_id)
            if post is None or post.author_id not in authors:
                continue
            if not set(terms) <= set(words(post.content)):
                continue  # edited away since
            shown.append(post)
        next_cursor = None
        if more and found:
            last_id, last_ms = found[-1]
            next_cursor = cursors.encode(_cursor_scope(query), [last_ms, last_id])
        return Page(posts=shown, next_cursor=next_cursor)

    def _post_ids(
        self, terms: list[str], after_ms: str, after_id: str, want: int
    ) -> list[tuple[str, int]]:
        pipe = self.client.pipeline(transaction=False)
        for term in terms:
            pipe.zcard(index.word_key(term))
        sizes = pipe.execute()
        if not all(sizes):
            return []
        keys = [index.word_key(t) for _, t in sorted(zip(sizes, terms, strict=True))]
        reply = POSTS(self.client, keys, [after_ms, after_id, want, rules.SCAN_MAX])
        pairs = [(reply[i], reply[i + 1]) for i in range(0, len(reply), 2)]
        return [(_text(post_id), int(float(ms))) for post_id, ms in pairs]

    def users(self, sub: str, text: str, limit: int) -> Page:
        found = self.suggester.suggest(sub, "@" + text.strip().lstrip("@"), limit)
        subs = [s.user_id for s in found.items if s.user_id]
        alive = self.people(subs)
        hits = [
            UserHit(user.sub, user.handle, user.display_name)
            for user in (alive.get(s) for s in subs)
            if user is not None
        ]
        return Page(users=hits, degraded=found.degraded)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
