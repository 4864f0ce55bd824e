"""DeliveriesTable: the delivery log, and what makes a message exactly one.

One item per event, recipient and channel: `pk` = `USER#<recipient>`, `sk` =
`D#<eventId>#<channel>`, with what became of it (`status`: sent, skipped, deferred,
sending) and why (`reason`: "preference off", "no email address", "quiet hours until
07:00 Europe/Paris", ...). Every item is written on condition that its key is new,
so a retried or redelivered event finds its line and sends nothing again:
- in-app, the line is in the same transaction as the inbox write (`record`);
- a channel that leaves AWS (email, SMS, push) first claims the line (`claim`,
  status `sending` with a lease), sends, then marks it sent (`finish`); a consumer
  killed between the send and the mark leaves a claim whose lease runs out, and the
  next delivery sends again: at most one duplicate, only then (docs/decisions.md).
Nobody else builds these keys. Lines expire with the notifications (RETENTION_S).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from relay.notify.models import Delivery
from relay.notify.rules import LOG_PAGE, RETENTION_S
from relay.platform.dynamo import Item, Table, is_condition_failed, n, s

SENT, SKIPPED, DEFERRED, SENDING = "sent", "skipped", "deferred", "sending"


def _key(recipient: str, event_id: str, channel: str) -> Item:
    return {"pk": s(f"USER#{recipient}"), "sk": s(f"D#{event_id}#{channel}")}


def _item(delivery: Delivery, recipient: str, **extra: Item) -> Item:
    return {
        **_key(recipient, delivery.event_id, delivery.channel),
        "status": s(delivery.status),
        "reason": s(delivery.reason or "-"),
        "notificationId": s(delivery.notification_id or "-"),
        "atMs": n(delivery.at_ms),
        "ttl": n(delivery.at_ms // 1000 + RETENTION_S),
        **extra,
    }


def _of(item: Item) -> Delivery:
    _, event_id_and_channel = item["sk"]["S"].split("#", 1)
    event_id, channel = event_id_and_channel.rsplit("#", 1)
    reason = item["reason"]["S"]
    notification_id = item["notificationId"]["S"]
    return Delivery(
        event_id=event_id,
        channel=channel,
        status=item["status"]["S"],
        reason="" if reason == "-" else reason,
        notification_id="" if notification_id == "-" else notification_id,
        at_ms=int(item["atMs"]["N"]),
    )


class DeliveriesTable(Table):
    def record(self, recipient: str, delivery: Delivery) -> dict[str, Any]:
        """The TransactWriteItems entry that writes a line unless it is written already
        (a line that says `deferred` is only waiting for this one)."""
        return {
            "Put": {
                "TableName": self.name,
                "Item": _item(delivery, recipient),
                "ConditionExpression": "attribute_not_exists(pk) OR #status = :deferred",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":deferred": s(DEFERRED)},
            }
        }

    def log(self, recipient: str, delivery: Delivery) -> bool:
        """Write a line on its own (a skip, a deferral); False when it was there already."""
        try:
            self.client.put_item(
                TableName=self.name,
                Item=_item(delivery, recipient),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def claim(self, recipient: str, delivery: Delivery, now_ms: int, lease_ms: int) -> bool:
        """Take the right to send: True when the line is new, or a claim whose lease ran
        out (its sender died); False when it was sent, skipped, or is being sent."""
        claiming = Delivery(
            delivery.event_id,
            delivery.channel,
            SENDING,
            delivery.reason,
            delivery.notification_id,
            delivery.at_ms,
        )
        try:
            self.client.put_item(
                TableName=self.name,
                Item=_item(claiming, recipient, leaseUntil=n(now_ms + lease_ms)),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#status = :sending AND leaseUntil < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":sending": s(SENDING), ":now": n(now_ms)},
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def finish(self, recipient: str, delivery: Delivery) -> None:
        """The claimed line, now with what became of it."""
        self.client.put_item(TableName=self.name, Item=_item(delivery, recipient))

    def of(self, recipient: str, event_id: str, channel: str) -> Delivery | None:
        answer = self.client.get_item(
            TableName=self.name, Key=_key(recipient, event_id, channel), ConsistentRead=True
        )
        return _of(answer["Item"]) if "Item" in answer else None

    def recent(self, recipient: str, limit: int = LOG_PAGE) -> list[Delivery]:
        """A recipient's lines, newest first (up to `limit` of the latest read)."""
        answer = self.client.query(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
            ExpressionAttributeValues={":pk": s(f"USER#{recipient}"), ":d": s("D#")},
        )
        lines = [_of(item) for item in answer["Items"]]
        return sorted(lines, key=lambda d: d.at_ms, reverse=True)[:limit]
