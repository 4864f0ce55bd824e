"""The chat domain against moto's DynamoDB, SQS, SNS and S3 (tables and queues from
template.yaml) and the real Redis, with a frozen clock and a recording gateway.

moto's `@connections` never answers GoneException, so the gateway here is a fake that
can (and botocore's Stubber checks the real client's mapping of GoneException).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.chat.attachments import Attachments
from relay.chat.connections_table import ChatConnectionsTable
from relay.chat.conversations import Conversations, direct_id
from relay.chat.conversations_table import ConversationsTable
from relay.chat.delivery import DeliveryJob, ManagementApi, QueueSender, Session
from relay.chat.frames import Protocol
from relay.chat.messages_table import MessagesTable
from relay.chat.messaging import Messaging
from relay.chat.models import Connection, Message
from relay.chat.notifications import Notifier
from relay.chat.ordering import Sequencer
from relay.chat.presence import Presence
from relay.chat.rules import PRESENCE_TTL_MS, PUSH_WINDOW_MS
from relay.chat.turns import Turns
from relay.platform.cache import RedisGate
from relay.platform.dynamo import Backoff
from relay.platform.errors import Forbidden, Invalid
from relay.platform.ratelimit import RateLimiter, rule
from tests.support.clock import FrozenClock
from tests.support.frames import frames
from tests.support.people import register_all
from tests.support.stack import eventually

ENDPOINT = "https://example.execute-api.us-east-1.amazonaws.com/test"


class FakeGateway:
    """Records what each connection was sent; connections in `gone` answer GoneException."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.gone: set[str] = set()

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.setdefault(connection_id, []).append(json.loads(data))
        return True

    def frames(self, connection_id: str, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.sent.get(connection_id, []) if f["type"] == kind]


