"""Notifications end to end: `relay run` with the real template.yaml. An event put on
the NotificationQueue (as a producer sends it), and a chat message for an offline
member (as chat publishes it on ChatPushTopic), each reach the recipient's inbox over
HTTP and every socket they have open, once."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.accounts import bearer, relay_token
from tests.support.stack import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-notify")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = os.environ["RELAY_E2E_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    running = Stack(ROOT, tmp_path_factory.mktemp("notify-state"), env={"REDIS_URL": url})
    try:
        yield running
    finally:
        running.stop()


class Person:
    def __init__(self, stack: Stack, handle: str) -> None:
        self.handle = handle
        self.token = relay_token(stack, handle, "--state-dir", str(stack.state_dir))
        self.headers = bearer(self.token)
        profile = stack.http.get(f"/api/users/{handle}", headers=self.headers)
        assert profile.status_code == 200, profile.text
        self.id = str(profile.json()["userId"])


def _frames(socket: Any, kind: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind} frame")
        frame = json.loads(socket.recv(timeout=left))
        if frame.get("type") == kind:
            return frame


def _drained(stack: Stack, queue: str) -> bool:
    """Every message the queue had is consumed (none waiting, none in flight)."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in attributes.values())


def _inbox(stack: Stack, person: Person) -> dict[str, Any]:
    answer = stack.http.get("/api/notifications", headers=person.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_an_event_on_the_queue_reaches_the_inbox_and_every_open_socket_once(stack: Stack):
    alice, bob = Person(stack, "alice19"), Person(stack, "bob19")
    event = {
        "eventId": "feed.like:p1:alice19",
        "category": "like",
        "recipients": [bob.id],
        "actorId": alice.id,
        "subject": "post:p1",
    }
    sqs = stack.client("sqs")
    url = stack.queue_url("NotificationQueue")

    with stack.ws(f"token={bob.token}") as phone, stack.ws(f"token={bob.token}") as laptop:
        for _ in range(2):  # a producer's retried publish
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        frames = [_frames(phone, "notification"), _frames(laptop, "notification")]

    eventually(lambda: _drained(stack, "NotificationQueue"), what="both deliveries consumed")
    inbox = _inbox(stack, bob)
    assert [f["notification"]["text"] for f in frames] == ["alice19 liked your post"] * 2
    assert inbox["unread"] == 1
    [only] = inbox["items"]
    assert (only["category"], only["count"], only["read"]) == ("like", 1, False)
    assert only["notificationId"] == frames[0]["notification"]["notificationId"]

    read = stack.http.post("/api/notifications/read", json={}, headers=bob.headers)
    assert read.json() == {"unread": 0}


def test_a_chat_message_for_an_offline_member_reaches_their_inbox(stack: Stack):
    carol, dave = Person(stack, "carol19"), Person(stack, "dave19")
    made = stack.http.post(
        "/api/conversations", json={"members": ["dave19"]}, headers=carol.headers
    )
    assert made.status_code in (200, 201), made.text
    conversation = made.json()["conversationId"]

    with stack.ws(f"token={carol.token}") as socket:
        socket.send(
            json.dumps({"action": "sendMessage", "conversationId": conversation, "content": "hi"})
        )
        _frames(socket, "ack")

    def arrived() -> dict[str, Any] | None:
        items = _inbox(stack, dave)["items"]
        return items[0] if items else None

    notification = eventually(arrived, what="the offline message's notification")
    assert notification["category"] == "message"
    assert notification["subject"] == f"conversation:{conversation}"
    assert notification["text"] == "carol19 sent you a message: hi"
    assert notification["actors"] == [{"userId": carol.id, "handle": "carol19"}]


def test_an_event_written_to_the_outbox_in_a_transaction_reaches_the_inbox(stack: Stack):
    from relay.platform.events import Event, outbox_put

    erin, frank = Person(stack, "erin19"), Person(stack, "frank19")
    followed = Event.now(
        "feed.followed",
        actor_id=frank.id,
        subject_id=f"user:{erin.id}",
        at_ms=int(time.time() * 1000),
        recipients=(erin.id,),
        data={"category": "follow"},
    )

    stack.client("dynamodb").transact_write_items(
        TransactItems=[outbox_put("EventsTable", followed)]
    )

    def arrived() -> dict[str, Any] | None:
        items = _inbox(stack, erin)["items"]
        return items[0] if items else None

    notification = eventually(arrived, what="the outbox event's notification")
    assert notification["text"] == "frank19 followed you"


def _send(stack: Stack, *events: dict[str, Any]) -> None:
    sqs, url = stack.client("sqs"), stack.queue_url("NotificationQueue")
    for event in events:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    eventually(lambda: _drained(stack, "NotificationQueue"), what="the events consumed")


def test_ten_likes_in_a_window_are_one_notification_covering_all_ten(stack: Stack):
    gina = Person(stack, "gina19")
    likes = [
        {
            "eventId": f"feed.like:p7:fan{i}",
            "category": "like",
            "recipients": [gina.id],
            "actorId": f"fan{i}",
            "subject": "post:p7",
        }
        for i in range(10)
    ]

    _send(stack, *likes, likes[3])  # and one redelivered

    [only] = _inbox(stack, gina)["items"]
    assert (only["category"], only["count"]) == ("like", 10)


def test_quiet_hours_defer_and_a_critical_event_does_not(stack: Stack):
    hank = Person(stack, "hank19")
    hour = time.gmtime().tm_hour  # quiet from an hour ago to two hours from now
    window = {"start": f"{(hour - 1) % 24:02d}:00", "end": f"{(hour + 2) % 24:02d}:00"}
    always_quiet = {"timeZone": "UTC", "quietHours": window}
    put = stack.http.put(
        "/api/me/notification-preferences", json=always_quiet, headers=hank.headers
    )
    assert put.status_code == 200, put.text
    base = {"recipients": [hank.id], "subject": "system:notice", "category": "broadcast"}

    _send(
        stack,
        {**base, "eventId": "notice:quiet", "text": "it can wait"},
        {**base, "eventId": "notice:critical", "text": "it cannot", "critical": True},
    )

    assert [n["text"] for n in _inbox(stack, hank)["items"]] == ["it cannot"]
