"""ChatConnectionsTable: who is connected where. Nobody else builds its keys.

Two kinds of item under `pk`:
- `CONN#<connectionId>`: the user behind a connection;
- `USER#<userId>`: the set of that user's connection ids, so that the connections
  of a whole group are read with BatchGetItem, 100 users a call, instead of one
  index query per member (docs/decisions.md, "Chat connections").
Both carry `ttl` (CONNECTION_TTL_S): API Gateway closes every connection after two
hours, so an item a lost `$disconnect` left behind disappears by itself; a stale id
found before then answers GoneException and is removed (`remove`). This table, not
Redis, is what delivery reads: a Redis outage must not stop messages.
"""

from __future__ import annotations

from collections.abc import Iterable

from relay.chat.models import Connection
from relay.chat.rules import CONNECTION_TTL_S
from relay.platform.dynamo import Item, Table, batch_get, n, s


def _conn_key(connection_id: str) -> Item:
    return {"pk": s(f"CONN#{connection_id}")}


def _user_key(user_id: str) -> Item:
    return {"pk": s(f"USER#{user_id}")}


class ChatConnectionsTable(Table):
    def add(self, connection: Connection, now_ms: int) -> None:
        expires = n(now_ms // 1000 + CONNECTION_TTL_S)
        self.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": {
                            **_conn_key(connection.connection_id),
                            "userId": s(connection.user_id),
                            "connectedMs": n(now_ms),
                            "ttl": expires,
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": _user_key(connection.user_id),
                        "UpdateExpression": "ADD connections :c SET #ttl = :ttl",
                        "ExpressionAttributeNames": {"#ttl": "ttl"},
                        "ExpressionAttributeValues": {
                            ":c": {"SS": [connection.connection_id]},
                            ":ttl": expires,
                        },
                    }
                },
            ]
        )

    def remove(self, connection: Connection) -> None:
        """Forget a connection (closed, or gone); harmless when it is not there."""
        self.client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self.name, "Key": _conn_key(connection.connection_id)}},
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": _user_key(connection.user_id),
                        "UpdateExpression": "DELETE connections :c",
                        "ExpressionAttributeValues": {":c": {"SS": [connection.connection_id]}},
                    }
                },
            ]
        )

    def of_users(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each user's connection ids (users with none are absent)."""
        keys = [_user_key(user) for user in dict.fromkeys(user_ids)]
        found = batch_get(
            self.client,
            {self.name: keys},
            options={self.name: {"ProjectionExpression": "pk, connections"}},
        )
        return {
            item["pk"]["S"].removeprefix("USER#"): sorted(item["connections"]["SS"])
            for item in found[self.name]
            if item.get("connections", {}).get("SS")
        }
