"""Part 9: notifications, the bus and the consumer's cost per recipient.

(a) The trigger: what a producer pays to put one event on the bus, by each door:
    SendMessage to NotificationQueue, and an outbox item in the producer's own
    TransactWriteItems (the stream carries it on). p50 and p99 against moto in process:
    the call count is the figure that holds on AWS; the milliseconds are moto's.
(b) Notify routing one event: calls per recipient (DynamoDB, counted on the client)
    and milliseconds per recipient, for events of 1 and of 100 recipients, each
    recipient with one open socket (the frame's post is a no-op here).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.common import PartResult, Row, percentile

RUNS = 200
NOW_MS = 1_795_000_000_000


class Counting:
    """A boto3 client that counts its calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return method(*args, **kwargs)

        return call


class NoSocket:
    def post(self, connection_id: str, data: bytes) -> bool:
        return True


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def run() -> PartResult:
    import boto3
    from moto import mock_aws

    from bench.common import ROOT
    from relay.chat.connections_table import ChatConnectionsTable
    from relay.chat.models import Connection
    from relay.notify import service
    from relay.notify.deliveries_table import DeliveriesTable
    from relay.notify.models import NotificationEvent
    from relay.notify.notifications_table import NotificationsTable
    from relay.notify.preferences_table import PreferencesTable
    from relay.notify.routing import Deferrer, Router
    from relay.notify.sockets import ConnectionsReader, Sockets
    from relay.platform.events import Event, outbox_put
    from relay_local.state.provision import create_with_clients
    from relay_local.template.build import build_model

    class Clock:
        def now_ms(self) -> int:
            return NOW_MS

    result = PartResult("notify")
    with mock_aws():
        raw: Any = boto3.client("dynamodb")
        sqs = boto3.client("sqs")
        urls = create_with_clients(
            build_model(ROOT / "template.yaml", moto_url="http://127.0.0.1:1"), raw, sqs
        )
        queue = urls["NotificationQueue"]
        body = json.dumps(
            {"eventId": "e", "category": "like", "recipients": ["u1"], "subject": "post:p"}
        )
        send, outbox = [], []
        for i in range(RUNS):
            start = time.perf_counter()
            sqs.send_message(QueueUrl=queue, MessageBody=body)
            send.append(time.perf_counter() - start)
            outboxed = Event.now(
                "feed.liked",
                actor_id="a",
                subject_id="post:p",
                at_ms=NOW_MS + i,
                recipients=("u1",),
                data={"category": "like"},
            )
            start = time.perf_counter()
            raw.transact_write_items(TransactItems=[outbox_put("EventsTable", outboxed)])
            outbox.append(time.perf_counter() - start)
        for name, sample in (
            ("SendMessage to NotificationQueue", send),
            ("outbox item in the producer's transaction", outbox),
        ):
            result.rows.append(
                Row(
                    "notify",
                    f"trigger: {name}, p50 / p99 (moto)",
                    f"{_ms(percentile(sample, 50))} / {_ms(percentile(sample, 99))}",
                    target="p99 < 50 ms on AWS",
                    note=(
                        "1 call; moto in process on a shared machine, not AWS's latency: no verdict"
                    ),
                )
            )

        db = Counting(raw)
        connections = ChatConnectionsTable(raw, "ChatConnectionsTable")
        router = Router(
            db,
            NotificationsTable(db, "NotificationsTable"),
            DeliveriesTable(db, "DeliveriesTable"),
            Sockets(ConnectionsReader(db, "ChatConnectionsTable"), NoSocket()),
            service.shown,
            Clock(),
            PreferencesTable(db, "PreferencesTable"),
            Deferrer(sqs, queue),
        )
        for size in (1, 100):
            users = [f"r{size}-{i}" for i in range(size)]
            for user in users:
                connections.add(Connection(f"c-{user}", user), NOW_MS)
            times, calls = [], []
            runs = RUNS if size == 1 else 10
            for i in range(runs):
                event = NotificationEvent.read(
                    json.dumps(
                        {
                            "eventId": f"m{size}-{i}",
                            "category": "mention",
                            "recipients": users,
                            "actorId": "a",
                            "subject": f"post:{i}",
                            "at": NOW_MS,
                        }
                    ),
                    NOW_MS,
                )
                db.calls = 0
                start = time.perf_counter()
                router.route(event)
                times.append((time.perf_counter() - start) / size)
                calls.append(db.calls / size)
            result.rows.append(
                Row(
                    "notify",
                    f"Notify, an event for {size} recipient(s): per recipient, p50 / p99 (moto)",
                    f"{_ms(percentile(times, 50))} / {_ms(percentile(times, 99))}",
                    note=(
                        f"{calls[-1]:.2f} DynamoDB calls per recipient, plus one BatchGetItem "
                        "of the actors' handles per frame (accounts' client, not counted)"
                    ),
                )
            )
    return result
