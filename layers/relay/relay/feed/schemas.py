"""The feed's HTTP shapes (camelCase JSON), from which the OpenAPI document is made.

The schemas say what a valid request looks like; the domain (relay.feed.feed) checks
it, so a wrong value is a 400 or 413 with its own code (empty_content, ...).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from relay.feed import rules
from relay.feed.models import Comment, CommentPage, FeedItem, Page, Post, Profile
from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody


def _shown(entity: Post | Comment) -> dict[str, Any]:
    """An entity's fields as the API names them: its time in ISO 8601, not milliseconds."""
    fields = dict(vars(entity))
    fields["created_at"] = iso(fields.pop("created_ms"))
    return fields


class PostBody(CamelBody):
    content: str = Field(
        description=f"The text of the post: not empty, at most {rules.MAX_CONTENT} characters.",
        json_schema_extra={"maxLength": rules.MAX_CONTENT, "examples": ["Hello, Relay"]},
    )
    media_urls: list[str] = Field(
        default_factory=list,
        description=f"Up to {rules.MAX_MEDIA} http or https URLs of images or video.",
    )


class CommentBody(CamelBody):
    content: str = Field(
        description=f"The comment: not empty, at most {rules.MAX_COMMENT} characters.",
        json_schema_extra={"maxLength": rules.MAX_COMMENT},
    )


class PostOut(Camel):
    post_id: str
    author_id: str
    content: str
    media_urls: list[str]
    created_at: str
    likes: int
    comments: int
    shares: int
    liked_by_me: bool
    shared_from: str | None = None

    @classmethod
    def of(cls, post: Post, liked_by_me: bool = False) -> PostOut:
        return cls(**_shown(post), liked_by_me=liked_by_me)

    @classmethod
    def of_item(cls, item: FeedItem) -> PostOut:
        return cls.of(item.post, item.liked_by_me)


class Paged(Camel):
    """A page of a list: its items and the cursor of the next page (None on the last)."""

    items: list[Any]
    next_cursor: str | None


class PostPage(Paged):
    items: list[PostOut]

    @classmethod
    def of(cls, page: Page) -> PostPage:
        return cls(items=[PostOut.of_item(i) for i in page.items], next_cursor=page.next_cursor)


class ProfileOut(Camel):
    user_id: str
    followers: int
    following: int
    posts: int
    followed_by_me: bool

    @classmethod
    def of(cls, profile: Profile, followed_by_me: bool) -> ProfileOut:
        # The profile's counters; whether they are a celebrity is not the API's to show.
        return cls(**vars(profile), followed_by_me=followed_by_me)


class CommentOut(Camel):
    comment_id: str
    post_id: str
    author_id: str
    content: str
    created_at: str

    @classmethod
    def of(cls, comment: Comment) -> CommentOut:
        return cls(**_shown(comment))


class CommentList(Paged):
    items: list[CommentOut]

    @classmethod
    def of(cls, page: CommentPage) -> CommentList:
        return cls(items=[CommentOut.of(c) for c in page.items], next_cursor=page.next_cursor)