class Chat:
    def __init__(self, aws: Any, redis_client: Any, clock: Any) -> None:
        self.gateway = FakeGateway()
        self.table = ConversationsTable(aws.dynamodb, "ConversationsTable")
        self.messages = MessagesTable(aws.dynamodb, "MessagesTable")
        self.sequencer = Sequencer(
            aws.dynamodb, self.table, self.messages, Backoff(sleep=lambda s: None)
        )
        self.connections = ChatConnectionsTable(aws.dynamodb, "ChatConnectionsTable")
        self.gate = RedisGate(clock)
        self.presence = Presence(redis_client, self.gate, clock)
        sns = boto3.client("sns")
        self.topic = sns.create_topic(Name="ChatPushTopic")["TopicArn"]
        self.pushes = aws.sqs.create_queue(QueueName="pushes")["QueueUrl"]
        arn = aws.sqs.get_queue_attributes(QueueUrl=self.pushes, AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="attachments")
        self.s3 = s3
        self.attachments = Attachments(s3, "attachments")
        self.sqs = aws.sqs
        self.delivery_queue = aws.queue_urls["ChatDeliveryQueue"]
        self.conversations = Conversations(self.table, self.messages, self.attachments, clock)
        self.messaging = Messaging(
            self.conversations,
            self.sequencer,
            self.connections,
            self.presence,
            Notifier(sns, self.topic, redis_client, self.gate, clock),
            self.attachments,
            clock,
            QueueSender(aws.sqs, self.delivery_queue),
        )
        self.turns = Turns(redis_client, self.gate, slice_s=0.1)
        self.protocol = Protocol(
            self.messaging, RateLimiter(redis_client, clock), self.gate, self.turns
        )

    def session(self, user: str, connection_id: str | None = None) -> Session:
        return Session(Connection(connection_id or f"{user}-conn", user), ENDPOINT, self.gateway)

    def connect(self, user: str, connection_id: str | None = None) -> Session:
        session = self.session(user, connection_id)
        self.messaging.connect(session)
        return session

    def push_bodies(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(QueueUrl=self.pushes, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in answer.get("Messages", [])]

    def delivery_jobs(self) -> list[str]:
        bodies: list[str] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.delivery_queue, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return bodies
            bodies += [m["Body"] for m in messages]
            for m in messages:
                self.sqs.delete_message(
                    QueueUrl=self.delivery_queue, ReceiptHandle=m["ReceiptHandle"]
                )


@pytest.fixture
def chat(aws: Any, redis_client: Any, clock: Any) -> Chat:
    return Chat(aws, redis_client, clock)


def test_the_direct_conversation_is_the_same_whoever_creates_it(chat: Chat) -> None:
    first = chat.conversations.create("alice", ["bob"], None)
    second = chat.conversations.create("bob", ["alice", "bob"], None)

    assert first.created and not second.created
    assert first.view.conversation.conversation_id == second.view.conversation.conversation_id
    assert first.view.conversation.conversation_id == direct_id("bob", "alice")


def test_a_group_holds_1000_members_and_refuses_the_1001st(chat: Chat) -> None:
    members = [f"u{i}" for i in range(999)]

    made = chat.conversations.create("owner", members, "all")
    with pytest.raises(Invalid) as refused:
        chat.conversations.create("owner", [*members, "one-more"], "all")

    assert len(made.view.conversation.members) == 1000
    assert refused.value.code == "too_many_members"
    assert len(chat.conversations.mine("u998")[0]) == 1


def test_seq_is_allocated_past_a_sender_that_took_it_first(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    stale = chat.table.get(cid)
    assert stale is not None
    chat.messaging.send(chat.session("alice"), cid, "first", None, [])
    # bob's view of the conversation predates alice's message: his transaction must lose,
    # read the counter again, and take the next seq rather than overwrite or skip.
    message, duplicate = chat.sequencer.append(
        stale,
        lambda seq: Message(cid, "m-bob", seq, "bob", "second", 1),
    )

    assert (message.seq, duplicate) == (2, False)
    assert [m.content for m in chat.messages.history(cid, None, 10)] == ["first", "second"]


def test_retried_client_message_id_is_stored_once(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    alice = chat.session("alice")
    chat.connect("bob")

    first = chat.messaging.send(alice, cid, "once", "c-1", [])
    again = chat.messaging.send(alice, cid, "once", "c-1", [])

    assert again.seq == first.seq == 1 and again.message_id == first.message_id
    assert len(chat.messages.history(cid, None, 10)) == 1
    assert len(chat.gateway.frames("bob-conn", "message")) == 1
    assert [a["seq"] for a in chat.gateway.frames("alice-conn", "ack")] == [1, 1]


def test_a_non_member_cannot_send(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id

    with pytest.raises(Forbidden):
        chat.messaging.send(chat.session("eve"), cid, "let me in", None, [])

    assert chat.messages.history(cid, None, 10) == []


def test_a_gone_connection_is_removed_and_the_others_still_receive(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    alice = chat.connect("alice")
    chat.connect("bob", "bob-phone")
    chat.connect("bob", "bob-laptop")
    chat.gateway.gone.add("bob-laptop")

    chat.messaging.send(alice, cid, "hello", None, [])

    assert [f["content"] for f in chat.gateway.frames("bob-phone", "message")] == ["hello"]
    assert chat.connections.of_users(["alice", "bob"]) == {
        "alice": ["alice-conn"],
        "bob": ["bob-phone"],
    }


def test_the_management_client_reads_gone_exception_as_gone() -> None:
    client = boto3.client("apigatewaymanagementapi", endpoint_url=ENDPOINT)
    api = ManagementApi(client)
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": "live", "Data": b"x"})
        stub.add_client_error("post_to_connection", "GoneException", http_status_code=410)

        assert api.post("live", b"x") is True
        assert api.post("dead", b"x") is False


def test_a_large_group_is_fanned_out_in_chunks_through_the_delivery_queue(chat: Chat) -> None:
    members = [f"g{i:03d}" for i in range(299)]
    cid = chat.conversations.create("owner", members, "big").view.conversation.conversation_id
    owner = chat.connect("owner")
    for member in members[:10]:
        chat.connect(member)

    chat.messaging.send(owner, cid, "to all", None, [])
    jobs = chat.delivery_jobs()
    for body in jobs:
        chat.messaging.deliver(DeliveryJob.read(body), chat.gateway)

    assert len(jobs) == 3
    assert all(len(chat.gateway.frames(f"{m}-conn", "message")) == 1 for m in members[:10])
    assert chat.gateway.frames("owner-conn", "message") == []
    pushed = {user for body in chat.push_bodies() for user in body["recipients"]}
    assert pushed == set(members[10:])


def test_offline_members_get_one_push_per_conversation_per_window(chat: Chat, clock: Any) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    alice = chat.session("alice")

    for text in ("one", "two", "three"):
        chat.messaging.send(alice, cid, text, None, [])
    first = chat.push_bodies()
    clock.advance(PUSH_WINDOW_MS / 1000)
    chat.messaging.send(alice, cid, "later", None, [])
    later = chat.push_bodies()

    assert [(p["recipients"], p["preview"]) for p in first] == [(["bob"], "one")]
    assert [(p["recipients"], p["preview"]) for p in later] == [(["bob"], "later")]


def test_presence_follows_connections_and_lapses_without_pings(
    aws: Any, chat: Chat, clock: Any
) -> None:
    register_all(aws.dynamodb, "alice", "bob")
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    assert cid
    chat.connect("alice")

    chat.connect("bob")
    assert chat.gateway.frames("alice-conn", "presence") == [
        {"type": "presence", "userId": "bob", "handle": "bob", "status": "online"}
    ]
    clock.advance(PRESENCE_TTL_MS * 0.6 / 1000)
    chat.messaging.ping(chat.session("alice"))
    clock.advance(PRESENCE_TTL_MS * 0.5 / 1000)

    lapsed = chat.messaging.sweep(ENDPOINT, lambda _: chat.gateway)

    assert lapsed == ["bob"]
    assert chat.gateway.frames("alice-conn", "presence")[-1]["status"] == "offline"
    assert chat.presence.online(["alice", "bob"]) == {"alice"}
    assert chat.messaging.sweep(ENDPOINT, lambda _: chat.gateway) == []


def test_with_redis_down_presence_degrades_and_messages_do_not(
    aws: Any, redis_client: Any, clock: Any
) -> None:
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    chat = Chat(aws, dead, clock)
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    chat.connect("bob")
    alice = chat.connect("alice")

    chat.protocol.handle(
        alice,
        "sendMessage",
        json.dumps({"action": "sendMessage", "conversationId": cid, "content": "still works"}),
    )

    assert [f["content"] for f in chat.gateway.frames("bob-conn", "message")] == ["still works"]
    assert chat.gateway.frames("bob-conn", "presence") == []
    assert chat.presence.online(["alice", "bob"]) == set()


def test_sync_sends_what_the_member_has_not_read_oldest_first(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    alice = chat.session("alice")
    for text in ("a", "b", "c"):
        chat.messaging.send(alice, cid, text, None, [])
    bob = chat.session("bob")
    chat.messaging.read(bob, cid, 1)

    sent = chat.messaging.sync(bob)

    assert sent == 2
    assert [f["content"] for f in chat.gateway.frames("bob-conn", "message")] == ["b", "c"]
    assert chat.gateway.frames("bob-conn", "synced") == [
        {"type": "synced", "count": 2, "more": False}
    ]
    assert [v.unread for v in chat.conversations.mine("bob")[0]] == [2]


def test_a_message_names_only_attachments_uploaded_to_its_conversation(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    other = chat.conversations.create("alice", ["carol"], None).view.conversation.conversation_id
    upload = chat.conversations.upload("alice", other, "image/png", 10)
    chat.s3.put_object(Bucket="attachments", Key=upload.fields["key"], Body=b"0123456789")

    with pytest.raises(Invalid):
        chat.messaging.send(chat.session("alice"), cid, "x", None, [upload.attachment_id])
    sent = chat.messaging.send(chat.session("alice"), other, "x", None, [upload.attachment_id])

    assert sent.attachments == (upload.attachment_id,)


def test_two_warm_processes_with_stale_copies_still_allocate_seq_without_gaps(
    aws: Any, redis_client: Any, clock: Any
) -> None:
    first, second = Chat(aws, redis_client, clock), None
    cid = first.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    second = Chat.__new__(Chat)
    second.__dict__.update(first.__dict__)
    second.messaging = Messaging(
        Conversations(first.table, first.messages, first.attachments, clock),
        first.sequencer,
        first.connections,
        first.presence,
        Notifier(boto3.client("sns"), first.topic, redis_client, first.gate, clock),
        first.attachments,
        clock,
        QueueSender(aws.sqs, first.delivery_queue),
    )

    seqs = [
        chat.messaging.send(chat.session(user), cid, f"{user} {i}", None, []).seq
        for i in range(3)
        for chat, user in ((first, "alice"), (second, "bob"))
    ]

    assert seqs == [1, 2, 3, 4, 5, 6]
    assert [m.seq for m in first.messages.history(cid, None, 10)] == [1, 2, 3, 4, 5, 6]


def test_the_delivery_consumer_fails_a_body_that_is_not_a_job_alone(aws: Any) -> None:
    from tests.support.lambdas import ROOT, call

    event = json.loads((ROOT / "events" / "chat-delivery.json").read_text())
    good = event["Records"][0]
    job = json.loads(good["body"])
    bad = {**good, "messageId": "not-a-job", "body": json.dumps({**job, "members": "everyone"})}

    answer = call("ChatDelivery", {"Records": [good, bad]})

    assert answer == {"batchItemFailures": [{"itemIdentifier": "not-a-job"}]}


def test_conversations_are_listed_newest_activity_first_a_page_at_a_time(
    chat: Chat, clock: Any
) -> None:
    made = []
    for other in ("b", "c", "d", "e", "f"):
        made.append(chat.conversations.create("a", [other], None).view.conversation)
        clock.advance(1)
    chat.messaging.send(chat.session("a"), made[0].conversation_id, "bump", None, [])

    first, cursor = chat.conversations.mine("a", limit=2)
    second, cursor_2 = chat.conversations.mine("a", limit=2, cursor=cursor)
    third, end = chat.conversations.mine("a", limit=2, cursor=cursor_2)

    order = [v.conversation.conversation_id for v in [*first, *second, *third]]
    expected = [made[i].conversation_id for i in (0, 4, 3, 2, 1)]
    assert order == expected and end is None
    with pytest.raises(Invalid):
        chat.conversations.mine("a", cursor="not-a-cursor")


def test_a_conversation_list_cursor_is_refused_in_anyone_elses_list(chat: Chat, clock: Any) -> None:
    for other in ("b", "c", "d"):
        chat.conversations.create("a", [other], None)
        chat.conversations.create("z", [other], None)
        clock.advance(1)
    _, theirs = chat.conversations.mine("a", limit=1)
    assert theirs is not None

    with pytest.raises(Invalid) as refused:
        chat.conversations.mine("z", limit=1, cursor=theirs)

    assert refused.value.code == "invalid_cursor"


def test_history_pages_back_by_cursor_or_by_seq_and_refuses_another_conversations_cursor(
    chat: Chat,
) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    other = chat.conversations.create("alice", ["carol"], None).view.conversation.conversation_id
    for conversation in (cid, other):
        for text in ("one", "two", "three"):
            chat.messaging.send(chat.session("alice"), conversation, text, None, [])

    newest = chat.conversations.history("alice", cid, None, 2)
    by_cursor = chat.conversations.history("alice", cid, newest.next_cursor, 2)
    by_seq = chat.conversations.history("alice", cid, "2", 2)
    elsewhere = chat.conversations.history("alice", other, None, 2).next_cursor
    with pytest.raises(Invalid) as refused:
        chat.conversations.history("alice", cid, elsewhere, 2)

    assert [m.content for m in newest.items] == ["two", "three"]
    assert [m.content for m in by_cursor.items] == ["one"] and by_cursor.next_cursor is None
    assert [m.content for m in by_seq.items] == ["one"]
    assert refused.value.code == "invalid_cursor"


def test_a_flood_of_unroutable_frames_is_limited_and_the_limit_names_the_next_message(
    chat: Chat,
) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    alice = chat.session("alice")
    allowed = rule("chat-connection").limit

    for _ in range(allowed):
        chat.protocol.handle(alice, "$default", "not json")
    chat.protocol.handle(
        alice,
        "sendMessage",
        json.dumps(
            {
                "action": "sendMessage",
                "conversationId": cid,
                "content": "hi",
                "clientMessageId": "c",
            }
        ),
    )
    chat.protocol.handle(alice, "ping", json.dumps({"action": "ping"}))

    errors = chat.gateway.frames("alice-conn", "error")
    assert {e["code"] for e in errors[:allowed]} == {"malformed_json"}
    assert (errors[allowed]["code"], errors[allowed]["clientMessageId"]) == ("rate_limited", "c")
    assert chat.gateway.frames("alice-conn", "pong") == [{"type": "pong"}]
    assert chat.messages.history(cid, None, 10) == []


def test_the_frame_function_counts_a_limited_frame_as_a_metric(aws: Any, monkeypatch: Any) -> None:
    import io
    from contextlib import redirect_stdout

    from relay.platform import config
    from tests.support.lambdas import ROOT, Context, handler

    # One frame a minute per connection: the second is limited however slowly it comes.
    monkeypatch.setenv("RATE_LIMITS", json.dumps({"chat-connection": 1}))
    config.settings.cache_clear()
    event = json.loads((ROOT / "events" / "chat-message-ping.json").read_text())
    event["requestContext"]["routeKey"] = "$default"
    event["body"] = "not json"
    chat_message = handler("ChatMessage")
    out = io.StringIO()
    try:
        chat_message(event, Context())
        with redirect_stdout(out):
            chat_message(event, Context())
    finally:
        monkeypatch.delenv("RATE_LIMITS")
        config.settings.cache_clear()

    metrics = [json.loads(line) for line in out.getvalue().splitlines() if '"_aws"' in line]
    assert [name for m in metrics for name in m if name == "RateLimited"] == ["RateLimited"]


# ---- every frame a client can send: property-based, as tests/integration/test_fuzz.py
# does for HTTP bodies (the strategies: tests/support/frames.py).
@given(data=st.data())
@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_frame_gets_an_internal_error_or_busy_and_the_answer_is_designs(
    chat: Chat, clock: Any, data: st.DataObject
) -> None:
    cid = direct_id("alice", "bob")
    chat.conversations.create("alice", ["bob"], None)
    chat.connect("bob")
    alice = chat.session("alice")
    body = data.draw(frames(cid), label="frame")
    route = data.draw(st.sampled_from(["$default", "sendMessage", "typing", "read", "sync"]))
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("action"), str):
        route = parsed["action"]  # as API Gateway routes it
    clock.advance(60)  # past the minute's frame limits: every example reaches the domain
    chat.gateway.sent.clear()

    chat.protocol.handle(alice, route, body)

    answers = chat.gateway.sent.get("alice-conn", [])
    errors = [f for f in answers if f["type"] == "error"]
    assert answers or route in ("typing", "read"), body
    for error in errors:
        assert set(error) <= {"type", "code", "message", "clientMessageId"}, error
        assert error["code"] not in ("internal_error", "busy"), (body, error)
    for sent in chat.gateway.sent.values():
        json.dumps(sent, ensure_ascii=False).encode()  # all of it could go on a socket


def _send_frame(cid: str, n: int) -> str:
    return json.dumps(
        {"action": "sendMessage", "conversationId": cid, "content": f"m{n}", "order": n}
    )


def test_a_frame_that_overtakes_the_one_sent_before_it_waits_for_its_turn(
    chat: Chat, redis_client: Any
) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    alice = chat.session("alice")
    # Frame 2 reaches its invocation first, as concurrent invocations may.
    second = threading.Thread(
        target=chat.protocol.handle, args=(alice, "sendMessage", _send_frame(cid, 2))
    )
    second.start()
    eventually(
        lambda: any(c.get("cmd") == "blpop" for c in redis_client.client_list()),
        what="frame 2 waiting for its turn",
    )

    chat.protocol.handle(alice, "sendMessage", _send_frame(cid, 1))
    second.join()

    assert [m.content for m in chat.messages.history(cid, None, 10)] == ["m1", "m2"]
    assert [a["seq"] for a in chat.gateway.frames("alice-conn", "ack")] == [1, 2]


def test_a_turn_that_never_comes_holds_a_frame_only_for_the_wait(
    chat: Chat, redis_client: Any
) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    chat.protocol = Protocol(
        chat.messaging,
        RateLimiter(redis_client, FrozenClock()),
        chat.gate,
        Turns(redis_client, chat.gate, slice_s=0.01, wait_s=0.05),
    )

    chat.protocol.handle(chat.session("alice"), "sendMessage", _send_frame(cid, 7))

    assert [m.content for m in chat.messages.history(cid, None, 10)] == ["m7"]
    assert not chat.gateway.frames("alice-conn", "error")


def test_a_frames_order_must_be_a_count_from_one(chat: Chat) -> None:
    cid = chat.conversations.create("alice", ["bob"], None).view.conversation.conversation_id
    for order in (0, -1, "1", 1.5, True, 2**60):
        body = json.dumps(
            {"action": "sendMessage", "conversationId": cid, "content": "x", "order": order}
        )
        chat.protocol.handle(chat.session("alice"), "sendMessage", body)

    codes = [f["code"] for f in chat.gateway.frames("alice-conn", "error")]
    assert codes == ["invalid_field"] * 6
    assert chat.messages.history(cid, None, 10) == []


def test_a_warm_process_with_an_old_member_list_refuses_the_removed_and_reaches_the_added(
    chat: Chat, clock: Any
) -> None:
    cid = chat.conversations.create("alice", ["bob"], "team").view.conversation.conversation_id
    chat.messaging.send(chat.session("alice"), cid, "warm", None, [])  # this process keeps it
    chat.connect("carol")
    elsewhere = Conversations(chat.table, chat.messages, chat.attachments, clock)

    elsewhere.remove_member("alice", cid, "bob")
    elsewhere.add_members("alice", cid, ["carol"])

    with pytest.raises(Forbidden):
        chat.messaging.send(chat.session("bob"), cid, "still here?", None, [])
    chat.messaging.send(chat.session("alice"), cid, "welcome", None, [])
    assert [f["content"] for f in chat.gateway.frames("carol-conn", "message")] == ["welcome"]
    assert [m.content for m in chat.messages.history(cid, None, 10)] == ["warm", "welcome"]
