"""ConversationsTable: conversations, their members and each member's place in them.
Nobody else builds its keys. Under `pk = CONV#<id>`:
- `#META`: kind, name, `lastSeq` (the conversation's counter) and `lastMessageMs`;
- `#MEMBERS`: the member list and the admins, read with META in one query; META's
  `membersVersion` moves with every change of them (`change_members`), so a kept copy
  is checked when a message is stored;
- `MEMBER#<user>`: one per member, with `lastRead`; the `ByMember` index lists a
  user's conversations from these;
- `CLIENT#<sender>#<clientMessageId>`: which seq a client's id became (expires after
  CLIENT_ID_TTL_S).

Storing a message spans this table and MessagesTable in one transaction
(relay.chat.ordering): this store hands out its three entries (`advance`,
`sender_read`, `claim`) and reads back the counter a cancellation carries (`seq_in`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from relay.chat.models import Conversation, Membership, Message
from relay.chat.rules import CLIENT_ID_TTL_S
from relay.platform.dynamo import (
    CONDITION_FAILED,
    Item,
    Table,
    batch_get,
    batch_write,
    cancellation_reasons,
    is_condition_failed,
    n,
    put_new,
    query_pages,
    s,
)

META = "#META"
MEMBERS = "#MEMBERS"


def _pk(conversation_id: str) -> dict[str, str]:
    return s(f"CONV#{conversation_id}")


def _key(conversation_id: str, sk: str) -> Item:
    return {"pk": _pk(conversation_id), "sk": s(sk)}


def _member_sk(user_id: str) -> str:
    return f"MEMBER#{user_id}"


def _client_sk(message: Message) -> str:
    return f"CLIENT#{message.sender_id}#{message.client_message_id}"


def _conversation(meta: Item, members: Item | None) -> Conversation:
    names = [m["S"] for m in (members or {}).get("members", {}).get("L", [])]
    admins = [m["S"] for m in (members or {}).get("admins", {}).get("L", [])]
    return Conversation(
        conversation_id=meta["pk"]["S"].removeprefix("CONV#"),
        kind=meta["kind"]["S"],
        name=meta["name"]["S"] if "name" in meta else None,
        members=tuple(names),
        last_seq=int(meta["lastSeq"]["N"]),
        last_message_ms=int(meta["lastMessageMs"]["N"]) if "lastMessageMs" in meta else None,
        created_ms=int(meta["createdMs"]["N"]),
        admins=tuple(admins),
        members_version=int(meta.get("membersVersion", {}).get("N", "0")),
    )


def _version_is(members_version: int) -> str:
    """The condition that META's `membersVersion` is still `:mv` (absent reads as 0)."""
    if members_version == 0:
        return "(attribute_not_exists(membersVersion) OR membersVersion = :mv)"
    return "membersVersion = :mv"


def _members_item(conversation: Conversation) -> Item:
    return {
        **_key(conversation.conversation_id, MEMBERS),
        "members": {"L": [s(m) for m in conversation.members]},
        "admins": {"L": [s(m) for m in conversation.admins]},
    }


def _member_item(conversation_id: str, user_id: str, last_read: int) -> Item:
    return {
        **_key(conversation_id, _member_sk(user_id)),
        "memberId": s(user_id),
        "conversationId": s(conversation_id),
        "lastRead": n(last_read),
    }


