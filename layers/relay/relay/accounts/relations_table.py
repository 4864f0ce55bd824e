"""RelationsTable: what one person set about another (`userId`, `other`): a block
(`blocked`) or a mute (`muted`), each one attribute of the one item of the pair.
"""

from __future__ import annotations

from relay.platform.dynamo import Item, Table, batch_get, s

BLOCKED = "blocked"
MUTED = "muted"


class RelationsTable(Table):
    def key(self, user_id: str, other: str) -> Item:
        return {"userId": s(user_id), "other": s(other)}

    def set(self, user_id: str, other: str, what: str, *, on: bool) -> None:
        """Set (or clear) `what` (BLOCKED or MUTED) that `user_id` holds about `other`."""
        if on:
            update = {
                "UpdateExpression": "SET #w = :yes",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
            }
        else:
            update = {"UpdateExpression": "REMOVE #w"}
        self.client.update_item(
            TableName=self.name,
            Key=self.key(user_id, other),
            ExpressionAttributeNames={"#w": what},
            **update,
        )

    def blocked_between(self, a: str, b: str) -> bool:
        """Whether either of the two blocked the other: one BatchGetItem."""
        keys = [self.key(a, b), self.key(b, a)]
        found = batch_get(self.client, {self.name: keys})[self.name]
        return any(item.get(BLOCKED, {}).get("BOOL") for item in found)
