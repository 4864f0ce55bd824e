"""PostsTable: one item per post (`postId`), with its counters (`likes`, `comments`,
`shares`). The `ByAuthor` index (`authorId`, `postId`) lists an author's posts newest
first (ids sort by time, relay.feed.ids); it holds keys only, so posts are read by id.
Its stream carries every new and deleted post to the fan-out consumer.

The item format is written here and nowhere else; a stream image has the same shape,
so the FanOut function reads one with `post_of`.
"""

from __future__ import annotations

from relay.feed.models import Post
from relay.platform.dynamo import Item, Table, add_to, batch_get, n, put_new, s

EXISTS = "attribute_exists(postId)"


def post_of(item: Item) -> Post:
    """A post from its item (or from a stream image of it)."""
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
        edited_ms=int(item["editedMs"]["N"]) if "editedMs" in item else None,
        mentions=strings(item, "mentions"),
        hashtags=strings(item, "hashtags"),
    )


def strings(item: Item, name: str) -> list[str]:
    """A list of strings of an item (mentions, hashtags); [] when absent."""
    return [value["S"] for value in item.get(name, {}).get("L", [])]


def string_list(values: list[str]) -> Item:
    return {"L": [s(value) for value in values]}


def _item(post: Post) -> Item:
    item: Item = {
        "postId": s(post.post_id),
        "authorId": s(post.author_id),
        "content": s(post.content),
        "mediaUrls": {"L": [s(url) for url in post.media_urls]},
        "createdMs": n(post.created_ms),
        "likes": n(post.likes),
        "comments": n(post.comments),
        "shares": n(post.shares),
        "mentions": string_list(post.mentions),
        "hashtags": string_list(post.hashtags),
    }
    if post.shared_from is not None:
        item["sharedFrom"] = s(post.shared_from)
    return item


class PostsTable(Table):
    def key(self, post_id: str) -> Item:
        return {"postId": s(post_id)}

    def put_new(self, post: Post) -> Item:
        """The transaction item that stores a new post (refused if its id is taken)."""
        return put_new(self.name, _item(post), "postId")

    def delete_owned(self, post_id: str, owner: str) -> Item:
        """The transaction item that deletes a post (refused unless `owner` wrote it)."""
        return {
            "Delete": {
                "TableName": self.name,
                "Key": self.key(post_id),
                "ConditionExpression": "authorId = :me",
                "ExpressionAttributeValues": {":me": s(owner)},
            }
        }

    def edit(
        self,
        post_id: str,
        owner: str,
        content: str,
        media_urls: list[str],
        now_ms: int,
        tags: tuple[list[str], list[str]],
    ) -> Post | None:
        """The post with new content, edited now; None unless `owner` wrote it and it is
        not a share (which has no content of its own)."""
        try:
            reply = self.client.update_item(
                TableName=self.name,
                Key=self.key(post_id),
                UpdateExpression="SET content = :c, mediaUrls = :m, editedMs = :t, "
                "mentions = :at, hashtags = :ht",
                ConditionExpression="authorId = :me AND attribute_not_exists(sharedFrom)",
                ExpressionAttributeValues={
                    ":c": s(content),
                    ":m": {"L": [s(url) for url in media_urls]},
                    ":t": n(now_ms),
                    ":me": s(owner),
                    ":at": string_list(tags[0]),
                    ":ht": string_list(tags[1]),
                },
                ReturnValues="ALL_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return post_of(reply["Attributes"])

    def count(self, post_id: str, counter: str, delta: int) -> Item:
        """The transaction item that moves one of a post's counters (refused if the post
        is gone)."""
        return add_to(self.name, self.key(post_id), counter, delta, condition=EXISTS)

    def get(self, post_id: str) -> Post | None:
        reply = self.client.get_item(
            TableName=self.name, Key=self.key(post_id), ConsistentRead=True
        )
        return post_of(reply["Item"]) if "Item" in reply else None

    def get_many(self, post_ids: list[str]) -> dict[str, Post]:
        """The posts among `post_ids` that exist, by id (for ranking: one BatchGetItem for
        up to 100)."""
        found = batch_get(self.client, {self.name: [self.key(i) for i in post_ids]})
        return self.posts_of(found[self.name])

    def posts_of(self, items: list[Item]) -> dict[str, Post]:
        """Posts by id, from the items a batch read found."""
        return {post.post_id: post for post in map(post_of, items)}

    def recent_ids(self, author_id: str, limit: int, before: str | None = None) -> list[str]:
        """The ids of the author's newest posts, older than the id `before` if given."""
        condition = "authorId = :a" + (" AND postId < :before" if before else "")
        values = {":a": s(author_id)} | ({":before": s(before)} if before else {})
        reply = self.client.query(
            TableName=self.name,
            IndexName="ByAuthor",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
        return [item["postId"]["S"] for item in reply["Items"]]
