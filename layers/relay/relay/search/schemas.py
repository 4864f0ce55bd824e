"""Search's HTTP shapes (camelCase JSON), from which the OpenAPI document is made."""

from __future__ import annotations

import re
from typing import Literal

from relay.platform.clock import iso
from relay.platform.errors import Invalid
from relay.platform.schemas import Camel
from relay.search import rules
from relay.search.models import Page, Suggestion, Suggestions, Trend

# Surrogates, U+FFFD and control characters: what API Gateway passes on for bytes that
# were not text, and nothing anyone types into a search box.
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffd]")


def checked_query(text: str) -> str:
    """The query as typed; 400 invalid_query for one that is too long or not text."""
    if len(text) > rules.MAX_QUERY_CHARS:
        raise Invalid(f"q: at most {rules.MAX_QUERY_CHARS} characters.", code="invalid_query")
    if _NOT_TEXT.search(text):
        raise Invalid(
            "q: not text (a control character or a lone surrogate).", code="invalid_query"
        )
    return text


class SuggestionOut(Camel):
    kind: Literal["user", "hashtag", "query"]
    text: str
    score: float
    user_id: str | None = None
    display_name: str | None = None
    personal: bool = False

    @classmethod
    def of(cls, suggestion: Suggestion) -> SuggestionOut:
        return cls(**vars(suggestion))


class SuggestionList(Camel):
    items: list[SuggestionOut]
    degraded: bool = False

    @classmethod
    def of(cls, found: Suggestions) -> SuggestionList:
        return cls(items=[SuggestionOut.of(s) for s in found.items], degraded=found.degraded)


class TrendOut(Camel):
    kind: Literal["hashtag", "query"]
    text: str
    score: float
    people: int


class TrendList(Camel):
    items: list[TrendOut]

    @classmethod
    def of(cls, trends: list[Trend]) -> TrendList:
        return cls(items=[TrendOut(**vars(t)) for t in trends])


class PostHitOut(Camel):
    post_id: str
    author_id: str
    content: str
    created_at: str


class UserHitOut(Camel):
    user_id: str
    handle: str
    display_name: str


class SearchPage(Camel):
    items: list[PostHitOut | UserHitOut]
    next_cursor: str | None
    degraded: bool = False

    @classmethod
    def of(cls, page: Page) -> SearchPage:
        items: list[PostHitOut | UserHitOut] = [
            PostHitOut(
                post_id=p.post_id,
                author_id=p.author_id,
                content=p.content,
                created_at=iso(p.created_ms),
            )
            for p in page.posts
        ]
        items += [UserHitOut(**vars(u)) for u in page.users]
        return cls(items=items, next_cursor=page.next_cursor, degraded=page.degraded)
