"""ProfilesTable: a user's counters (`followers`, `following`, `posts`), moved in the
same transaction as what they count, and, once they cross the celebrity threshold,
`celebrity`, which puts them in the sparse `Celebrities` index.
"""

from __future__ import annotations

from relay.feed.models import Profile
from relay.platform.dynamo import Item, Table, add_to, query_pages, s

CELEBRITY = "yes"


class ProfilesTable(Table):
    def key(self, user_id: str) -> Item:
        return {"userId": s(user_id)}

    def count(self, user_id: str, counter: str, delta: int) -> Item:
        """The transaction item that moves one of a user's counters (the profile is made
        by its first count)."""
        return add_to(self.name, self.key(user_id), counter, delta)

    def get(self, user_id: str) -> Profile:
        reply = self.client.get_item(
            TableName=self.name, Key=self.key(user_id), ConsistentRead=True
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
            TableName=self.name,
            Key=self.key(user_id),
            UpdateExpression="SET celebrity = :yes",
            ExpressionAttributeValues={":yes": s(CELEBRITY)},
        )

    def celebrities(self) -> list[str]:
        request = {
            "TableName": self.name,
            "IndexName": "Celebrities",
            "KeyConditionExpression": "celebrity = :yes",
            "ExpressionAttributeValues": {":yes": s(CELEBRITY)},
        }
        pages = query_pages(self.client, request)
        return [item["userId"]["S"] for items in pages for item in items]
