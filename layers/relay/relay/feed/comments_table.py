"""CommentsTable: a post's comments (`postId`, `commentId`), oldest first (comment ids
sort by time, relay.feed.ids).
"""

from __future__ import annotations

from relay.feed.models import Comment
from relay.feed.posts_table import string_list, strings
from relay.platform.dynamo import Item, Table, delete_existing, delete_partition, n, s


class CommentsTable(Table):
    def put(self, comment: Comment) -> Item:
        """The transaction item that stores a comment."""
        item = {
            "postId": s(comment.post_id),
            "commentId": s(comment.comment_id),
            "authorId": s(comment.author_id),
            "content": s(comment.content),
            "createdMs": n(comment.created_ms),
            "mentions": string_list(comment.mentions),
            "hashtags": string_list(comment.hashtags),
        }
        return {"Put": {"TableName": self.name, "Item": item}}

    def key(self, post_id: str, comment_id: str) -> Item:
        return {"postId": s(post_id), "commentId": s(comment_id)}

    def one(self, post_id: str, comment_id: str) -> Comment | None:
        reply = self.client.get_item(
            TableName=self.name, Key=self.key(post_id, comment_id), ConsistentRead=True
        )
        return comment_of(reply["Item"]) if "Item" in reply else None

    def delete_existing(self, post_id: str, comment_id: str) -> Item:
        """The transaction item that deletes a comment (refused if it is gone)."""
        return delete_existing(self.name, self.key(post_id, comment_id))

    def page(self, post_id: str, limit: int, after: str | None) -> list[Comment]:
        """Up to `limit` of the post's comments, oldest first, after the id `after`."""
        condition = "postId = :p" + (" AND commentId > :after" if after else "")
        values = {":p": s(post_id)} | ({":after": s(after)} if after else {})
        reply = self.client.query(
            TableName=self.name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        return [comment_of(item) for item in reply["Items"]]

    def delete_all(self, post_id: str) -> int:
        """Delete a deleted post's comments; how many there were."""
        return delete_partition(self.client, self.name, "postId", s(post_id), "commentId")


def comment_of(item: Item) -> Comment:
    return Comment(
        post_id=item["postId"]["S"],
        comment_id=item["commentId"]["S"],
        author_id=item["authorId"]["S"],
        content=item["content"]["S"],
        created_ms=int(item["createdMs"]["N"]),
        mentions=strings(item, "mentions"),
        hashtags=strings(item, "hashtags"),
    )
