"""The feed's entities: a post, a comment, a profile, a post as one reader sees it, and
the pages of the feed's lists.

Plain dataclasses beside the logic that uses them: the tables (`*_table.py`) turn items
into these, the HTTP shapes (schemas.py) turn these into JSON, and neither knows the
other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relay.accounts.models import User


@dataclass(frozen=True)
class Post:
    post_id: str
    author_id: str
    content: str
    media_urls: list[str]
    created_ms: int
    likes: int = 0
    comments: int = 0
    shares: int = 0
    shared_from: str | None = None
    edited_ms: int | None = None
    # Whom the text mentions (user ids) and its hashtags (relay.feed.tags).
    mentions: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Comment:
    post_id: str
    comment_id: str
    author_id: str
    content: str
    created_ms: int
    mentions: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Profile:
    """A user's counters; `celebrity` once they crossed the celebrity threshold."""

    user_id: str
    followers: int = 0
    following: int = 0
    posts: int = 0
    celebrity: bool = False


@dataclass(frozen=True)
class FeedItem:
    """A post as one reader sees it: with whether they liked it."""

    post: Post
    liked_by_me: bool


@dataclass(frozen=True)
class Page:
    """A page of posts (the feed, an author's posts), and the cursor of the next one."""

    items: list[FeedItem]
    next_cursor: str | None


@dataclass(frozen=True)
class PeoplePage:
    """A page of people (followers, followees, likers), by user id."""

    items: list[str]
    next_cursor: str | None


@dataclass(frozen=True)
class CommentPage:
    items: list[Comment]
    next_cursor: str | None


@dataclass(frozen=True)
class PersonView:
    """A person's profile as one viewer sees it: who they are (accounts' profile, keyed
    by the stable `sub`), the feed's counters, and whether the viewer follows them."""

    user: User
    counts: Profile
    followed_by_me: bool
    avatar_url: str | None = None
