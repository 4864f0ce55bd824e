"""NotificationsTable: every user's inbox. Nobody else builds its keys.

- `pk` = `USER#<recipient>`, `sk` = `N#<notificationId>`. A notification id starts
  with 13 digits of milliseconds (the event's time, or its batching window's start),
  so an inbox reads newest first with one Query. The rest of the id is a digest of
  what the notification is (category, subject, and the event or the window): every
  consumer, concurrent or redelivered, computes the same key for the same
  notification, and a batching window is one item whatever arrives at once.
- `unread` = `USER#<recipient>` while it is unread: the sparse index `Unread`
  (keys only) holds unread notifications alone, so the count reads nothing else.
- `actors` is a string set: the same person liking twice (like, unlike, like)
  counts once.
The inbox write is one entry of the transaction that also writes the delivery log's
line (relay.notify.deliveries_table): a redelivered event cancels it whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from relay.notify.models import Notification
from relay.notify.rules import RETENTION_S
from relay.platform.dynamo import Item, Table, is_condition_failed, n, query_pages, s

UNREAD_INDEX = "Unread"


def _pk(user_id: str) -> dict[str, str]:
    return s(f"USER#{user_id}")


def _sk(notification_id: str) -> dict[str, str]:
    return s(f"N#{notification_id}")


def _whole(item: Item) -> bool:
    """Whether an item is a whole notification. DynamoDB never shows half a
    transaction; the local stack's moto applies an UpdateItem that makes an item in two
    steps (the keys, then the expression) and a read between them sees the keys alone:
    such an item is not shown yet, never a 500."""
    return "category" in item and "createdMs" in item


def _of(item: Item) -> Notification:
    actors = tuple(sorted(item.get("actors", {}).get("SS", [])))
    last = item.get("lastActor", {}).get("S")
    if last in actors:  # the latest actor is named first
        actors = (last, *(a for a in actors if a != last))
    events = int(item.get("events", {}).get("N", "1"))
    return Notification(
        notification_id=item["sk"]["S"].removeprefix("N#"),
        recipient=item["pk"]["S"].removeprefix("USER#"),
        category=item["category"]["S"],
        subject=item["subject"]["S"],
        actors=actors,
        count=len(actors) or events,
        text=item.get("text", {}).get("S", ""),
        created_ms=int(item["createdMs"]["N"]),
        updated_ms=int(item["updatedMs"]["N"]),
        read="unread" not in item,
        critical=item.get("critical", {}).get("BOOL", False),
    )


class NotificationsTable(Table):
    def upsert(
        self,
        recipient: str,
        notification_id: str,
        *,
        category: str,
        subject: str,
        actor_id: str | None,
        text: str,
        at_ms: int,
        critical: bool,
    ) -> dict[str, Any]:
        """The TransactWriteItems entry that adds an event to a notification: made if
        new, its actor added (once per person), and unread again."""
        names = {"#ttl": "ttl", "#text": "text"}
        values: Item = {
            ":category": s(category),
            ":subject": s(subject),
            ":at": n(at_ms),
            ":unread": _pk(recipient),
            ":one": n(1),
            ":ttl": n(at_ms // 1000 + RETENTION_S),
            ":critical": {"BOOL": critical},
        }
        sets = [
            "category = :category",
            "subject = :subject",
            "createdMs = if_not_exists(createdMs, :at)",
            "updatedMs = :at",
            "unread = :unread",
            "critical = :critical",
            "#ttl = :ttl",
        ]
        adds = ["events :one"]
        if actor_id is not None:
            values[":actor"] = s(actor_id)
            values[":actors"] = {"SS": [actor_id]}
            sets.append("lastActor = :actor")
            adds.append("actors :actors")
        if text:
            values[":text"] = s(text)
            sets.append("#text = :text")
        return {
            "Update": {
                "TableName": self.name,
                "Key": {"pk": _pk(recipient), "sk": _sk(notification_id)},
                "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
                "ExpressionAttributeNames": names if text else {"#ttl": "ttl"},
                "ExpressionAttributeValues": values,
            }
        }

    def get(self, recipient: str, notification_id: str) -> Notification | None:
        answer = self.client.get_item(
            TableName=self.name,
            Key={"pk": _pk(recipient), "sk": _sk(notification_id)},
            ConsistentRead=True,
        )
        return _of(answer["Item"]) if _whole(answer.get("Item", {})) else None

    def page(
        self, recipient: str, limit: int, after: str | None
    ) -> tuple[list[Notification], str | None]:
        """Newest first; `after` is the last id of the page before. The id of the last
        item is returned when more may follow."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :n)",
            "ExpressionAttributeValues": {":pk": _pk(recipient), ":n": s("N#")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {"pk": _pk(recipient), "sk": _sk(after)}
        answer = self.client.query(**request)
        found = answer["Items"]
        items = [_of(item) for item in found if _whole(item)]
        last = found[-1]["sk"]["S"].removeprefix("N#") if found else None
        return items, (last if "LastEvaluatedKey" in answer else None)

    def unread_count(self, recipient: str) -> int:
        request = {
            "TableName": self.name,
            "IndexName": UNREAD_INDEX,
            "KeyConditionExpression": "unread = :pk",
            "ExpressionAttributeValues": {":pk": _pk(recipient)},
            "Select": "COUNT",
        }
        total = 0
        page = dict(request)
        while True:
            answer = self.client.query(**page)
            total += int(answer["Count"])
            if "LastEvaluatedKey" not in answer:
                return total
            page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def unread_ids(self, recipient: str) -> Iterator[list[str]]:
        request = {
            "TableName": self.name,
            "IndexName": UNREAD_INDEX,
            "KeyConditionExpression": "unread = :pk",
            "ExpressionAttributeValues": {":pk": _pk(recipient)},
        }
        for items in query_pages(self.client, request):
            yield [item["sk"]["S"].removeprefix("N#") for item in items]

    def mark_read(self, recipient: str, notification_id: str) -> bool:
        """False when the recipient has no such notification."""
        try:
            self.client.update_item(
                TableName=self.name,
                Key={"pk": _pk(recipient), "sk": _sk(notification_id)},
                UpdateExpression="REMOVE unread",
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True
