"""Notifications in process: events routed into inboxes (moto, tables from the
template), exactly once per event, recipient and channel; batching windows; frames to
open sockets; the consumer's partial failures; the inbox over HTTP."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from relay.chat.connections_table import ChatConnectionsTable
from relay.chat.models import Connection
from relay.notify import service
from relay.notify.deliveries_table import DeliveriesTable
from relay.notify.models import NotAnEvent, NotificationEvent
from relay.notify.notifications_table import NotificationsTable
from relay.notify.preferences_table import PreferencesTable
from relay.notify.routing import Deferrer, Router
from relay.notify.rules import BATCH_WINDOW_MS, IN_APP, MAX_DELAY_S
from relay.notify.sockets import ConnectionsReader, Sockets
from tests.support.lambdas import Context, call, handler, http_event
from tests.support.people import register


class Socket:
    """A gateway that records the frames each connection got; `gone` ones refuse."""

    def __init__(self, gone: set[str] | None = None) -> None:
        self.frames: list[tuple[str, dict[str, Any]]] = []
        self.gone = gone or set()

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            return False
        self.frames.append((connection_id, json.loads(data)))
        return True


class Atomic:
    """moto's DynamoDB with each call atomic, as DynamoDB's are: moto applies a
    transaction's items one by one, so threads would see halves that AWS never shows."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


