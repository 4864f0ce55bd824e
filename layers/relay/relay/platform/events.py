"""Relay's domain events: what one domain tells the others, durably.

A change that others must hear of (a like, a follow, a mention, a new account)
writes an event item to the EventsTable in the SAME DynamoDB transaction as the
change itself (a transactional outbox): if the change is stored, so is its
event, and a crash between the two cannot lose it. The table's stream carries
each new event to its readers (notifications, search), which are Lambda
stream consumers filtering on `kind` (template.yaml). Events expire after
RETENTION_S; their readers are idempotent, because a stream delivers at least
once.

An event names what happened (`kind`, "<domain>.<past tense>"), who did it
(`actor_id`), what it is about (`subject_id`), whom it concerns (`recipients`),
and a few small facts (`data`, JSON). It carries ids, never content a reader
must not see later: a reader that needs the post reads it, and so learns it was
deleted. (Chat messages are the one exception to the outbox: the MessagesTable
stream is their event, docs/decisions.md.)

Producers call `outbox_put(table, event)` and add the entry to their
transaction; consumers call `from_stream_image(record["dynamodb"]["NewImage"])`
at their edge.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from relay.platform.dynamo import Item, n, put_new, s

# How long an event stays in the table: readers consume within seconds; a day covers a
# stream reader that was failing for hours (stream records themselves live 24 h).
RETENTION_S = 86_400
# Facts an event carries stay small: ids and short values, never bodies.
MAX_DATA_BYTES = 4_096


def new_event_id(now_ms: int) -> str:
    """Sortable by time, unique without coordination: 13 digits of ms and 10 random chars."""
    return f"{now_ms:013d}" + base64.b32encode(secrets.token_bytes(10)).decode()[:10].lower()


@dataclass(frozen=True)
class Event:
    event_id: str
    kind: str
    actor_id: str | None
    subject_id: str
    at_ms: int
    recipients: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def now(
        cls,
        kind: str,
        *,
        actor_id: str | None,
        subject_id: str,
        at_ms: int,
        recipients: tuple[str, ...] = (),
        data: dict[str, Any] | None = None,
    ) -> Event:
        return cls(new_event_id(at_ms), kind, actor_id, subject_id, at_ms, recipients, data or {})


def _item(event: Event) -> Item:
    data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"event data over {MAX_DATA_BYTES} bytes: {event.kind}")
    item: Item = {
        "pk": s(f"EVENT#{event.event_id}"),
        "kind": s(event.kind),
        "subjectId": s(event.subject_id),
        "atMs": n(event.at_ms),
        "data": s(data),
        "ttl": n(event.at_ms // 1000 + RETENTION_S),
    }
    if event.actor_id is not None:
        item["actorId"] = s(event.actor_id)
    if event.recipients:
        item["recipients"] = {"L": [s(r) for r in event.recipients]}
    return item


def outbox_put(table: str, event: Event) -> dict[str, Any]:
    """The TransactWriteItems entry that stores `event` with the change it reports."""
    return put_new(table, _item(event), "pk")


class NotAnEventRecord(ValueError):
    """A stream image that is not an event this module wrote."""


def from_stream_image(image: Item) -> Event:
    """The event a stream record's NewImage holds (a TTL expiry's OldImage too)."""
    try:
        return Event(
            event_id=image["pk"]["S"].removeprefix("EVENT#"),
            kind=image["kind"]["S"],
            actor_id=image["actorId"]["S"] if "actorId" in image else None,
            subject_id=image["subjectId"]["S"],
            at_ms=int(image["atMs"]["N"]),
            recipients=tuple(r["S"] for r in image.get("recipients", {}).get("L", [])),
            data=json.loads(image.get("data", {}).get("S", "{}")),
        )
    except (KeyError, TypeError, ValueError, RecursionError) as error:
        raise NotAnEventRecord("not an event image") from error
