"""The feed's HTTP shapes (camelCase JSON), from which the OpenAPI document is made.

The schemas say what a valid request looks like; the domain (relay.feed.feed) checks
it, so a wrong value is a 400 or 413 with its own code (empty_content, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from relay.feed import rules
from relay.feed.models import (
    Comment,
    CommentPage,
    FeedItem,
    Page,
    PeoplePage,
    PersonView,
    Post,
)
from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody

# sub -> handle of the people a response names (relay.feed.people); a sub missing from
# it is a deleted account, shown with a null handle.
Handles = Mapping[str, str]


class PersonRef(Camel):
    user_id: str
    handle: str | None = Field(description="Their handle now; null once the account is deleted.")


def _shown(entity: Post | Comment, handles: Handles) -> dict[str, Any]:
    """An entity's fields as the API names them: its time in ISO 8601, not milliseconds,
    and whom it mentions with their handles."""
    fields = dict(vars(entity))
    fields["mentions"] = [
        PersonRef(user_id=sub, handle=handles.get(sub)) for sub in entity.mentions
    ]
    fields["created_at"] = iso(fields.pop("created_ms"))
    if "edited_ms" in fields:
        edited = fields.pop("edited_ms")
        fields["edited_at"] = None if edited is None else iso(edited)
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


class PostEdit(CamelBody):
    content: str = Field(
        description=f"The new text: not empty, at most {rules.MAX_CONTENT} characters.",
        json_schema_extra={"maxLength": rules.MAX_CONTENT},
    )
    media_urls: list[str] | None = Field(
        default=None, description="New media URLs; left as they were when absent."
    )


class CommentBody(CamelBody):
    content: str = Field(
        description=f"The comment: not empty, at most {rules.MAX_COMMENT} characters.",
        json_schema_extra={"maxLength": rules.MAX_COMMENT},
    )


class PostOut(Camel):
    post_id: str
    author_id: str
    author_handle: str | None = Field(
        description="The author's handle now; null once their account is deleted."
    )
    content: str
    media_urls: list[str]
    created_at: str
    likes: int
    comments: int
    shares: int
    liked_by_me: bool
    shared_from: str | None = None
    edited_at: str | None = Field(default=None, description="When last edited; null if never.")
    mentions: list[PersonRef] = Field(
        default_factory=list, description="Whom the text mentions (@handle), as found when written."
    )
    hashtags: list[str] = Field(
        default_factory=list, description="The text's #hashtags, case-folded, without the #."
    )

    @classmethod
    def of(cls, post: Post, handles: Handles, liked_by_me: bool = False) -> PostOut:
        return cls(
            **_shown(post, handles),
            author_handle=handles.get(post.author_id),
            liked_by_me=liked_by_me,
        )

    @classmethod
    def of_item(cls, item: FeedItem, handles: Handles) -> PostOut:
        return cls.of(item.post, handles, item.liked_by_me)


class Paged(Camel):
    """A page of a list: its items and the cursor of the next page (None on the last)."""

    items: list[Any]
    next_cursor: str | None


class PostPage(Paged):
    items: list[PostOut]

    @classmethod
    def of(cls, page: Page, handles: Handles) -> PostPage:
        return cls(
            items=[PostOut.of_item(i, handles) for i in page.items], next_cursor=page.next_cursor
        )


class PeopleList(Paged):
    items: list[PersonRef]

    @classmethod
    def of(cls, page: PeoplePage, handles: Handles) -> PeopleList:
        people = [PersonRef(user_id=sub, handle=handles.get(sub)) for sub in page.items]
        return cls(items=people, next_cursor=page.next_cursor)


class ProfileOut(Camel):
    """Accounts' profile of a person with the feed's counters."""

    user_id: str = Field(description="The stable id: it never changes, a handle may.")
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None = Field(description="A short-lived link; null without an avatar.")
    created_at: str
    followers: int
    following: int
    posts: int
    followed_by_me: bool = Field(description="Always false for an anonymous reader.")

    @classmethod
    def of(cls, person: PersonView) -> ProfileOut:
        # The counters; whether they are a celebrity is not the API's to show.
        user, counts = person.user, person.counts
        return cls(
            user_id=user.sub,
            handle=user.handle,
            display_name=user.display_name,
            bio=user.bio,
            avatar_url=person.avatar_url,
            created_at=iso(user.created_ms),
            followers=counts.followers,
            following=counts.following,
            posts=counts.posts,
            followed_by_me=person.followed_by_me,
        )


class CommentOut(Camel):
    comment_id: str
    post_id: str
    author_id: str
    author_handle: str | None = Field(
        description="The author's handle now; null once their account is deleted."
    )
    content: str
    created_at: str
    mentions: list[PersonRef] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, comment: Comment, handles: Handles) -> CommentOut:
        return cls(**_shown(comment, handles), author_handle=handles.get(comment.author_id))


class CommentList(Paged):
    items: list[CommentOut]

    @classmethod
    def of(cls, page: CommentPage, handles: Handles) -> CommentList:
        return cls(
            items=[CommentOut.of(c, handles) for c in page.items], next_cursor=page.next_cursor
        )
