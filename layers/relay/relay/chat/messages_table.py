"""MessagesTable: every message, under `conversationId` and `seq` (a number), so history
is one query in either direction. Nobody else builds its items.

A message is put only as part of the transaction that allocates its seq
(relay.chat.ordering), on the condition that the seq is free: `put` hands out that
transaction's entry rather than writing.
"""

from __future__ import annotations

from typing import Any

from relay.chat.models import Message
from relay.platform.dynamo import Item, Table, n, put_new, s


def _message(item: Item) -> Message:
    return Message(
        conversation_id=item["conversationId"]["S"],
        message_id=item["messageId"]["S"],
        seq=int(item["seq"]["N"]),
        sender_id=item["senderId"]["S"],
        content=item["content"]["S"],
        timestamp_ms=int(item["ts"]["N"]),
        attachments=tuple(a["S"] for a in item.get("attachments", {}).get("L", [])),
        client_message_id=item["clientMessageId"]["S"] if "clientMessageId" in item else None,
    )


class MessagesTable(Table):
    def put(self, message: Message) -> dict[str, Any]:
        """The TransactWriteItems entry that stores `message` at its seq, if that is free."""
        item: Item = {
            "conversationId": s(message.conversation_id),
            "seq": n(message.seq),
            "messageId": s(message.message_id),
            "senderId": s(message.sender_id),
            "content": s(message.content),
            "ts": n(message.timestamp_ms),
        }
        if message.attachments:
            item["attachments"] = {"L": [s(a) for a in message.attachments]}
        if message.client_message_id:
            item["clientMessageId"] = s(message.client_message_id)
        return put_new(self.name, item, "seq")

    def get(self, conversation_id: str, seq: int) -> Message | None:
        answer = self.client.get_item(
            TableName=self.name,
            Key={"conversationId": s(conversation_id), "seq": n(seq)},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return _message(item) if item else None

    def history(self, conversation_id: str, before: int | None, limit: int) -> list[Message]:
        """Up to `limit` messages below seq `before` (or the newest), oldest first."""
        values: dict[str, Any] = {":c": s(conversation_id)}
        condition = "conversationId = :c"
        if before is not None:
            condition += " AND seq < :before"
            values[":before"] = n(before)
        answer = self.client.query(
            TableName=self.name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_message(item) for item in reversed(answer.get("Items", []))]

    def after(self, conversation_id: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages above seq, oldest first (what a member has not read)."""
        answer = self.client.query(
            TableName=self.name,
            KeyConditionExpression="conversationId = :c AND seq > :seq",
            ExpressionAttributeValues={":c": s(conversation_id), ":seq": n(seq)},
            ScanIndexForward=True,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_message(item) for item in answer.get("Items", [])]
