"""LikesTable: one item per (post, user) that liked it (`postId`, `userId`): liking
twice finds the item there, so it counts once.
"""

from __future__ import annotations

from relay.platform.dynamo import Item, Table, delete_existing, delete_partition, n, put_new, s


class LikesTable(Table):
    # A batch read of likes only asks whether each is there.
    KEYS_ONLY = {"ProjectionExpression": "postId"}

    def key(self, post_id: str, user_id: str) -> Item:
        return {"postId": s(post_id), "userId": s(user_id)}

    def put_new(self, post_id: str, user_id: str, now_ms: int) -> Item:
        """The transaction item that stores a like (refused if liked already)."""
        return put_new(self.name, self.key(post_id, user_id) | {"createdMs": n(now_ms)}, "postId")

    def delete_existing(self, post_id: str, user_id: str) -> Item:
        """The transaction item that deletes a like (refused if not liked)."""
        return delete_existing(self.name, self.key(post_id, user_id))

    def liked(self, post_id: str, user_id: str) -> bool:
        return "Item" in self.client.get_item(TableName=self.name, Key=self.key(post_id, user_id))

    def keys_by(self, user_id: str, post_ids: list[str]) -> list[Item]:
        """The keys of `user_id`'s likes of these posts, for a batch read (KEYS_ONLY)."""
        return [self.key(post_id, user_id) for post_id in post_ids]

    def liked_of(self, items: list[Item]) -> set[str]:
        """The ids of the posts whose likes a batch read found."""
        return {item["postId"]["S"] for item in items}

    def likers_after(self, post_id: str, limit: int, after: str | None) -> tuple[list[str], bool]:
        """A page of who liked the post, by id, after `after`; whether more may follow."""
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "postId = :p",
            "ExpressionAttributeValues": {":p": s(post_id)},
            "ProjectionExpression": "userId",
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = self.key(post_id, after)
        reply = self.client.query(**request)
        return [i["userId"]["S"] for i in reply["Items"]], "LastEvaluatedKey" in reply

    def delete_all(self, post_id: str) -> int:
        """Delete a deleted post's likes; how many there were."""
        return delete_partition(self.client, self.name, "postId", s(post_id), "userId")
