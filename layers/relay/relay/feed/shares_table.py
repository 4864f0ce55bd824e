"""SharesTable: one item per (post, user) that shared it (`postId` of the shared post,
`userId`), naming the share (`sharePostId`): sharing twice finds the item there and
answers with that share, and deleting the shared post finds its shares here.
"""

from __future__ import annotations

from relay.platform.dynamo import Item, Table, n, put_new, query_pages, s

SHARE = "sharePostId"


class SharesTable(Table):
    def key(self, post_id: str, user_id: str) -> Item:
        return {"postId": s(post_id), "userId": s(user_id)}

    def put_new(self, post_id: str, user_id: str, share_id: str, now_ms: int) -> Item:
        """The transaction item that records a share (refused if shared already)."""
        item = self.key(post_id, user_id) | {SHARE: s(share_id), "createdMs": n(now_ms)}
        return put_new(self.name, item, "postId")

    def forget(self, post_id: str, user_id: str) -> Item:
        """The transaction item that forgets a share (there or not)."""
        return {"Delete": {"TableName": self.name, "Key": self.key(post_id, user_id)}}

    def share_of(self, post_id: str, user_id: str) -> str | None:
        """The id of `user_id`'s share of the post, if they shared it."""
        reply = self.client.get_item(
            TableName=self.name, Key=self.key(post_id, user_id), ConsistentRead=True
        )
        return reply["Item"][SHARE]["S"] if "Item" in reply else None

    def shares_of(self, post_id: str) -> list[tuple[str, str]]:
        """Every (user, share id) of the post's shares."""
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "postId = :p",
            "ExpressionAttributeValues": {":p": s(post_id)},
        }
        pages = query_pages(self.client, request)
        return [(item["userId"]["S"], item[SHARE]["S"]) for items in pages for item in items]
