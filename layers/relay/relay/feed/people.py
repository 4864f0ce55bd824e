"""The feed's people: handles in paths, subs in storage, handles again in what it shows.

Storage keys on the token's stable `sub` (follows, posts, counters); paths name people by
handle. A request resolves its handle once, through accounts' directory (400 for a
handle that breaks the rule, 404 user_not_found for one nobody has), and the feed works
on the sub. What the feed shows names people by handle again, looked up when shown
(one BatchGetItem per page over its distinct authors), so a changed handle shows at once
and a deleted account's posts show a null handle; nothing stores a handle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import unquote

from relay.accounts import directory, relations
from relay.accounts.avatars import avatar_url
from relay.accounts.models import User
from relay.accounts.users_table import UsersTable
from relay.feed.feed import Feed
from relay.feed.models import Comment, FeedItem, PersonView, Profile
from relay.platform.errors import Invalid, NotFound


class People:
    def __init__(
        self,
        feed: Feed,
        users: UsersTable | None = None,
        avatar: Callable[[str], str | None] = avatar_url,
    ) -> None:
        self._feed = feed
        self._users = users
        self._avatar = avatar

    def sub_of(self, handle: str) -> str:
        """The sub a path's handle names: 400 invalid_handle, 404 user_not_found. The
        handle may come percent-encoded (`%EF%BD%81lice`) or decoded, as gateways pass it."""
        return directory.resolve(unquote(handle), self._users)

    def handles(self, subs: Iterable[str]) -> dict[str, str]:
        """sub -> handle for those among `subs` whose account still exists: one batch."""
        return {sub: user.handle for sub, user in directory.people(subs, self._users).items()}

    def authors(self, entities: Iterable[FeedItem | Comment]) -> dict[str, str]:
        """sub -> handle of the authors of a page's posts or comments, and of whom they
        mention: one batch."""
        subs: list[str] = []
        for entity in entities:
            shown = entity.post if isinstance(entity, FeedItem) else entity
            subs += [shown.author_id, *shown.mentions]
        return self.handles(subs)

    def profile(self, viewer: str | None, handle: str) -> PersonView:
        """Whom `handle` names, with their counters and whether `viewer` (None when
        anonymous) follows them."""
        user = self._person(handle)
        counts, followed = self._feed.profile(viewer, user.sub)
        return self._view(user, counts, followed)

    def follow(self, follower: str, handle: str, *, on: bool) -> PersonView:
        """Follow (or unfollow) whom `handle` names; following oneself is a 400."""
        user = self._person(handle)
        change = self._feed.follow if on else self._feed.unfollow
        counts, followed = change(follower, user.sub)
        return self._view(user, counts, followed)

    def block(self, user_id: str, handle: str, *, on: bool) -> None:
        """Block (or unblock) whom `handle` names; a block ends follows both ways."""
        other = self._person(handle).sub
        if other == user_id:
            raise Invalid("You cannot block yourself.", code="cannot_block_self")
        relations.block(user_id, other, on=on)
        if on:
            self._feed.blocked_now(user_id, other)

    def mute(self, user_id: str, handle: str, *, on: bool) -> None:
        """Mute (or unmute) whom `handle` names; they are not told."""
        other = self._person(handle).sub
        if other == user_id:
            raise Invalid("You cannot mute yourself.", code="cannot_mute_self")
        relations.mute(user_id, other, on=on)

    def _person(self, handle: str) -> User:
        sub = self.sub_of(handle)
        user = directory.people([sub], self._users).get(sub)
        if user is None:  # the handle outlived its account for a moment (being deleted)
            raise NotFound(f"Nobody has the handle {handle!r}.", code="user_not_found")
        return user

    def _view(self, user: User, counts: Profile, followed: bool) -> PersonView:
        avatar = self._avatar(user.avatar_key) if user.avatar_key else None
        return PersonView(user, counts, followed, avatar)
