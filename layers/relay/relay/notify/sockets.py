"""The open sockets of a user, and a frame sent to each: the in-app channel's live half.

The chat owns the WebSocket API and its ChatConnectionsTable; notifications read that
table (its `USER#<userId>` items: the set of a user's connection ids, written by
relay.chat.connections_table) and post through the same stage's `@connections` API.
The systems never import each other, so the one key format this module reads is
written here a second time; tests/integration/test_notify.py holds the two equal.
A frame is a courtesy: the inbox already holds the notification, so a gone or slow
connection is skipped (the chat removes gone ones), never retried.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Protocol

from relay.platform.dynamo import Table, batch_get, s

log = logging.getLogger(__name__)


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> bool:
        """Send a frame; False when the connection is gone."""
        ...


class ConnectionsReader(Table):
    def of_user(self, user_id: str) -> list[str]:
        found = batch_get(
            self.client,
            {self.name: [{"pk": s(f"USER#{user_id}")}]},
            options={self.name: {"ProjectionExpression": "pk, connections"}},
        )
        return sorted(
            connection
            for item in found[self.name]
            for connection in item.get("connections", {}).get("SS", [])
        )


class ManagementApi:
    """The `@connections` API of the chat's stage; made on the first frame."""

    def __init__(self, make_client: Any) -> None:
        self._make = make_client

    @functools.cached_property
    def _client(self) -> Any:
        return self._make()

    def post(self, connection_id: str, data: bytes) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException:
            return False
        return True


class Sockets:
    def __init__(self, connections: ConnectionsReader, poster: Poster | None) -> None:
        self._connections = connections
        self._poster = poster

    def send(self, user_id: str, frame: dict[str, Any]) -> int:
        """Post `frame` to every open socket of `user_id`; how many took it."""
        if self._poster is None:
            return 0
        data = json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()
        sent = 0
        for connection in self._connections.of_user(user_id):
            try:
                sent += self._poster.post(connection, data)
            except Exception:  # noqa: BLE001 - one socket's failure is nobody else's
                log.warning("a notification frame was not sent", extra={"connection": connection})
        return sent
