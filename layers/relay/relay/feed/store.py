"""The feed's five tables: their items, key formats and queries. Nobody else builds a key.

- PostsTable, one item per post (`postId`), with its counters (`likes`, `comments`,
  `shares`); the `ByAuthor` index (`authorId`, `postId`) lists an author's posts
  newest first (ids sort by time, relay.feed.ids). Its stream carries every new and
  deleted post to the fan-out consumer.
- FollowsTable, one item per follow (`follower`, `followee`): a user's followees are
  a query on the table, an author's followers a query on the `Followers` index.
- LikesTable, one item per (post, user): liking twice finds the item there, so it
  counts once.
- CommentsTable, a post's comments (`postId`, `commentId`), oldest first.
- ProfilesTable, a user's counters (`followers`, `following`, `posts`) and, once
  they cross the celebrity threshold, `celebrity`, which puts them in the sparse
  `Celebrities` index.

Every change and the counters it moves are one transaction, each part with its
condition, so counts never drift from what they count.

The client is boto3's low-level one: BatchGetItem over two tables at once (posts and
the caller's likes of them) is one call, which the read path counts on.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from relay.feed.models import Comment, Post, Profile
from relay.platform.config import settings

BATCH_GET_MAX = 100
BATCH_WRITE_MAX = 25
CELEBRITY = "yes"


@dataclass
class Tables:
    posts: str
    follows: str
    likes: str
    comments: str
    profiles: str

    @classmethod
    def from_settings(cls) -> Tables:
        conf = settings()
        return cls(
            conf.posts_table,
            conf.follows_table,
            conf.likes_table,
            conf.comments_table,
            conf.profiles_table,
        )


class Missing(Exception):
    """No such post (never made, or deleted)."""


class AlreadyDone(Exception):
    """The change was made before (a second like, a second follow): nothing to count."""


class NotOwned(Exception):
    """The post belongs to someone else."""


@functools.cache
def dynamodb_client() -> Any:
    conf = settings()
    return boto3.client("dynamodb", region_name=conf.aws_region, endpoint_url=conf.aws_endpoint_url)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _post_item(post: Post) -> dict[str, Any]:
    item: dict[str, Any] = {
        "postId": _s(post.post_id),
        "authorId": _s(post.author_id),
        "content": _s(post.content),
        "mediaUrls": {"L": [_s(url) for url in post.media_urls]},
        "createdMs": _n(post.created_ms),
        "likes": _n(post.likes),
        "comments": _n(post.comments),
        "shares": _n(post.shares),
    }
    if post.shared_from is not None:
        item["sharedFrom"] = _s(post.shared_from)
    return item


def post_of(item: dict[str, Any]) -> Post:
    """A post from its item (also a stream image, which has the same shape)."""
    return Post(
        post_id=item["postId"]["S"],
        author_id=item["authorId"]["S"],
        content=item.get("content", {}).get("S", ""),
        media_urls=[url["S"] for url in item.get("mediaUrls", {}).get("L", [])],
        created_ms=int(item.get("createdMs", {}).get("N", "0")),
        likes=max(0, int(item.get("likes", {}).get("N", "0"))),
        comments=max(0, int(item.get("comments", {}).get("N", "0"))),
        shares=max(0, int(item.get("shares", {}).get("N", "0"))),
        shared_from=item["sharedFrom"]["S"] if "sharedFrom" in item else None,
    )


def _reasons(error: ClientError) -> list[str]:
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


def _cancelled(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "TransactionCanceledException"


@dataclass
class FeedStore:
    tables: Tables = field(default_factory=Tables.from_settings)
    client: Any = None

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = dynamodb_client()

    # ------------------------------------------------------------------ posts
    def _count_update(self, table: str, key: dict[str, Any], name: str, delta: int) -> Any:
        return {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "ADD #c :d",
                "ExpressionAttributeNames": {"#c": name},
                "ExpressionAttributeValues": {":d": _n(delta)},
            }
        }

    def _profile_count(self, user_id: str, name: str, delta: int) -> Any:
        return self._count_update(self.tables.profiles, {"userId": _s(user_id)}, name, delta)

    def create_post(self, post: Post, *, shared: Post | None = None) -> None:
        """Store a post and count it on its author's profile (and, for a share, on the
        shared post); Missing when the shared post is gone."""
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self.tables.posts,
                    "Item": _post_item(post),
                    "ConditionExpression": "attribute_not_exists(postId)",
                }
            },
            self._profile_count(post.author_id, "posts", 1),
        ]
        if shared is not None:
            update = self._count_update(
                self.tables.posts, {"postId": _s(shared.post_id)}, "shares", 1
            )
            update["Update"]["ConditionExpression"] = "attribute_exists(postId)"
            items.append(update)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _cancelled(error) and "ConditionalCheckFailed" in _reasons(error)[2:]:
                raise Missing(shared.post_id if shared else post.post_id) from error
            raise

    def get_post(self, post_id: str) -> Post | None:
        reply = self.client.get_item(
            TableName=self.tables.posts, Key={"postId": _s(post_id)}, ConsistentRead=True
        )
        return post_of(reply["Item"]) if "Item" in reply else None

    def delete_post(self, post_id: str, owner: str) -> Post:
        """Delete the owner's post and uncount it; Missing or NotOwned. Its comments and
        likes go with it, in the fan-out consumer (the stream carries the delete)."""
        post = self.get_post(post_id)
        if post is None:
            raise Missing(post_id)
        if post.author_id != owner:
            raise NotOwned(post_id)
        items: list[Any] = [
            {
                "Delete": {
                    "TableName": self.tables.posts,
                    "Key": {"postId": _s(post_id)},
                    "ConditionExpression": "authorId = :me",
                    "ExpressionAttributeValues": {":me": _s(owner)},
                }
            },
            self._profile_count(owner, "posts", -1),
        ]
        if post.shared_from is not None:  # a share: the shared post counts one share less
            update = self._count_update(
                self.tables.posts, {"postId": _s(post.shared_from)}, "shares", -1
            )
            update["Update"]["ConditionExpression"] = "attribute_exists(postId)"
            items.append(update)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not _cancelled(error):
                raise
            reasons = _reasons(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise Missing(post_id) from error  # deleted by a concurrent request
            if reasons[2:3] == ["ConditionalCheckFailed"]:  # the shared post is gone already
                self.client.transact_write_items(TransactItems=items[:2])
            else:
                raise
        return post

    def recent_ids(self, author_id: str, limit: int) -> list[str]:
        return self.recent_ids_before(author_id, limit, None)

    def recent_ids_before(self, author_id: str, limit: int, before: str | None) -> list[str]:
        """The ids of the author's newest posts older than the id `before` (the ByAuthor
        index holds keys only: the posts themselves are hydrated by id)."""
        condition = "authorId = :a" + (" AND postId < :before" if before else "")
        values = {":a": _s(author_id)} | ({":before": _s(before)} if before else {})
        reply = self.client.query(
            TableName=self.tables.posts,
            IndexName="ByAuthor",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
        return [item["postId"]["S"] for item in reply["Items"]]

    def hydrate(self, post_ids: list[str], viewer: str) -> tuple[dict[str, Post], set[str]]:
        """The posts that still exist among `post_ids`, and which of them `viewer` liked:
        one BatchGetItem over both tables (at most 50 ids)."""
        if not post_ids:
            return {}, set()
        unique = list(dict.fromkeys(post_ids))
        assert len(unique) * 2 <= BATCH_GET_MAX, "a page is at most 50 posts"
        request = {
            self.tables.posts: {"Keys": [{"postId": _s(i)} for i in unique]},
            self.tables.likes: {
                "Keys": [{"postId": _s(i), "userId": _s(viewer)} for i in unique],
                "ProjectionExpression": "postId",
            },
        }
        posts: dict[str, Post] = {}
        liked: set[str] = set()
        while request:
            reply = self.client.batch_get_item(RequestItems=request)
            for item in reply["Responses"].get(self.tables.posts, []):
                post = post_of(item)
                posts[post.post_id] = post
            liked.update(i["postId"]["S"] for i in reply["Responses"].get(self.tables.likes, []))
            request = reply.get("UnprocessedKeys") or {}
        return posts, liked

    def counts_of(self, post_ids: list[str]) -> dict[str, Post]:
        """The posts among `post_ids` (at most 100), for ranking: one BatchGetItem."""
        request = {self.tables.posts: {"Keys": [{"postId": _s(i)} for i in post_ids]}}
        posts: dict[str, Post] = {}
        while request and post_ids:
            reply = self.client.batch_get_item(RequestItems=request)
            for item in reply["Responses"].get(self.tables.posts, []):
                post = post_of(item)
                posts[post.post_id] = post
            request = reply.get("UnprocessedKeys") or {}
        return posts

    # ------------------------------------------------------------------ follows
    def follow(self, follower: str, followee: str, now_ms: int) -> None:
        """Follow and count it on both profiles; AlreadyDone when already following."""
        items = [
            {
                "Put": {
                    "TableName": self.tables.follows,
                    "Item": {
                        "follower": _s(follower),
                        "followee": _s(followee),
                        "createdMs": _n(now_ms),
                    },
                    "ConditionExpression": "attribute_not_exists(follower)",
                }
            },
            self._profile_count(follower, "following", 1),
            self._profile_count(followee, "followers", 1),
        ]
        self._follow_change(items, followee)

    def unfollow(self, follower: str, followee: str) -> None:
        """Stop following and uncount it; AlreadyDone when not following."""
        items = [
            {
                "Delete": {
                    "TableName": self.tables.follows,
                    "Key": {"follower": _s(follower), "followee": _s(followee)},
                    "ConditionExpression": "attribute_exists(follower)",
                }
            },
            self._profile_count(follower, "following", -1),
            self._profile_count(followee, "followers", -1),
        ]
        self._follow_change(items, followee)

    def _follow_change(self, items: list[dict[str, Any]], followee: str) -> None:
        """A follow's or unfollow's transaction: the follow item first, then the counts."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _cancelled(error) and _reasons(error)[:1] == ["ConditionalCheckFailed"]:
                raise AlreadyDone(followee) from error
            raise

    def is_following(self, follower: str, followee: str) -> bool:
        reply = self.client.get_item(
            TableName=self.tables.follows,
            Key={"follower": _s(follower), "followee": _s(followee)},
            ConsistentRead=True,
        )
        return "Item" in reply

    def followees(self, user_id: str) -> list[str]:
        found: list[str] = []
        request: dict[str, Any] = {
            "TableName": self.tables.follows,
            "KeyConditionExpression": "follower = :u",
            "ExpressionAttributeValues": {":u": _s(user_id)},
            "ProjectionExpression": "followee",
        }
        while True:
            reply = self.client.query(**request)
            found += [item["followee"]["S"] for item in reply["Items"]]
            if "LastEvaluatedKey" not in reply:
                return found
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def follower_pages(self, user_id: str, page: int) -> Iterator[list[str]]:
        """The author's followers, a page at a time (the index holds keys only)."""
        request: dict[str, Any] = {
            "TableName": self.tables.follows,
            "IndexName": "Followers",
            "KeyConditionExpression": "followee = :u",
            "ExpressionAttributeValues": {":u": _s(user_id)},
            "Limit": page,
        }
        while True:
            reply = self.client.query(**request)
            followers = [item["follower"]["S"] for item in reply["Items"]]
            if followers:
                yield followers
            if "LastEvaluatedKey" not in reply:
                return
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    # ------------------------------------------------------------------ profiles
    def profile(self, user_id: str) -> Profile:
        reply = self.client.get_item(
            TableName=self.tables.profiles, Key={"userId": _s(user_id)}, ConsistentRead=True
        )
        item = reply.get("Item", {})
        return Profile(
            user_id=user_id,
            followers=max(0, int(item.get("followers", {}).get("N", "0"))),
            following=max(0, int(item.get("following", {}).get("N", "0"))),
            posts=max(0, int(item.get("posts", {}).get("N", "0"))),
            celebrity="celebrity" in item,
        )

    def mark_celebrity(self, user_id: str) -> None:
        self.client.update_item(
            TableName=self.tables.profiles,
            Key={"userId": _s(user_id)},
            UpdateExpression="SET celebrity = :yes",
            ExpressionAttributeValues={":yes": _s(CELEBRITY)},
        )

    def celebrities(self) -> list[str]:
        found: list[str] = []
        request: dict[str, Any] = {
            "TableName": self.tables.profiles,
            "IndexName": "Celebrities",
            "KeyConditionExpression": "celebrity = :yes",
            "ExpressionAttributeValues": {":yes": _s(CELEBRITY)},
        }
        while True:
            reply = self.client.query(**request)
            found += [item["userId"]["S"] for item in reply["Items"]]
            if "LastEvaluatedKey" not in reply:
                return found
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    # ------------------------------------------------------------------ likes
    def like(self, post_id: str, user_id: str, now_ms: int) -> None:
        """Like and count it; AlreadyDone when liked before, Missing when the post is gone."""
        update = self._count_update(self.tables.posts, {"postId": _s(post_id)}, "likes", 1)
        update["Update"]["ConditionExpression"] = "attribute_exists(postId)"
        items = [
            {
                "Put": {
                    "TableName": self.tables.likes,
                    "Item": {
                        "postId": _s(post_id),
                        "userId": _s(user_id),
                        "createdMs": _n(now_ms),
                    },
                    "ConditionExpression": "attribute_not_exists(postId)",
                }
            },
            update,
        ]
        self._like_change(items, post_id)

    def unlike(self, post_id: str, user_id: str) -> None:
        update = self._count_update(self.tables.posts, {"postId": _s(post_id)}, "likes", -1)
        update["Update"]["ConditionExpression"] = "attribute_exists(postId)"
        items = [
            {
                "Delete": {
                    "TableName": self.tables.likes,
                    "Key": {"postId": _s(post_id), "userId": _s(user_id)},
                    "ConditionExpression": "attribute_exists(postId)",
                }
            },
            update,
        ]
        self._like_change(items, post_id)

    def _like_change(self, items: list[dict[str, Any]], post_id: str) -> None:
        """A like's or unlike's transaction: the like item first, the post's count second."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not _cancelled(error):
                raise
            reasons = _reasons(error)
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise Missing(post_id) from error
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise AlreadyDone(post_id) from error
            raise

    def liked(self, post_id: str, user_id: str) -> bool:
        reply = self.client.get_item(
            TableName=self.tables.likes, Key={"postId": _s(post_id), "userId": _s(user_id)}
        )
        return "Item" in reply

    # ------------------------------------------------------------------ comments
    def add_comment(self, comment: Comment) -> None:
        update = self._count_update(
            self.tables.posts, {"postId": _s(comment.post_id)}, "comments", 1
        )
        update["Update"]["ConditionExpression"] = "attribute_exists(postId)"
        items = [
            {
                "Put": {
                    "TableName": self.tables.comments,
                    "Item": {
                        "postId": _s(comment.post_id),
                        "commentId": _s(comment.comment_id),
                        "authorId": _s(comment.author_id),
                        "content": _s(comment.content),
                        "createdMs": _n(comment.created_ms),
                    },
                }
            },
            update,
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if _cancelled(error) and _reasons(error)[1:2] == ["ConditionalCheckFailed"]:
                raise Missing(comment.post_id) from error
            raise

    def comments(self, post_id: str, limit: int, after: str | None) -> list[Comment]:
        request: dict[str, Any] = {
            "TableName": self.tables.comments,
            "KeyConditionExpression": "postId = :p" + (" AND commentId > :after" if after else ""),
            "ExpressionAttributeValues": {":p": _s(post_id)}
            | ({":after": _s(after)} if after else {}),
            "Limit": limit,
        }
        return [
            Comment(
                post_id=item["postId"]["S"],
                comment_id=item["commentId"]["S"],
                author_id=item["authorId"]["S"],
                content=item["content"]["S"],
                created_ms=int(item["createdMs"]["N"]),
            )
            for item in self.client.query(**request)["Items"]
        ]

    # ------------------------------------------------------------------ clean-up
    def delete_engagement(self, post_id: str) -> int:
        """Delete a deleted post's comments and likes; how many items went."""
        deleted = 0
        for table, sort_key in (
            (self.tables.comments, "commentId"),
            (self.tables.likes, "userId"),
        ):
            request: dict[str, Any] = {
                "TableName": table,
                "KeyConditionExpression": "postId = :p",
                "ExpressionAttributeValues": {":p": _s(post_id)},
                "ProjectionExpression": f"postId, {sort_key}",
            }
            while True:
                reply = self.client.query(**request)
                keys = reply["Items"]
                for start in range(0, len(keys), BATCH_WRITE_MAX):
                    self._delete_all(table, keys[start : start + BATCH_WRITE_MAX])
                deleted += len(keys)
                if "LastEvaluatedKey" not in reply:
                    break
                request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return deleted

    def _delete_all(self, table: str, keys: list[dict[str, Any]]) -> None:
        request = {table: [{"DeleteRequest": {"Key": key}} for key in keys]}
        while request:
            reply = self.client.batch_write_item(RequestItems=request)
            request = reply.get("UnprocessedItems") or {}
