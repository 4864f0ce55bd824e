"""What keeps the index in step: accounts' events (a person made, changed or deleted)
and the posts table's stream (a post made or deleted), and the rebuild from DynamoDB.

A person is found by their handle, the parts of a handle between `_`, and the words of
their display name; events carry ids, so the person is read from the users table
(and, if gone meanwhile, taken out). A post's words go into the word index for post
search; its hashtags become suggestions, counted for trending by their author; its
author's popularity grows by one. Everything is idempotent but a post's counts: a
redelivered post counts its hashtags once more (at-least-once streams; a rebuild sets
the counts again from the table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from relay.accounts.models import User
from relay.platform.clock import Clock
from relay.search import index, rules
from relay.search.folding import fold, hashtags, words
from relay.search.index import SearchIndex
from relay.search.models import Doc, PostHit
from relay.search.trending import Trending

USER_CREATED = "accounts.user_created"
USER_UPDATED = "accounts.user_updated"
USER_DELETED = "accounts.user_deleted"
KINDS = (USER_CREATED, USER_UPDATED, USER_DELETED)


def user_doc(user: User) -> Doc:
    terms = [fold(user.handle), *fold(user.handle).split("_"), *words(user.display_name)]
    kept = tuple(dict.fromkeys(t for t in terms if t))
    return Doc(index.user_id(user.sub), user.handle, kept, user.display_name)


def hashtag_doc(tag: str) -> Doc:
    return Doc(index.hashtag_id(tag), tag, (tag,))


def query_doc(query: str) -> Doc:
    return Doc(index.query_id(query), query, tuple(words(query)))


def post_words(post: PostHit) -> list[str]:
    return words(post.content)[: rules.MAX_POST_WORDS]


class Indexer:
    def __init__(
        self,
        search_index: SearchIndex,
        trending: Trending,
        clock: Clock,
    ) -> None:
        self.index = search_index
        self.trending = trending
        self.clock = clock

    # ---- people
    def person_event(self, kind: str, sub: str, user: Callable[[str], User | None]) -> None:
        """A person made, changed or deleted: read as they are now (`user`) and indexed,
        or taken out if gone."""
        if kind == USER_DELETED:
            self.index.remove(index.user_id(sub))
            return
        user_now = user(sub)
        if user_now is None:
            self.index.remove(index.user_id(sub))
        else:
            self.person(user_now)

    def person(self, user: User, popularity: float | None = None) -> None:
        doc = user_doc(user)
        if popularity is None:
            known = self.index.client.zscore(index.POPULARITY, doc.doc_id)
            popularity = float(known) if known is not None else 1.0
        self.index.put(doc, popularity)

    # ---- posts
    def post_created(self, post: PostHit) -> None:
        self._words(post, add=True)
        for tag in hashtags(post.content):
            if self.trending.count(index.hashtag_id(tag), post.author_id, post.created_ms):
                self.index.put(hashtag_doc(tag), 1, add=True)
        self.index.bump(index.user_id(post.author_id), 1)

    def post_deleted(self, post: PostHit) -> None:
        self._words(post, add=False)

    def _words(self, post: PostHit, *, add: bool) -> None:
        pipe = self.index.client.pipeline(transaction=False)
        for word in post_words(post):
            key = index.word_key(word)
            if add:
                pipe.zadd(key, {post.post_id: post.created_ms})
                pipe.zremrangebyrank(key, 0, -(rules.WORD_POSTS + 1))
            else:
                pipe.zrem(key, post.post_id)
        pipe.execute()

    # ---- searches
    def searched(self, sub: str, query: str) -> None:
        """A person ran a search: theirs to see again, and one more person for it."""
        now_ms = self.clock.now_ms()
        self.index.remember_search(sub, query, now_ms)
        if self.trending.count(index.query_id(query), sub, now_ms):
            self.index.put(query_doc(query), 1, add=True)

    # ---- the whole index, from DynamoDB
    def rebuild(self, users: Iterable[User], posts: Iterable[PostHit]) -> dict[str, int]:
        """Index every person and post again; popularity set from what the tables hold
        (a search's popularity, Redis's alone, is kept where Redis kept it)."""
        authored: Counter[str] = Counter()
        tagged: Counter[str] = Counter()
        count_posts = 0
        for post in posts:
            count_posts += 1
            self._words(post, add=True)
            authored[post.author_id] += 1
            for tag in hashtags(post.content):
                tagged[tag] += 1
        count_users = 0
        for user in users:
            count_users += 1
            self.person(user, popularity=1.0 + authored[user.sub])
        for tag, uses in tagged.items():
            self.index.put(hashtag_doc(tag), uses)
        self.index.mark_built(self.clock.now_ms())
        return {"users": count_users, "posts": count_posts, "hashtags": len(tagged)}
