"""The conversations and messages tables: their key formats, transactions and queries.

Nobody else builds a key. ConversationsTable holds, under `pk = CONV#<id>`:
- `#META`: kind, name, `lastSeq` (the conversation's counter) and `lastMessageAt`;
- `#MEMBERS`: the member list, read with META in one query when a message is sent;
- `MEMBER#<user>`: one per member, with `lastRead`; the `ByMember` index lists a
  user's conversations from these;
- `CLIENT#<sender>#<clientMessageId>`: which message a client's id became (expires).
MessagesTable holds messages under `conversationId` and `seq` (a number), so history
is one query in either direction.

A message is stored in one transaction: META's `lastSeq` moves from n to n+1 (on
the condition that it is still n), the message is put at seq n+1, the sender's
`lastRead` becomes n+1 (on the condition that they are a member), and the client id
item is put (on the condition that it is new). So seq is allocated durably, with no
gap (a failed transaction allocates nothing) and no duplicate; a retried client id
cancels the transaction and returns the message it stored the first time.
The low-level client is used, not PynamoDB: these are transactions with conditions
on several item kinds, which its models do not express more clearly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from relay.chat.models import Conversation, Message
from relay.chat.rules import CLIENT_ID_TTL_S, SEQ_ATTEMPTS

_BATCH_GET = 100
_BATCH_WRITE = 25

Item = dict[str, dict[str, Any]]


def _key(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class NotMember(Exception):
    """The sender is not a member of the conversation."""


class Missing(Exception):
    """No such conversation."""


class Contention(Exception):
    """Other senders kept taking the next seq; the caller may try again later."""


@dataclass(frozen=True)
class Membership:
    conversation_id: str
    last_read: int


def _conversation(meta: Item, members: Item | None) -> Conversation:
    names = [m["S"] for m in (members or {}).get("members", {}).get("L", [])]
    return Conversation(
        conversation_id=meta["pk"]["S"].removeprefix("CONV#"),
        kind=meta["kind"]["S"],
        name=meta["name"]["S"] if "name" in meta else None,
        members=tuple(names),
        last_seq=int(meta["lastSeq"]["N"]),
        last_message_ms=int(meta["lastMessageMs"]["N"]) if "lastMessageMs" in meta else None,
        created_ms=int(meta["createdMs"]["N"]),
    )


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


class ChatStore:
    """The two tables, through a DynamoDB client (tests pass moto's, functions the real one)."""

    def __init__(
        self,
        client: Any,
        conversations_table: str,
        messages_table: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = client
        self._conversations = conversations_table
        self._messages = messages_table
        self._sleep = sleep

    # ---------------------------------------------------------------- conversations
    def create(self, conversation: Conversation) -> bool:
        """Store a new conversation and its members; False when its id exists already
        (the 1:1 conversation of the same two users)."""
        pk = _key(conversation.conversation_id)
        meta: Item = {
            "pk": _s(pk),
            "sk": _s("#META"),
            "kind": _s(conversation.kind),
            "lastSeq": _n(0),
            "createdMs": _n(conversation.created_ms),
            "memberCount": _n(len(conversation.members)),
        }
        if conversation.name:
            meta["name"] = _s(conversation.name)
        members: Item = {
            "pk": _s(pk),
            "sk": _s("#MEMBERS"),
            "members": {"L": [_s(m) for m in conversation.members]},
        }
        member_items = [
            self._member_item(conversation.conversation_id, m) for m in conversation.members
        ]
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._conversations,
                    "Item": meta,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._conversations, "Item": members}},
        ]
        # A 1:1 conversation fits one transaction; a group's members follow in batches
        # (nobody knows a new group's id before this returns, so nobody sees it half made).
        inline = member_items if len(member_items) <= 2 else []
        writes += [{"Put": {"TableName": self._conversations, "Item": item}} for item in inline]
        try:
            self._db.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if _reasons(error)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        if not inline:
            self._batch_put(self._conversations, member_items)
        return True

    def _member_item(self, conversation_id: str, user_id: str) -> Item:
        return {
            "pk": _s(_key(conversation_id)),
            "sk": _s(f"MEMBER#{user_id}"),
            "memberId": _s(user_id),
            "conversationId": _s(conversation_id),
            "lastRead": _n(0),
        }

    def _batch_put(self, table: str, items: list[Item]) -> None:
        for start in range(0, len(items), _BATCH_WRITE):
            requests = [
                {"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE]
            ]
            pending: dict[str, Any] = {table: requests}
            pause = 0.02
            while pending:
                answer = self._db.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if pending:
                    self._sleep(pause)
                    pause = min(1.0, pause * 2)

    def get(self, conversation_id: str) -> Conversation | None:
        """META and the member list in one strongly consistent query."""
        answer = self._db.query(
            TableName=self._conversations,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :hash)",
            ExpressionAttributeValues={":pk": _s(_key(conversation_id)), ":hash": _s("#")},
            ConsistentRead=True,
        )
        parts = {item["sk"]["S"]: item for item in answer.get("Items", [])}
        if "#META" not in parts:
            return None
        return _conversation(parts["#META"], parts.get("#MEMBERS"))

    def get_many(self, conversation_ids: Iterable[str]) -> dict[str, Conversation]:
        ids = list(dict.fromkeys(conversation_ids))
        found: dict[str, Item] = {}
        per_call = _BATCH_GET // 2
        for start in range(0, len(ids), per_call):
            keys = [
                {"pk": _s(_key(cid)), "sk": _s(sk)}
                for cid in ids[start : start + per_call]
                for sk in ("#META", "#MEMBERS")
            ]
            pending: dict[str, Any] = {self._conversations: {"Keys": keys}}
            pause = 0.02
            while pending:
                answer = self._db.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._conversations, []):
                    found[f"{item['pk']['S']}|{item['sk']['S']}"] = item
                pending = answer.get("UnprocessedKeys") or {}
                if pending:
                    self._sleep(pause)
                    pause = min(1.0, pause * 2)
        out: dict[str, Conversation] = {}
        for cid in ids:
            meta = found.get(f"{_key(cid)}|#META")
            if meta is not None:
                out[cid] = _conversation(meta, found.get(f"{_key(cid)}|#MEMBERS"))
        return out

    def memberships(self, user_id: str) -> list[Membership]:
        """Every conversation the user is in, with their lastRead (the ByMember index)."""
        out: list[Membership] = []
        start: dict[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self._conversations,
                "IndexName": "ByMember",
                "KeyConditionExpression": "memberId = :user",
                "ExpressionAttributeValues": {":user": _s(user_id)},
            }
            if start:
                request["ExclusiveStartKey"] = start
            answer = self._db.query(**request)
            out += [
                Membership(item["conversationId"]["S"], int(item["lastRead"]["N"]))
                for item in answer.get("Items", [])
            ]
            start = answer.get("LastEvaluatedKey")
            if not start:
                return out

    def membership(self, conversation_id: str, user_id: str) -> Membership | None:
        answer = self._db.get_item(
            TableName=self._conversations,
            Key={"pk": _s(_key(conversation_id)), "sk": _s(f"MEMBER#{user_id}")},
        )
        item = answer.get("Item")
        if item is None:
            return None
        return Membership(conversation_id, int(item["lastRead"]["N"]))

    def mark_read(self, conversation_id: str, user_id: str, seq: int) -> bool:
        """Move the member's lastRead up to seq; False when it was there already (or past)."""
        try:
            self._db.update_item(
                TableName=self._conversations,
                Key={"pk": _s(_key(conversation_id)), "sk": _s(f"MEMBER#{user_id}")},
                UpdateExpression="SET lastRead = :seq",
                ConditionExpression="attribute_exists(pk) AND lastRead < :seq",
                ExpressionAttributeValues={":seq": _n(seq)},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ---------------------------------------------------------------- messages
    def append(
        self,
        conversation: Conversation,
        message: Callable[[int], Message],
        *,
        attempts: int = SEQ_ATTEMPTS,
    ) -> tuple[Message, bool]:
        """Store the message `message(seq)` at the conversation's next seq.

        `conversation.last_seq` may be stale (a process's cached copy): a lost race
        answers the counter's current value with the cancellation (no second read).
        Returns (message, duplicate): for a client id seen before, the message stored then.
        Raises NotMember, Missing, or Contention after `attempts` lost races."""
        last_seq = conversation.last_seq
        pause = 0.004
        for attempt in range(attempts):
            made = message(last_seq + 1)
            try:
                self._db.transact_write_items(TransactItems=self._append_writes(made, last_seq))
            except ClientError as error:
                reasons = _reasons(error)
                if not reasons:
                    raise
                if len(reasons) > 3 and reasons[3] == "ConditionalCheckFailed":
                    stored = self.by_client_id(made)
                    if stored is not None:
                        return stored, True
                if reasons[1] == "ConditionalCheckFailed":
                    raise NotMember from error
                if reasons[0] not in ("ConditionalCheckFailed", "TransactionConflict", "None"):
                    raise
                # Another sender took this seq: go again from where the counter is now.
                current = _current_seq(error)
                if current is None:
                    current = self._last_seq(conversation.conversation_id)
                if current is None:
                    raise Missing from error
                # The first loss is usually a kept copy's stale counter: go again at once.
                # Losing again means senders racing: back off with full jitter, so they
                # spread out instead of colliding in step.
                if attempt > 0 or current == last_seq:
                    self._sleep(pause * _jitter())
                    pause = min(0.1, pause * 2)
                last_seq = current
                continue
            return made, False
        raise Contention

    def _append_writes(self, message: Message, last_seq: int) -> list[dict[str, Any]]:
        pk = _key(message.conversation_id)
        item: Item = {
            "conversationId": _s(message.conversation_id),
            "seq": _n(message.seq),
            "messageId": _s(message.message_id),
            "senderId": _s(message.sender_id),
            "content": _s(message.content),
            "ts": _n(message.timestamp_ms),
        }
        if message.attachments:
            item["attachments"] = {"L": [_s(a) for a in message.attachments]}
        if message.client_message_id:
            item["clientMessageId"] = _s(message.client_message_id)
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._conversations,
                    "Key": {"pk": _s(pk), "sk": _s("#META")},
                    "UpdateExpression": "SET lastSeq = :seq, lastMessageMs = :ts",
                    "ConditionExpression": "lastSeq = :last",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    "ExpressionAttributeValues": {
                        ":seq": _n(message.seq),
                        ":last": _n(last_seq),
                        ":ts": _n(message.timestamp_ms),
                    },
                }
            },
            {
                # Sending is reading: the sender has seen everything up to their message.
                "Update": {
                    "TableName": self._conversations,
                    "Key": {"pk": _s(pk), "sk": _s(f"MEMBER#{message.sender_id}")},
                    "UpdateExpression": "SET lastRead = :seq",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":seq": _n(message.seq)},
                }
            },
            {
                "Put": {
                    "TableName": self._messages,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(seq)",
                }
            },
        ]
        if message.client_message_id:
            writes.append(
                {
                    "Put": {
                        "TableName": self._conversations,
                        "Item": {
                            "pk": _s(pk),
                            "sk": _s(self._client_sk(message)),
                            "seq": _n(message.seq),
                            "ttl": _n(message.timestamp_ms // 1000 + CLIENT_ID_TTL_S),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        return writes

    @staticmethod
    def _client_sk(message: Message) -> str:
        return f"CLIENT#{message.sender_id}#{message.client_message_id}"

    def by_client_id(self, message: Message) -> Message | None:
        answer = self._db.get_item(
            TableName=self._conversations,
            Key={"pk": _s(_key(message.conversation_id)), "sk": _s(self._client_sk(message))},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        if item is None:
            return None
        return self.message(message.conversation_id, int(item["seq"]["N"]))

    def _last_seq(self, conversation_id: str) -> int | None:
        answer = self._db.get_item(
            TableName=self._conversations,
            Key={"pk": _s(_key(conversation_id)), "sk": _s("#META")},
            ConsistentRead=True,
            ProjectionExpression="lastSeq",
        )
        item = answer.get("Item")
        return int(item["lastSeq"]["N"]) if item else None

    def message(self, conversation_id: str, seq: int) -> Message | None:
        answer = self._db.get_item(
            TableName=self._messages,
            Key={"conversationId": _s(conversation_id), "seq": _n(seq)},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return _message(item) if item else None

    def history(self, conversation_id: str, before: int | None, limit: int) -> list[Message]:
        """Up to `limit` messages below seq `before` (or the newest), oldest first."""
        values: dict[str, Any] = {":c": _s(conversation_id)}
        condition = "conversationId = :c"
        if before is not None:
            condition += " AND seq < :before"
            values[":before"] = _n(before)
        answer = self._db.query(
            TableName=self._messages,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_message(item) for item in reversed(answer.get("Items", []))]

    def after(self, conversation_id: str, seq: int, limit: int) -> list[Message]:
        """Up to `limit` messages above seq, oldest first (what a member has not read)."""
        answer = self._db.query(
            TableName=self._messages,
            KeyConditionExpression="conversationId = :c AND seq > :seq",
            ExpressionAttributeValues={":c": _s(conversation_id), ":seq": _n(seq)},
            ScanIndexForward=True,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_message(item) for item in answer.get("Items", [])]


def _reasons(error: ClientError) -> list[str]:
    """The per-item cancellation codes of a failed transaction ([] for another error)."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return []
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


def _current_seq(error: ClientError) -> int | None:
    """The counter's value that made META's condition fail, as the cancellation carries it."""
    reasons: list[Any] = list(error.response.get("CancellationReasons") or [])
    item: dict[str, Any] = (reasons[0].get("Item") or {}) if reasons else {}
    if "lastSeq" not in item:
        return None
    return int(item["lastSeq"]["N"])


def _jitter() -> float:
    import random

    return random.random()  # noqa: S311 - back-off spread, not security
