"""The feed's six tables, one store each, on one client, and the transactions that
span them.

Every change and the counters it moves are one transaction (a post and its author's
`posts`; a follow and both profiles' counts; a like and the post's `likes`), each part
with its condition, so counts never drift from what they count. The logic modules
(relay.feed.feed) compose a transaction from the parts each store hands out, and run
it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from relay.feed.comments_table import CommentsTable
from relay.feed.follows_table import FollowsTable
from relay.feed.likes_table import LikesTable
from relay.feed.posts_table import PostsTable
from relay.feed.profiles_table import ProfilesTable
from relay.feed.shares_table import SharesTable
from relay.platform.dynamo import CONDITION_FAILED, Item, cancellation_reasons


class Refused(Exception):
    """A transaction that the condition of one or more of its items refused: `failed`
    holds their positions in the transaction."""

    def __init__(self, failed: frozenset[int]) -> None:
        super().__init__(sorted(failed))
        self.failed = failed


@dataclass(frozen=True)
class Tables:
    client: Any
    posts: PostsTable
    follows: FollowsTable
    likes: LikesTable
    comments: CommentsTable
    profiles: ProfilesTable
    shares: SharesTable

    def transact(self, items: list[Item]) -> None:
        """Write `items` all or none; Refused when a condition failed (anything else that
        cancels the transaction, a conflict, is raised as DynamoDB raised it)."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            failed = frozenset(i for i, code in enumerate(reasons) if code == CONDITION_FAILED)
            if failed:
                raise Refused(failed) from error
            raise
