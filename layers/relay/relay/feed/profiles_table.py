"""ProfilesTable: a user's counters (`followers`, `following`, `posts`), moved in the
same transaction as what they count, and, once they cross the celebrity threshold,
`celebrity`, which puts them in the sparse `Celebrities` index.

`followsVersion` numbers the user's follow changes (1, 2, 3...): each follow or
unfollow sets it one past the number it read, on condition that it is still that
number, so every change has a number of its own. The cached feed keeps the number it
is up to (relay.feed.timeline_cache); a read that finds DynamoDB's higher knows the
cache missed a change, whatever Redis did at the time, and rebuilds it.
"""

from __future__ import annotations

from relay.feed.models import Profile
from relay.platform.dynamo import Item, Table, add_counts, add_to, n, query_pages, s

CELEBRITY = "yes"
FOLLOWS_VERSION = "followsVersion"


class ProfilesTable(Table):
    def key(self, user_id: str) -> Item:
        return {"userId": s(user_id)}

    def count(self, user_id: str, counter: str, delta: int) -> Item:
        """The transaction item that moves one of a user's counters (the profile is made
        by its first count)."""
        return add_to(self.name, self.key(user_id), counter, delta)

    def posts_moved(self, user_id: str, delta: int) -> Item:
        """The transaction item that moves a user's `posts` (the fan-out consumer's, for a
        share deleted with the post it shared)."""
        return self.count(user_id, "posts", delta)

    def following_changed(self, user_id: str, delta: int, version: int) -> Item:
        """The transaction item that counts a follow change (`delta`) on the follower
        and numbers it `version + 1`; refused when `version` is no longer the latest."""
        update = add_counts(
            self.name,
            self.key(user_id),
            {"following": delta},
            condition="attribute_not_exists(#v)" if version == 0 else "#v = :was",
        )
        update["UpdateExpression"] += " SET #v = :v"
        update["ExpressionAttributeNames"]["#v"] = FOLLOWS_VERSION
        update["ExpressionAttributeValues"][":v"] = n(version + 1)
        if version:
            update["ExpressionAttributeValues"][":was"] = n(version)
        return {"Update": update}

    def follows_version(self, user_id: str) -> int:
        """How many follow changes the user made (consistent: a transaction follows)."""
        reply = self.client.get_item(
            TableName=self.name,
            Key=self.key(user_id),
            ConsistentRead=True,
            ProjectionExpression="#v",
            ExpressionAttributeNames={"#v": FOLLOWS_VERSION},
        )
        return version_of(reply.get("Item", {}))

    # A read's BatchGetItem asks for the reader's number beside the page's posts.
    VERSION_ONLY = {
        "ProjectionExpression": "userId, #v",
        "ExpressionAttributeNames": {"#v": FOLLOWS_VERSION},
        "ConsistentRead": True,
    }

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


def version_of(item: Item) -> int:
    return int(item.get(FOLLOWS_VERSION, {}).get("N", "0"))
