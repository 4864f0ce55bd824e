"""FollowsTable: one item per follow (`follower`, `followee`). A user's followees are a
query on the table, an author's followers a query on the `Followers` index (keys only).
"""

from __future__ import annotations

from collections.abc import Iterator

from relay.platform.dynamo import Item, Table, delete_existing, n, put_new, query_pages, s


class FollowsTable(Table):
    def key(self, follower: str, followee: str) -> Item:
        return {"follower": s(follower), "followee": s(followee)}

    def put_new(self, follower: str, followee: str, now_ms: int) -> Item:
        """The transaction item that stores a follow (refused if already following)."""
        item = self.key(follower, followee) | {"createdMs": n(now_ms)}
        return put_new(self.name, item, "follower")

    def delete_existing(self, follower: str, followee: str) -> Item:
        """The transaction item that deletes a follow (refused if not following)."""
        return delete_existing(self.name, self.key(follower, followee))

    def is_following(self, follower: str, followee: str) -> bool:
        reply = self.client.get_item(
            TableName=self.name, Key=self.key(follower, followee), ConsistentRead=True
        )
        return "Item" in reply

    def followees(self, user_id: str) -> list[str]:
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "follower = :u",
            "ExpressionAttributeValues": {":u": s(user_id)},
            "ProjectionExpression": "followee",
        }
        pages = query_pages(self.client, request)
        return [item["followee"]["S"] for items in pages for item in items]

    def followers_after(
        self, user_id: str, limit: int, after: str | None
    ) -> tuple[list[str], bool]:
        """A page of the user's followers, by id, after the follower `after`; whether
        more may follow."""
        request = {
            "TableName": self.name,
            "IndexName": "Followers",
            "KeyConditionExpression": "followee = :u",
            "ExpressionAttributeValues": {":u": s(user_id)},
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = self.key(after, user_id)
        reply = self.client.query(**request)
        return [i["follower"]["S"] for i in reply["Items"]], "LastEvaluatedKey" in reply

    def followees_after(
        self, user_id: str, limit: int, after: str | None
    ) -> tuple[list[str], bool]:
        """A page of whom the user follows, by id, after `after`; whether more may follow."""
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "follower = :u",
            "ExpressionAttributeValues": {":u": s(user_id)},
            "ProjectionExpression": "followee",
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = self.key(user_id, after)
        reply = self.client.query(**request)
        return [i["followee"]["S"] for i in reply["Items"]], "LastEvaluatedKey" in reply

    def follower_pages(self, user_id: str, page: int) -> Iterator[list[str]]:
        """The author's followers, up to `page` of them at a time."""
        request = {
            "TableName": self.name,
            "IndexName": "Followers",
            "KeyConditionExpression": "followee = :u",
            "ExpressionAttributeValues": {":u": s(user_id)},
            "Limit": page,
        }
        for items in query_pages(self.client, request):
            if items:
                yield [item["follower"]["S"] for item in items]
