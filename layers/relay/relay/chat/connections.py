"""The connections table: who is connected where. Nobody else builds its keys.

Two kinds of item under `pk`:
- `CONN#<connectionId>`: the user behind a connection;
- `USER#<userId>`: the set of that user's connection ids, so that the connections
  of a whole group are read with BatchGetItem, 100 users a call, instead of one
  index query per member (docs/decisions.md, "Chat connections").
Both carry `ttl`: API Gateway closes every connection after two hours, so an item a
lost `$disconnect` left behind disappears by itself; a stale id found before then
answers GoneException and is removed (`remove`). This table, not Redis, is what
delivery reads: a Redis outage must not stop messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from relay.chat.models import Connection
from relay.chat.rules import CONNECTION_TTL_S

_BATCH_GET = 100


def _conn_key(connection_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CONN#{connection_id}"}}


def _user_key(user_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}}


class ConnectionStore:
    def __init__(
        self, client: Any, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._db = client
        self._table = table
        self._sleep = sleep

    def add(self, connection: Connection, now_ms: int) -> None:
        expires = {"N": str(now_ms // 1000 + CONNECTION_TTL_S)}
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_conn_key(connection.connection_id),
                            "userId": {"S": connection.user_id},
                            "connectedMs": {"N": str(now_ms)},
                            "ttl": expires,
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
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
        self._db.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table, "Key": _conn_key(connection.connection_id)}},
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _user_key(connection.user_id),
                        "UpdateExpression": "DELETE connections :c",
                        "ExpressionAttributeValues": {":c": {"SS": [connection.connection_id]}},
                    }
                },
            ]
        )

    def user_of(self, connection_id: str) -> str | None:
        item = self._db.get_item(TableName=self._table, Key=_conn_key(connection_id)).get("Item")
        return str(item["userId"]["S"]) if item else None

    def of_users(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each user's connection ids (users with none are absent)."""
        ids = list(dict.fromkeys(user_ids))
        out: dict[str, list[str]] = {}
        for start in range(0, len(ids), _BATCH_GET):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [_user_key(u) for u in ids[start : start + _BATCH_GET]],
                    "ProjectionExpression": "pk, connections",
                }
            }
            pause = 0.02
            while pending:
                answer = self._db.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table, []):
                    connections = item.get("connections", {}).get("SS", [])
                    if connections:
                        out[item["pk"]["S"].removeprefix("USER#")] = sorted(connections)
                pending = answer.get("UnprocessedKeys") or {}
                if pending:
                    self._sleep(pause)
                    pause = min(1.0, pause * 2)
        return out