class Held(Deferrer):
    """The queue's deferrals, kept for the test to hand back when it moves the clock
    (SQS's DelaySeconds runs on real time, which the tests do not wait for)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        super().__init__(sqs, queue_url)
        self.held: list[tuple[str, int]] = []

    def defer(self, event: NotificationEvent, delay_s: int) -> None:
        super().defer(event, delay_s)
        self.held.append((event.body(), min(MAX_DELAY_S, delay_s)))


@dataclass
class World:
    router: Router
    notifications: NotificationsTable
    deliveries: DeliveriesTable
    socket: Socket
    db: Atomic
    clock: Any
    aws: Any
    deferrer: Held

    def connect(self, user: str, *connection_ids: str) -> None:
        connections = ChatConnectionsTable(self.db, "ChatConnectionsTable")
        for connection_id in connection_ids:
            connections.add(Connection(connection_id, user), 0)


@pytest.fixture
def world(aws, clock):
    socket = Socket()
    db = Atomic(aws.dynamodb)
    notifications = NotificationsTable(db, "NotificationsTable")
    deliveries = DeliveriesTable(db, "DeliveriesTable")
    sockets = Sockets(ConnectionsReader(db, "ChatConnectionsTable"), socket)
    deferrer = Held(aws.sqs, aws.queue_urls["NotificationQueue"])
    router = Router(
        db,
        notifications,
        deliveries,
        sockets,
        service.shown,
        clock,
        PreferencesTable(db, "PreferencesTable"),
        deferrer,
    )
    for handle in ("alice", "bob", "carol"):
        register(aws.dynamodb, handle)
    return World(router, notifications, deliveries, socket, db, clock, aws, deferrer)


def event(**fields: Any) -> NotificationEvent:
    body = {
        "eventId": "feed.like:p1:alice",
        "category": "like",
        "recipients": ["bob"],
        "actorId": "alice",
        "subject": "post:p1",
        "at": 1_795_000_000_000,
        **fields,
    }
    return NotificationEvent.read(json.dumps(body), 0)


def test_an_event_reaches_the_inbox_unread_and_names_the_actor_by_handle(world):
    router = world.router

    outcome = router.route(event())

    assert outcome.deliveries == {"bob": {IN_APP: "sent"}}
    page = service.inbox().page("bob", 20, None)
    assert page.unread == 1
    [shown] = [service.shown(n) for n in page.items]
    assert shown["text"] == "alice liked your post"
    assert shown["actors"] == [{"userId": "alice", "handle": "alice"}]
    assert (shown["count"], shown["read"], shown["subject"]) == (1, False, "post:p1")


def test_a_redelivered_event_is_one_notification_and_one_delivery_line(world):
    router = world.router
    world.connect("bob", "c1")

    outcomes = [router.route(event(category="mention", subject="post:p9")) for _ in range(3)]

    assert [o.deliveries["bob"][IN_APP] for o in outcomes] == ["sent", "duplicate", "duplicate"]
    page = service.inbox().page("bob", 20, None)
    assert len(page.items) == 1 and page.items[0].count == 1 and page.unread == 1
    assert [d.status for d in world.deliveries.recent("bob")] == ["sent"]
    assert len(world.socket.frames) == 1


def test_concurrent_consumers_of_one_event_deliver_it_once(world):
    router = world.router
    world.connect("bob", "c1")
    one = event(category="comment", eventId="feed.comment:c1")

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: router.route(one).deliveries["bob"][IN_APP], range(8)))

    assert statuses.count("sent") == 1
    assert len(world.socket.frames) == 1
    assert service.inbox().page("bob", 20, None).unread == 1


def test_ten_likes_in_a_window_are_one_notification_and_the_same_person_counts_once(world, aws):
    router = world.router
    likers = [f"fan{i}" for i in range(10)]
    for i, liker in enumerate(likers):
        router.route(event(eventId=f"like:{liker}", actorId=liker, at=1_795_000_000_000 + i))
    # alice likes, unlikes and likes again: two events, one person
    router.route(event(eventId="like:alice:1"))
    router.route(event(eventId="like:alice:2"))

    page = service.inbox().page("bob", 20, None)

    assert len(page.items) == 1
    assert page.items[0].count == 11
    assert service.shown(page.items[0])["text"] == "alice and 10 others liked your post"


def test_likes_in_the_next_window_are_a_new_notification(world):
    router = world.router
    first = 1_795_000_000_000 - 1_795_000_000_000 % BATCH_WINDOW_MS

    router.route(event(eventId="a", at=first + BATCH_WINDOW_MS - 1))
    router.route(event(eventId="b", actorId="carol", at=first + BATCH_WINDOW_MS))

    items = service.inbox().page("bob", 20, None).items
    assert [n.actors for n in items] == [("carol",), ("alice",)]


def test_concurrent_likes_of_one_window_are_one_notification_counting_all(world):
    router = world.router

    def like(i: int) -> None:
        router.route(event(eventId=f"like:{i}", actorId=f"fan{i}", at=1_795_000_000_000 + i))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(like, range(24)))

    [only] = service.inbox().page("bob", 20, None).items
    assert only.count == 24


def test_the_actor_is_not_told_of_their_own_act(world):
    router = world.router

    outcome = router.route(event(recipients=["alice", "bob"]))

    assert list(outcome.deliveries) == ["bob"]
    assert service.inbox().page("alice", 20, None).items == []


def test_every_open_socket_of_the_recipient_gets_the_frame_and_a_gone_one_costs_nothing(world):
    router = world.router
    world.connect("bob", "c1", "c2", "c3")
    world.connect("carol", "c9")
    world.socket.gone.add("c2")

    router.route(event())

    assert sorted(c for c, _ in world.socket.frames) == ["c1", "c3"]
    frame = world.socket.frames[0][1]
    assert frame["type"] == "notification"
    assert frame["notification"]["text"] == "alice liked your post"


def test_chat_offline_member_events_are_read_as_messages():
    chat = {
        "conversationId": "conv1",
        "messageId": "m1",
        "seq": 3,
        "senderId": "alice",
        "senderHandle": "alice",
        "preview": "hello there",
        "recipients": ["bob", "carol"],
    }

    read = NotificationEvent.read(json.dumps(chat), 42)

    assert (read.event_id, read.category, read.subject) == (
        "chat.message:m1",
        "message",
        "conversation:conv1",
    )
    assert (read.recipients, read.actor_id, read.text, read.at_ms) == (
        ("bob", "carol"),
        "alice",
        "hello there",
        42,
    )


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"eventId": "e", "category": "poke", "recipients": ["b"], "subject": "s"}),
        json.dumps({"eventId": "e", "category": "like", "recipients": [], "subject": "s"}),
        json.dumps({"eventId": "e d", "category": "like", "recipients": ["b"], "subject": "s"}),
        json.dumps(
            {
                "eventId": "e",
                "category": "like",
                "recipients": ["b"],
                "subject": "s",
                "critical": "yes",
            }
        ),
        json.dumps({"eventId": "e", "category": "like", "recipients": [1], "subject": "s"}),
        json.dumps(
            {"eventId": "e", "category": "like", "recipients": ["b"], "subject": "s", "at": True}
        ),
    ],
)
def test_a_body_that_is_not_an_event_is_refused(body):
    with pytest.raises(NotAnEvent):
        NotificationEvent.read(body, 0)


def _sqs(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "body": b} for i, b in enumerate(bodies)]}


def test_the_consumer_fails_only_the_bad_message_of_a_batch(world, monkeypatch):
    router = world.router
    fn = handler("Notify")
    monkeypatch.setattr(sys.modules["relay_fn_Notify"], "router", lambda: router)

    answer = fn(_sqs(event().body(), "{}", event(eventId="x", actorId="carol").body()), Context())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert service.inbox().page("bob", 20, None).items[0].count == 2


def test_the_consumer_returns_a_message_whose_delivery_failed_and_the_retry_sends_once(
    world, monkeypatch
):
    router = world.router
    fn = handler("Notify")
    monkeypatch.setattr(sys.modules["relay_fn_Notify"], "router", lambda: router)
    real_get = world.notifications.get
    calls = {"n": 0}

    def dies_after_the_write(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="dynamodb")  # killed after the write
        return real_get(*args)

    monkeypatch.setattr(world.notifications, "get", dies_after_the_write)
    body = event(category="follow", subject="user:bob").body()

    first = fn(_sqs(body), Context())
    again = fn(_sqs(body), Context())

    assert first == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert again == {"batchItemFailures": []}
    [only] = service.inbox().page("bob", 20, None).items
    assert only.count == 1


def _get(user: str, **query: str) -> dict[str, Any]:
    answer = call(
        "Notifications",
        http_event("GET /api/notifications", "/api/notifications", user=user, query=query or None),
    )
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


def _read(user: str, body: Any) -> dict[str, Any]:
    answer = call(
        "Notifications",
        http_event("POST /api/notifications/read", "/api/notifications/read", user=user, body=body),
    )
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


def test_the_inbox_pages_newest_first_with_the_one_cursor_codec(world):
    router = world.router
    for i in range(5):
        router.route(event(category="mention", eventId=f"m{i}", at=1_795_000_000_000 + i))

    first = _get("bob", limit="2")
    second = _get("bob", limit="2", cursor=first["nextCursor"])
    third = _get("bob", limit="2", cursor=second["nextCursor"])
    someone_elses = _get("carol", cursor=first["nextCursor"])

    ids = [n["notificationId"] for page in (first, second, third) for n in page["items"]]
    assert len(ids) == 5 == len(set(ids)) and ids == sorted(ids, reverse=True)
    assert third["nextCursor"] is None
    assert first["unread"] == 5
    assert (someone_elses["status"], someone_elses["error"]["code"]) == (400, "invalid_cursor")


def test_marking_read_by_id_and_all_moves_the_unread_count(world):
    router = world.router
    for i in range(3):
        router.route(event(category="mention", eventId=f"m{i}", at=1_795_000_000_000 + i))
    ids = [n["notificationId"] for n in _get("bob")["items"]]

    one = _read("bob", {"notificationIds": [ids[0]]})
    after_one = _get("bob")
    unknown = _read("bob", {"notificationIds": ["1795000000000aaaaaaaaaaaaaaaa"]})
    not_bobs = _read("carol", {"notificationIds": [ids[1]]})
    everything = _read("bob", {})

    assert one == {"status": 200, "unread": 2}
    assert [n["read"] for n in after_one["items"]] == [True, False, False]
    assert (unknown["status"], unknown["error"]["code"]) == (404, "notification_not_found")
    assert not_bobs["status"] == 404
    assert everything == {"status": 200, "unread": 0}
    assert _get("bob")["unread"] == 0


def test_a_new_like_in_a_read_window_makes_it_unread_again(world):
    router = world.router
    router.route(event())
    _read("bob", {})

    router.route(event(eventId="like:carol", actorId="carol"))

    page = _get("bob")
    assert page["unread"] == 1
    assert page["items"][0]["count"] == 2


@pytest.mark.parametrize(
    "body",
    [{"notificationIds": []}, {"notificationIds": "x"}, {"all": True}, [], "x"],
)
def test_a_bad_read_body_is_a_400(world, body):
    answer = _read("bob", body)
    assert answer["status"] == 400


def test_the_inbox_needs_a_caller():
    answer = call("Notifications", http_event("GET /api/notifications", "/api/notifications"))
    assert answer["statusCode"] == 401


def _outbox_record(aws: Any, domain_event: Any, sequence: str) -> dict[str, Any]:
    from relay.platform.events import outbox_put

    aws.dynamodb.transact_write_items(TransactItems=[outbox_put("EventsTable", domain_event)])
    item = aws.dynamodb.get_item(
        TableName="EventsTable", Key={"pk": {"S": f"EVENT#{domain_event.event_id}"}}
    )["Item"]
    return {"eventName": "INSERT", "dynamodb": {"NewImage": item, "SequenceNumber": sequence}}


def test_an_outbox_event_that_asks_to_notify_reaches_the_inbox_through_the_queue(
    world, aws, monkeypatch
):
    from relay.notify.outbox import QueueSender
    from relay.platform.events import Event

    url = aws.queue_urls["NotificationQueue"]
    outbox = handler("NotificationOutbox")
    monkeypatch.setattr(
        sys.modules["relay_fn_NotificationOutbox"],
        "outbox_sender",
        lambda: QueueSender(aws.sqs, url),
    )
    consumer = handler("Notify")
    monkeypatch.setattr(sys.modules["relay_fn_Notify"], "router", lambda: world.router)
    liked = Event.now(
        "feed.liked",
        actor_id="alice",
        subject_id="post:p1",
        at_ms=1_795_000_000_000,
        recipients=("bob",),
        data={"category": "like"},
    )
    signed_up = Event.now(
        "accounts.user_created", actor_id="carol", subject_id="user:carol", at_ms=1
    )
    records = [_outbox_record(aws, signed_up, "1"), _outbox_record(aws, liked, "2")]
    records.append(records[-1])  # the stream delivers at least once

    sent = outbox({"Records": records}, Context())
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    consumed = consumer(_sqs(*(m["Body"] for m in messages)), Context())

    assert sent == consumed == {"batchItemFailures": []}
    assert len(messages) == 2  # the record read twice is sent twice, and delivered once
    [only] = service.inbox().page("bob", 20, None).items
    assert (only.category, only.actors, only.count) == ("like", ("alice",), 1)


def test_an_outbox_record_that_cannot_be_sent_is_retried_from_where_it_failed(aws, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from relay.platform.events import Event

    class Down:
        def send(self, event: Any) -> None:
            raise EndpointConnectionError(endpoint_url="sqs")

    outbox = handler("NotificationOutbox")
    monkeypatch.setattr(sys.modules["relay_fn_NotificationOutbox"], "outbox_sender", Down)
    followed = Event.now(
        "feed.followed",
        actor_id="a",
        subject_id="user:b",
        at_ms=1,
        recipients=("b",),
        data={"category": "follow"},
    )

    answer = outbox({"Records": [_outbox_record(aws, followed, "7")]}, Context())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "7"}]}


def _at(local: str, time_zone: str) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return int(
        dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(time_zone)).timestamp() * 1000
    )


def _prefs(user: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = call(
        "Notifications",
        http_event(
            "PUT /api/me/notification-preferences",
            "/api/me/notification-preferences",
            user=user,
            body=body,
        ),
    )
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


def _queued(world: World) -> list[dict[str, Any]]:
    return [{"Body": body, "Delay": delay} for body, delay in world.deferrer.held]


def test_quiet_hours_in_the_recipients_time_zone_defer_to_the_windows_end_never_drop(world):
    quiet = {"timeZone": "Europe/Paris", "quietHours": {"start": "22:00", "end": "07:00"}}
    assert _prefs("bob", quiet)["status"] == 200
    world.clock.now = _at("2026-11-20T23:30:00", "Europe/Paris")

    first = world.router.route(event(category="mention", eventId="late"))
    [requeued] = _queued(world)
    world.clock.now = _at("2026-11-21T07:00:01", "Europe/Paris")  # the hops SQS makes, done
    later = world.router.route(NotificationEvent.read(requeued["Body"], world.clock.now))

    assert first.deliveries == {"bob": {IN_APP: "deferred"}}
    assert later.deliveries == {"bob": {IN_APP: "sent"}}
    assert json.loads(requeued["Body"])["recipients"] == ["bob"]
    assert requeued["Delay"] == MAX_DELAY_S  # 7.5 hours to wait: the first of several hops
    [only] = service.inbox().page("bob", 20, None).items
    assert only.category == "mention"
    [line] = world.deliveries.recent("bob")
    assert line.status == "sent"


def test_a_deferral_waits_at_most_what_sqs_allows_and_comes_back_till_the_window_ends(world):
    _prefs(
        "bob", {"timeZone": "America/New_York", "quietHours": {"start": "21:00", "end": "08:00"}}
    )
    world.clock.now = _at("2026-11-20T22:00:00", "America/New_York")

    world.router.route(event(category="comment", eventId="c1"))
    [requeued] = _queued(world)
    world.clock.now += requeued["Delay"] * 1000
    again = world.router.route(NotificationEvent.read(requeued["Body"], world.clock.now))

    assert again.deliveries == {"bob": {IN_APP: "deferred"}}
    assert service.inbox().page("bob", 20, None).items == []


def test_a_critical_event_goes_through_quiet_hours(world):
    _prefs("bob", {"timeZone": "Asia/Tokyo", "quietHours": {"start": "00:00", "end": "23:59"}})
    world.clock.now = _at("2026-11-20T12:00:00", "Asia/Tokyo")

    outcome = world.router.route(event(category="broadcast", eventId="b1", critical=True, text="x"))

    assert outcome.deliveries["bob"][IN_APP] == "sent"
    assert _queued(world) == []


def test_a_channel_turned_off_or_not_set_up_is_skipped_and_recorded(world):
    _prefs("bob", {"channels": {"like": {"inApp": "off", "email": "immediate", "sms": "daily"}}})

    outcome = world.router.route(event())

    assert outcome.deliveries == {"bob": {IN_APP: "skipped", "email": "skipped", "sms": "skipped"}}
    reasons = {d.channel: (d.status, d.reason) for d in world.deliveries.recent("bob")}
    assert reasons == {
        IN_APP: ("skipped", "off by preference"),
        "email": ("skipped", "no email set up"),
        "sms": ("skipped", "no sms set up"),
    }
    assert service.inbox().page("bob", 20, None).items == []


def test_preferences_read_back_with_defaults_filled_in(world):
    put = _prefs("bob", {"channels": {"follow": {"email": "daily"}}, "timeZone": "Europe/Paris"})
    got = call(
        "Notifications",
        http_event(
            "GET /api/me/notification-preferences", "/api/me/notification-preferences", user="bob"
        ),
    )
    shown = json.loads(got["body"])

    assert put["status"] == 200 and shown == {k: v for k, v in put.items() if k != "status"}
    assert shown["channels"]["follow"] == {
        "inApp": "immediate",
        "email": "daily",
        "sms": "off",
        "push": "off",
    }
    assert shown["channels"]["like"]["email"] == "off"
    assert (shown["timeZone"], shown["quietHours"]) == ("Europe/Paris", None)


@pytest.mark.parametrize(
    "body",
    [
        {"timeZone": "Mars/Olympus"},
        {"timeZone": "../etc/passwd"},
        {"channels": {"poke": {"inApp": "off"}}},
        {"channels": {"like": {"fax": "off"}}},
        {"channels": {"like": {"email": "weekly"}}},
        {"quietHours": {"start": "25:00", "end": "07:00"}},
        {"quietHours": {"start": "07:00", "end": "07:00"}},
        {"quietHours": {"start": "22:00"}},
        {"colour": "blue"},
    ],
)
def test_preferences_relay_cannot_honour_are_a_400(world, body):
    answer = _prefs("bob", body)
    assert answer["status"] == 400, answer