class ConversationsTable(Table):
    def create(self, conversation: Conversation) -> bool:
        """Store a new conversation and its members; False when its id exists already
        (the 1:1 conversation of the same two users)."""
        cid = conversation.conversation_id
        meta: Item = {
            **_key(cid, META),
            "kind": s(conversation.kind),
            "lastSeq": n(0),
            "createdMs": n(conversation.created_ms),
            "memberCount": n(len(conversation.members)),
        }
        if conversation.name:
            meta["name"] = s(conversation.name)
        members = _members_item(conversation)
        member_items = [_member_item(cid, m, 0) for m in conversation.members]
        writes: list[dict[str, Any]] = [
            put_new(self.name, meta, "pk"),
            {"Put": {"TableName": self.name, "Item": members}},
        ]
        # A 1:1 conversation fits one transaction; a group's members follow in batches
        # (nobody knows a new group's id before this returns, so nobody sees it half made).
        inline = member_items if len(member_items) <= 2 else []
        writes += [{"Put": {"TableName": self.name, "Item": item}} for item in inline]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if cancellation_reasons(error)[:1] == [CONDITION_FAILED]:
                return False
            raise
        if not inline:
            batch_write(self.client, self.name, puts=member_items)
        return True

    def change_members(
        self, before: Conversation, after: Conversation, added: list[str], removed: list[str]
    ) -> bool:
        """Members or admins from `before` to `after`, in one transaction, on the condition
        that nobody changed them meanwhile (`membersVersion`); False when somebody did.
        An added member starts with nothing unread."""
        cid = before.conversation_id
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": _key(cid, META),
                    "UpdateExpression": "SET membersVersion = :next, memberCount = :count",
                    "ConditionExpression": "attribute_exists(pk) AND "
                    + _version_is(before.members_version),
                    "ExpressionAttributeValues": {
                        ":next": n(before.members_version + 1),
                        ":mv": n(before.members_version),
                        ":count": n(len(after.members)),
                    },
                }
            },
            {"Put": {"TableName": self.name, "Item": _members_item(after)}},
        ]
        writes += [
            {"Put": {"TableName": self.name, "Item": _member_item(cid, m, before.last_seq)}}
            for m in added
        ]
        writes += [
            {"Delete": {"TableName": self.name, "Key": _key(cid, _member_sk(m))}} for m in removed
        ]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if cancellation_reasons(error)[:1] == [CONDITION_FAILED]:
                return False
            raise
        return True

    def rename(self, conversation_id: str, name: str | None) -> None:
        update = "SET #name = :name" if name else "REMOVE #name"
        values = {":name": s(name)} if name else None
        self.client.update_item(
            TableName=self.name,
            Key=_key(conversation_id, META),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#name": "name"},
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    def get(self, conversation_id: str) -> Conversation | None:
        """META and the member list in one strongly consistent query."""
        answer = self.client.query(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :hash)",
            ExpressionAttributeValues={":pk": _pk(conversation_id), ":hash": s("#")},
            ConsistentRead=True,
        )
        parts = {item["sk"]["S"]: item for item in answer.get("Items", [])}
        if META not in parts:
            return None
        return _conversation(parts[META], parts.get(MEMBERS))

    def get_many(self, conversation_ids: Iterable[str]) -> dict[str, Conversation]:
        ids = list(dict.fromkeys(conversation_ids))
        keys = [_key(cid, sk) for cid in ids for sk in (META, MEMBERS)]
        found = {
            (item["pk"]["S"], item["sk"]["S"]): item
            for item in batch_get(self.client, {self.name: keys})[self.name]
        }
        out: dict[str, Conversation] = {}
        for cid in ids:
            pk = _pk(cid)["S"]
            meta = found.get((pk, META))
            if meta is not None:
                out[cid] = _conversation(meta, found.get((pk, MEMBERS)))
        return out

    def memberships(self, user_id: str) -> list[Membership]:
        """Every conversation the user is in, with their lastRead (the ByMember index)."""
        request = {
            "TableName": self.name,
            "IndexName": "ByMember",
            "KeyConditionExpression": "memberId = :user",
            "ExpressionAttributeValues": {":user": s(user_id)},
        }
        return [
            Membership(item["conversationId"]["S"], int(item["lastRead"]["N"]))
            for items in query_pages(self.client, request)
            for item in items
        ]

    def membership(self, conversation_id: str, user_id: str) -> Membership | None:
        answer = self.client.get_item(
            TableName=self.name, Key=_key(conversation_id, _member_sk(user_id))
        )
        item = answer.get("Item")
        if item is None:
            return None
        return Membership(conversation_id, int(item["lastRead"]["N"]))

    def mark_read(self, conversation_id: str, user_id: str, seq: int) -> bool:
        """Move the member's lastRead up to seq; False when it was there already (or past)."""
        try:
            self.client.update_item(
                TableName=self.name,
                Key=_key(conversation_id, _member_sk(user_id)),
                UpdateExpression="SET lastRead = :seq",
                ConditionExpression="attribute_exists(pk) AND lastRead < :seq",
                ExpressionAttributeValues={":seq": n(seq)},
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def last_seq(self, conversation_id: str) -> int | None:
        answer = self.client.get_item(
            TableName=self.name,
            Key=_key(conversation_id, META),
            ConsistentRead=True,
            ProjectionExpression="lastSeq",
        )
        return self.seq_in(answer.get("Item"))

    @staticmethod
    def seq_in(meta: Item | None) -> int | None:
        """The counter of a META item (as a cancelled `advance` carries it back); None
        for no item."""
        if not meta or "lastSeq" not in meta:
            return None
        return int(meta["lastSeq"]["N"])

    @staticmethod
    def version_in(meta: Item | None) -> int:
        """The members' version of a META item (0 before any change)."""
        return int((meta or {}).get("membersVersion", {}).get("N", "0"))

    def client_seq(self, message: Message) -> int | None:
        """The seq the sender's clientMessageId became, if it was stored before."""
        answer = self.client.get_item(
            TableName=self.name,
            Key=_key(message.conversation_id, _client_sk(message)),
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return int(item["seq"]["N"]) if item else None

    # ---- the entries this table gives the transaction that stores a message
    def advance(self, message: Message, last_seq: int, members_version: int) -> dict[str, Any]:
        """META's counter from `last_seq` to the message's seq, on the condition that it is
        still `last_seq` and the members are still those of `members_version`; a lost
        race carries the counter's (and the version's) current value back."""
        return {
            "Update": {
                "TableName": self.name,
                "Key": _key(message.conversation_id, META),
                "UpdateExpression": "SET lastSeq = :seq, lastMessageMs = :ts",
                "ConditionExpression": "lastSeq = :last AND " + _version_is(members_version),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                "ExpressionAttributeValues": {
                    ":seq": n(message.seq),
                    ":last": n(last_seq),
                    ":ts": n(message.timestamp_ms),
                    ":mv": n(members_version),
                },
            }
        }

    def sender_read(self, message: Message) -> dict[str, Any]:
        """Sending is reading: the sender's lastRead moves to their message, on the
        condition that they are a member."""
        return {
            "Update": {
                "TableName": self.name,
                "Key": _key(message.conversation_id, _member_sk(message.sender_id)),
                "UpdateExpression": "SET lastRead = :seq",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":seq": n(message.seq)},
            }
        }

    def claim(self, message: Message) -> dict[str, Any]:
        """The message's clientMessageId, on the condition that it is new."""
        item = {
            **_key(message.conversation_id, _client_sk(message)),
            "seq": n(message.seq),
            "ttl": n(message.timestamp_ms // 1000 + CLIENT_ID_TTL_S),
        }
        return put_new(self.name, item, "pk")
