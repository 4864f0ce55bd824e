"""Real-time chat end to end: `relay run` with the real template.yaml, spoken to by real
WebSocket clients and over HTTP, as the issue's numbered flows describe.

The stack has a Redis server of its own (when `redis-server` is on PATH), so that one
test can stop it mid-conversation without touching any other test's Redis.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus

from relay.platform.unicode import encodable
from tests.support.accounts import bearer, relay_token
from tests.support.frames import frames
from tests.support.people import register
from tests.support.stack import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-chat")]

Frame = dict[str, Any]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of this module's own (so stopping it disturbs no other test)."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--save", ""),
                *("--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
        )
        eventually(lambda: self._answers(), what="redis-server to start")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    if shutil.which("redis-server") is None:
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("chat-redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer | None
) -> Iterator[Stack]:
    url = redis_server.url if redis_server else os.environ["RELAY_E2E_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    running = Stack(ROOT, tmp_path_factory.mktemp("chat-state"), env={"REDIS_URL": url})
    try:
        yield running
    finally:
        running.stop()


@dataclass(frozen=True)
class Person:
    handle: str
    token: str
    id: str  # the token's sub: what storage keys on, and frames' userId and senderId


_people: dict[tuple[Path, str], Person] = {}


def person(stack: Stack, handle: str) -> Person:
    """Someone signed up through the stack's user pool by `relay token` (so their profile
    exists), once per stack; their sub read back from their public profile."""
    key = (stack.state_dir, handle)
    if key not in _people:
        # The state dir named: the feed's and the chat's stacks may run at once.
        token = relay_token(stack, handle, "--state-dir", str(stack.state_dir))
        profile = stack.http.get(f"/api/users/{handle}", headers=bearer(token))
        assert profile.status_code == 200, profile.text
        _people[key] = Person(handle, token, str(profile.json()["userId"]))
    return _people[key]


def token(stack: Stack, handle: str) -> str:
    return person(stack, handle).token


def auth(stack: Stack, handle: str) -> dict[str, str]:
    return bearer(token(stack, handle))


def sub(stack: Stack, handle: str) -> str:
    return person(stack, handle).id


class Client:
    """One person's WebSocket; frames that a test did not ask for yet wait in `backlog`."""

    def __init__(self, stack: Stack, user: str) -> None:
        self.user = user
        self.id = sub(stack, user)
        self._opened = stack.ws(f"token={token(stack, user)}")
        self.ws = self._opened.__enter__()
        self.backlog: list[Frame] = []
        self.conversation = ""  # the conversation a fixture gave this client, if any

    def send(self, **frame: Any) -> None:
        self.ws.send(json.dumps(frame))

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def next(
        self, kind: str, where: Callable[[Frame], bool] = lambda f: True, timeout: float = 10
    ) -> Frame:
        """The first frame of `kind` (and `where`), waiting for it up to `timeout`."""
        for frame in self.backlog:
            if frame.get("type") == kind and where(frame):
                self.backlog.remove(frame)
                return frame
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.user}: no {kind} frame; got {self.backlog}")
            frame = json.loads(self.ws.recv(timeout=left))
            if frame.get("type") == kind and where(frame):
                return frame
            self.backlog.append(frame)

    def close(self) -> None:
        self._opened.__exit__(None, None, None)


@pytest.fixture
def clients(stack: Stack) -> Iterator[Callable[[str], Client]]:
    opened: list[Client] = []

    def open_client(user: str) -> Client:
        client = Client(stack, user)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def conversation(
    stack: Stack, user: str, members: list[str], name: str | None = None, *, sign_up: bool = True
) -> str:
    """A conversation `user` starts with `members` (handles), who sign up first unless
    `sign_up` is False (the test made their accounts)."""
    for member in members if sign_up else ():
        person(stack, member)
    body: dict[str, Any] = {"members": members}
    if name is not None:
        body["name"] = name
    answer = stack.http.post("/api/conversations", json=body, headers=auth(stack, user))
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["conversationId"])


def test_flow_1_direct_conversation_is_one_and_a_message_reaches_the_other_at_once(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice, bob = clients("alice1"), clients("bob1")
    first = stack.http.post(
        "/api/conversations", json={"members": ["bob1"]}, headers=auth(stack, "alice1")
    )
    again = stack.http.post(
        "/api/conversations", json={"members": ["alice1"]}, headers=auth(stack, "bob1")
    )

    assert first.status_code == 201 and again.status_code == 200
    cid = first.json()["conversationId"]
    assert again.json()["conversationId"] == cid
    assert first.json()["kind"] == "direct"
    assert sorted(m["handle"] for m in first.json()["members"]) == ["alice1", "bob1"]
    assert {m["userId"] for m in first.json()["members"]} == {alice.id, bob.id}

    alice.send(action="sendMessage", conversationId=cid, content="hi", clientMessageId="c1")

    ack = alice.next("ack")
    assert ack["clientMessageId"] == "c1" and ack["seq"] == 1 and ack["conversationId"] == cid
    received = bob.next("message")
    assert received["content"] == "hi" and received["senderId"] == alice.id
    assert received["senderHandle"] == "alice1"
    assert received["seq"] == 1 and received["messageId"] == ack["messageId"]


def test_flow_2_typing_read_receipts_and_presence_reach_the_other_members(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice = clients("alice2")
    cid = conversation(stack, "alice2", ["bob2"])
    bob = clients("bob2")
    assert alice.next("presence", lambda f: f["handle"] == "bob2")["status"] == "online"

    alice.send(action="typing", conversationId=cid)
    assert bob.next("typing") == {
        "type": "typing",
        "conversationId": cid,
        "userId": alice.id,
        "handle": "alice2",
    }

    alice.send(action="sendMessage", conversationId=cid, content="read me")
    seq = bob.next("message")["seq"]
    bob.send(action="read", conversationId=cid, seq=seq)
    receipt = alice.next("read")
    assert (receipt["userId"], receipt["handle"], receipt["seq"]) == (bob.id, "bob2", seq)
    assert receipt["conversationId"] == cid

    bob.send(action="ping")
    assert bob.next("pong") == {"type": "pong"}

    bob.close()
    assert alice.next("presence", lambda f: f["userId"] == bob.id)["status"] == "offline"


def test_flow_3_offline_member_syncs_exactly_the_missed_messages_and_sees_unread_counts(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice = clients("alice3")
    older = conversation(stack, "alice3", ["carol3", "bob3"], name="older")
    cid = conversation(stack, "alice3", ["bob3"])
    alice.send(action="sendMessage", conversationId=older, content="earlier")
    alice.next("ack")
    bob = clients("bob3")
    bob.send(action="sync")
    assert bob.next("message")["content"] == "earlier"
    bob.send(action="read", conversationId=older, seq=1)
    assert bob.next("synced")["count"] == 1
    bob.close()

    for text in ("one", "two", "three"):
        alice.send(action="sendMessage", conversationId=cid, content=text)
        alice.next("ack")

    bob = clients("bob3")
    bob.send(action="sync")
    got = [bob.next("message") for _ in range(3)]
    assert [m["content"] for m in got] == ["one", "two", "three"]
    assert {m["senderHandle"] for m in got} == {"alice3"}
    assert [m["seq"] for m in got] == [1, 2, 3]
    assert bob.next("synced") == {"type": "synced", "count": 3, "more": False}

    listed = stack.http.get("/api/conversations", headers=auth(stack, "bob3")).json()["items"]
    assert [(c["conversationId"], c["unread"]) for c in listed] == [(cid, 3), (older, 0)]

    page = stack.http.get(
        f"/api/conversations/{cid}/messages", params={"limit": 2}, headers=auth(stack, "bob3")
    ).json()
    assert [(m["content"], m["senderHandle"]) for m in page["items"]] == [
        ("two", "alice3"),
        ("three", "alice3"),
    ]
    before = stack.http.get(
        f"/api/conversations/{cid}/messages",
        params={"limit": 2, "before": page["nextCursor"]},
        headers=auth(stack, "bob3"),
    ).json()
    assert [m["content"] for m in before["items"]] == ["one"] and before["nextCursor"] is None


def test_flow_4_a_1000_member_group_reaches_every_online_member_despite_a_vanished_one(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    members = [f"m4_{i:04d}" for i in range(999)]
    online_members = members[::50]  # 20 members online, signed up as people sign up
    offline_members = sorted(set(members) - set(online_members))
    dynamodb = stack.client("dynamodb")
    for handle in offline_members:  # the others as their confirmed sign-up leaves them
        register(dynamodb, handle, f"sub-{handle}")
    register(dynamodb, "one_more4", "sub-one_more4")
    for handle in online_members:
        person(stack, handle)
    too_many = stack.http.post(
        "/api/conversations",
        json={"members": [*members, "one_more4"]},
        headers=auth(stack, "owner4"),
    )
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "too_many_members"
    cid = conversation(stack, "owner4", members, name="everyone", sign_up=False)
    listed = stack.http.get("/api/conversations", headers=auth(stack, "m4_0500")).json()["items"]
    assert len(listed[0]["members"]) == 1000
    assert {m["handle"] for m in listed[0]["members"]} == {"owner4", *members}

    online = [clients(member) for member in online_members]
    vanished = "vanishedConn="
    _plant_connection(stack, f"sub-{members[1]}", vanished)
    sender = clients("owner4")

    sender.send(action="sendMessage", conversationId=cid, content="all hands")

    assert sender.next("ack")["seq"] == 1
    for client in online:
        assert (
            # Through the delivery queue, behind the group's creation frames to its 1000
            # members: on a loaded machine that takes longer than one frame's usual wait.
            client.next("message", lambda f: f["conversationId"] == cid, timeout=60)["content"]
            == "all hands"
        )
    eventually(
        lambda: not _has_connection(stack, f"sub-{members[1]}", vanished),
        what="gone connection removed",
    )


def test_flow_5_offline_members_get_one_push_per_conversation_window(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice = clients("alice5")
    cid = conversation(stack, "alice5", ["bob5", "carol5"], name="pushy")
    carol = clients("carol5")
    for text in ("a", "b", "c"):
        alice.send(action="sendMessage", conversationId=cid, content=text)
        alice.next("ack")
    carol.next("message", lambda f: f["content"] == "c")

    pushes = _pushes(stack, cid)

    assert len(pushes) == 1, pushes
    assert pushes[0]["recipients"] == [sub(stack, "bob5")] and pushes[0]["preview"] == "a"
    assert pushes[0]["senderHandle"] == "alice5"


def test_flow_6_an_attachment_is_uploaded_to_s3_and_referenced_by_a_message(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice, bob = clients("alice6"), clients("bob6")
    cid = conversation(stack, "alice6", ["bob6"])
    url = f"/api/conversations/{cid}/attachments"
    upload = stack.http.post(
        url, json={"contentType": "image/png", "size": 64}, headers=auth(stack, "alice6")
    )
    assert upload.status_code == 201, upload.text
    grant = upload.json()

    too_big = httpx.post(
        grant["uploadUrl"], data=grant["fields"], files={"file": ("a.png", b"x" * 65, "image/png")}
    )
    stored = httpx.post(
        grant["uploadUrl"], data=grant["fields"], files={"file": ("a.png", b"x" * 64, "image/png")}
    )
    assert too_big.status_code == 400 and stored.status_code in (200, 204)

    alice.send(
        action="sendMessage",
        conversationId=cid,
        content="look",
        attachments=[grant["attachmentId"]],
    )
    assert bob.next("message")["attachments"] == [grant["attachmentId"]]

    alice.send(
        action="sendMessage", conversationId=cid, content="x", attachments=["att_" + "0" * 32]
    )
    assert alice.next("error")["code"] == "bad_attachment"
    wrong_type = stack.http.post(
        url, json={"contentType": "text/html", "size": 5}, headers=auth(stack, "alice6")
    )
    huge = stack.http.post(
        url, json={"contentType": "video/mp4", "size": 11 * 2**20}, headers=auth(stack, "alice6")
    )
    stranger = stack.http.post(
        url, json={"contentType": "image/png", "size": 5}, headers=auth(stack, "eve6")
    )
    assert (wrong_type.status_code, huge.status_code, stranger.status_code) == (400, 413, 403)


def test_flow_7_bad_frames_get_error_frames_and_the_connection_stays_open(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice = clients("alice7")
    cid = conversation(stack, "alice7", ["bob7"])
    theirs = conversation(stack, "bob7", ["carol7"])
    bad: list[tuple[str, str]] = [
        ("not json", "malformed_json"),
        (json.dumps({"action": "dance"}), "unknown_action"),
        (json.dumps({"action": "sendMessage", "content": "no conversation"}), "missing_field"),
        (
            json.dumps({"action": "sendMessage", "conversationId": cid, "content": "x" * 4001}),
            "content_too_long",
        ),
        (
            json.dumps({"action": "sendMessage", "conversationId": theirs, "content": "hi"}),
            "not_a_member",
        ),
        (json.dumps({"action": "read", "conversationId": cid, "seq": "one"}), "invalid_field"),
        (json.dumps({"action": "typing", "conversationId": "nope"}), "unknown_conversation"),
    ]
    for text, code in bad:
        alice.send_raw(text)
        error = alice.next("error")
        assert error["code"] == code, (text[:60], error)
        assert set(error) >= {"type", "code", "message"}

    alice.send(action="sendMessage", conversationId=cid, content="still here")
    assert alice.next("ack")["seq"] == 1

    with pytest.raises(InvalidStatus) as refused:
        stack.ws("token=forged.token.value")
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        stack.ws()


def test_concurrent_senders_get_gap_free_seqs_in_the_same_order_for_everyone(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    users = [f"ord_{i}" for i in range(4)]
    cid = conversation(stack, users[0], users[1:], name="race")
    senders = {user: clients(user) for user in users}
    per_sender = 10

    def flood(user: str) -> None:
        for i in range(per_sender):
            senders[user].send(
                action="sendMessage",
                conversationId=cid,
                content=f"{user}:{i}",
                clientMessageId=f"{user}-{i}",
            )

    threads = [threading.Thread(target=flood, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = per_sender * len(users)
    seen: dict[str, dict[int, str]] = {}
    for user, client in senders.items():
        acks = [client.next("ack") for _ in range(per_sender)]
        others = [client.next("message") for _ in range(total - per_sender)]
        view = {f["seq"]: f["messageId"] for f in others}
        view.update({f["seq"]: f["messageId"] for f in acks})
        seen[user] = view
    assert all(sorted(view) == list(range(1, total + 1)) for view in seen.values())
    assert all(view == seen[users[0]] for view in seen.values())
    history = stack.http.get(
        f"/api/conversations/{cid}/messages", params={"limit": 100}, headers=auth(stack, users[0])
    ).json()["items"]
    assert {m["seq"]: m["messageId"] for m in history} == seen[users[0]]


def test_retried_client_message_id_is_stored_and_delivered_once(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice, bob = clients("alice8"), clients("bob8")
    cid = conversation(stack, "alice8", ["bob8"])

    acks = []
    for text, client_id in (("once", "retry-1"), ("once", "retry-1"), ("next", "retry-2")):
        alice.send(
            action="sendMessage", conversationId=cid, content=text, clientMessageId=client_id
        )
        acks.append(alice.next("ack"))

    assert [a["seq"] for a in acks] == [1, 1, 2]
    assert acks[0]["messageId"] == acks[1]["messageId"]
    assert [bob.next("message")["content"] for _ in range(2)] == ["once", "next"]


def test_a_gone_connection_is_removed_and_the_senders_is_kept(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice, bob = clients("alice9"), clients("bob9")
    cid = conversation(stack, "alice9", ["bob9"])
    _plant_connection(stack, bob.id, "goneBob9conn=")

    alice.send(action="sendMessage", conversationId=cid, content="who is there")

    assert bob.next("message")["content"] == "who is there"
    eventually(lambda: not _has_connection(stack, bob.id, "goneBob9conn="), what="gone removed")
    alice.send(action="sendMessage", conversationId=cid, content="still me")
    assert alice.next("ack", lambda f: f["seq"] == 2)
    assert bob.next("message")["content"] == "still me"


def test_a_flooding_connection_is_limited_and_others_are_not(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    flooder, calm = clients("flood10"), clients("calm10")
    cid = conversation(stack, "flood10", ["away10"])
    mine = conversation(stack, "calm10", ["away10"])

    # 120 a minute per connection: however slowly the stack takes them, 250 are too many.
    for _ in range(250):
        flooder.send(action="typing", conversationId=cid)
    error = flooder.next("error", timeout=60)

    assert error["code"] == "rate_limited"
    calm.send(action="sendMessage", conversationId=mine, content="unbothered")
    assert calm.next("ack")["seq"] == 1


def test_messages_flow_while_redis_is_down(
    stack: Stack, clients: Callable[[str], Client], redis_server: RedisServer | None
) -> None:
    if redis_server is None:
        pytest.skip("needs redis-server on PATH to stop one")
    alice, bob = clients("alice11"), clients("bob11")
    cid = conversation(stack, "alice11", ["bob11"])
    redis_server.stop()
    try:
        alice.send(action="sendMessage", conversationId=cid, content="no cache")
        assert alice.next("ack")["seq"] == 1
        assert bob.next("message")["content"] == "no cache"
        bob.send(action="ping")
        assert bob.next("pong") == {"type": "pong"}
        listed = stack.http.get("/api/conversations", headers=auth(stack, "bob11"))
        assert listed.status_code == 200 and listed.json()["items"][0]["unread"] == 1
    finally:
        redis_server.start()


def _plant_connection(stack: Stack, user: str, connection_id: str) -> None:
    """A connection the table knows but the gateway does not (its $disconnect was lost)."""
    table = "ChatConnectionsTable"
    db = stack.client("dynamodb")
    db.put_item(TableName=table, Item={"pk": {"S": f"CONN#{connection_id}"}, "userId": {"S": user}})
    db.update_item(
        TableName=table,
        Key={"pk": {"S": f"USER#{user}"}},
        UpdateExpression="ADD connections :c",
        ExpressionAttributeValues={":c": {"SS": [connection_id]}},
    )


def _has_connection(stack: Stack, user: str, connection_id: str) -> bool:
    item = (
        stack.client("dynamodb")
        .get_item(TableName="ChatConnectionsTable", Key={"pk": {"S": f"USER#{user}"}})
        .get("Item", {})
    )
    return connection_id in item.get("connections", {}).get("SS", [])


def _pushes(stack: Stack, conversation_id: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = stack.queue_url("ChatPushQueue")
    found: list[dict[str, Any]] = []
    for _ in range(5):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            if body["conversationId"] == conversation_id:
                found.append(body)
        if not answer.get("Messages"):
            break
    return found


def test_members_are_named_by_handle_and_a_look_alike_is_the_same_person_or_refused(
    stack: Stack,
) -> None:
    alice, bob = person(stack, "alice12"), person(stack, "bob12")

    def start(members: list[str]) -> httpx.Response:
        body = {"members": members}
        return stack.http.post("/api/conversations", json=body, headers=bearer(alice.token))

    first = start(["BOB12", "bob12", "\uff42\uff4f\uff42\uff11\uff12", "alice12"])
    zero_width = start(["bob12\u200b"])
    spaced = start([" bob12"])
    unknown = start(["bob12", "nobody12"])
    not_a_string = start([["bob12"]])  # type: ignore[list-item]

    assert first.status_code == 201, first.text
    assert first.json()["kind"] == "direct"
    assert sorted((m["handle"], m["userId"]) for m in first.json()["members"]) == [
        ("alice12", alice.id),
        ("bob12", bob.id),
    ]
    for refused in (zero_width, spaced):
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_handle")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "user_not_found")
    assert "nobody12" in unknown.json()["error"]["message"]
    assert not_a_string.status_code == 400


def test_lone_surrogates_in_any_frame_field_get_an_error_frame_and_the_socket_stays_open(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice = clients("alice13")
    cid = conversation(stack, "alice13", ["bob13"])
    # json.dumps writes a lone surrogate as its escape, as a client's JSON encoder may.
    bad: list[dict[str, Any]] = [
        {"action": "sendMessage", "conversationId": cid, "content": "a\ud800b"},
        {
            "action": "sendMessage",
            "conversationId": cid,
            "content": "x",
            "clientMessageId": "\udc00",
        },
        {"action": "sendMessage", "conversationId": "\ud800", "content": "x"},
        {"action": "sendMessage", "conversationId": cid, "content": "x", "attachments": ["\ud800"]},
        {"action": "typing", "conversationId": "g\udbff"},
        {"action": "read", "conversationId": "\ud800", "seq": 1},
        {"action": "\ud800"},
    ]
    for frame in bad:
        alice.send_raw(json.dumps(frame))
        error = alice.next("error")
        assert error["code"] in ("invalid_field", "invalid_text", "unknown_action"), (frame, error)
        assert "\ud800" not in json.dumps(error)

    alice.send(action="sendMessage", conversationId=cid, content="still here", clientMessageId="ok")
    ack = alice.next("ack")
    assert (ack["seq"], ack["clientMessageId"]) == (1, "ok")
    assert not [f for f in alice.backlog if f.get("type") == "error"]


def test_lone_surrogates_in_a_conversations_name_or_members_are_a_400(stack: Stack) -> None:
    person(stack, "bob14")
    bodies = [
        {"members": ["bob14"], "name": "team \ud800"},
        {"members": ["bob14", "\udc00"]},
        {"members": ["\ud800bob14"], "name": "x"},
    ]
    for body in bodies:
        answer = stack.http.post(
            "/api/conversations",
            content=json.dumps(body),
            headers={**auth(stack, "alice14"), "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (body, answer.text)
        assert set(answer.json()["error"]) == {"code", "message"}


def test_a_retried_client_message_id_with_other_content_is_refused(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice, bob = clients("alice15"), clients("bob15")
    cid = conversation(stack, "alice15", ["bob15"])

    alice.send(action="sendMessage", conversationId=cid, content="first", clientMessageId="r1")
    assert alice.next("ack")["seq"] == 1
    alice.send(action="sendMessage", conversationId=cid, content="other", clientMessageId="r1")
    error = alice.next("error")

    assert (error["code"], error["clientMessageId"]) == ("client_message_id_reused", "r1")
    assert bob.next("message")["content"] == "first"
    history = stack.http.get(
        f"/api/conversations/{cid}/messages", headers=auth(stack, "alice15")
    ).json()["items"]
    assert [m["content"] for m in history] == ["first"]


def test_a_burst_from_one_socket_keeps_its_send_order_in_seq_without_busy(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    alice, bob = clients("alice16"), clients("bob16")
    cid = conversation(stack, "alice16", ["bob16"])
    burst = 30

    # Back to back, without waiting for acks: the stack hands them to concurrent
    # invocations (--concurrency), as API Gateway does.
    for n in range(1, burst + 1):
        alice.send(
            action="sendMessage",
            conversationId=cid,
            content=f"m{n}",
            clientMessageId=f"b{n}",
            order=n,
        )
    acks = [alice.next("ack") for _ in range(burst)]
    received = [bob.next("message") for _ in range(burst)]

    by_seq = sorted(acks, key=lambda ack: ack["seq"])
    assert [a["clientMessageId"] for a in by_seq] == [f"b{n}" for n in range(1, burst + 1)]
    assert [a["seq"] for a in by_seq] == list(range(1, burst + 1))
    assert [m["content"] for m in received] == [f"m{n}" for n in range(1, burst + 1)]
    assert not [f for f in alice.backlog if f.get("type") == "error"], alice.backlog


@given(data=st.data())
@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_frame_on_a_real_socket_gets_an_internal_error_or_busy_or_closes_it(
    stack: Stack, fuzzed: Client, data: st.DataObject
) -> None:
    # A WebSocket text frame is UTF-8: a lone surrogate travels as its JSON escape only.
    body = data.draw(frames(fuzzed.conversation).filter(encodable), label="frame")

    fuzzed.send_raw(body)
    fuzzed.send(action="ping")
    fuzzed.next("pong")  # the socket is open and answering

    for frame in fuzzed.backlog:
        # API Gateway's own {"message": "Internal server error", ...} has no type.
        assert "type" in frame, (body, frame)
        assert frame.get("code") not in ("internal_error", "busy"), (body, frame)


@pytest.fixture(scope="module")
def fuzzed(stack: Stack) -> Iterator[Client]:
    """One socket every example of the frame fuzzing speaks on (a conversation of its
    own, with a member to receive)."""
    client = Client(stack, "alice17")
    client.conversation = conversation(stack, "alice17", ["bob17"])
    yield client
    client.send(action="sendMessage", conversationId=client.conversation, content="after all")
    client.next("ack")
    client.close()


def test_a_group_is_managed_by_its_admins_and_its_members_hear_every_change(
    stack: Stack, clients: Callable[[str], Client]
) -> None:
    for handle in ("bob18", "carol18", "dave18"):
        person(stack, handle)
    bob, carol = clients("bob18"), clients("carol18")
    made = stack.http.post(
        "/api/conversations",
        json={"members": ["bob18"], "name": "plans"},
        headers=auth(stack, "alice18"),
    )
    cid = made.json()["conversationId"]
    url = f"/api/conversations/{cid}"

    created = bob.next("conversation")
    assert (created["event"], created["conversationId"], created["name"]) == (
        "created",
        cid,
        "plans",
    )
    detail = stack.http.get(url, headers=auth(stack, "bob18")).json()
    assert {(m["handle"], m["role"]) for m in detail["members"]} == {
        ("alice18", "admin"),
        ("bob18", "member"),
    }
    assert stack.http.get(url, headers=auth(stack, "carol18")).status_code == 403

    refused = stack.http.patch(url, json={"name": "mine"}, headers=auth(stack, "bob18"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_an_admin")
    renamed = stack.http.patch(url, json={"name": "trip"}, headers=auth(stack, "alice18"))
    assert renamed.status_code == 200 and renamed.json()["name"] == "trip"
    assert bob.next("conversation", lambda f: f["event"] == "renamed")["name"] == "trip"

    added = stack.http.post(
        f"{url}/members", json={"members": ["carol18"]}, headers=auth(stack, "alice18")
    )
    assert added.status_code == 200, added.text
    for client in (bob, carol):
        frame = client.next("membership", lambda f: f["event"] == "added")
        assert [m["handle"] for m in frame["members"]] == ["carol18"]
    carol.send(action="sendMessage", conversationId=cid, content="hello all")
    assert carol.next("ack")["seq"] == 1
    assert bob.next("message")["content"] == "hello all"

    removed = stack.http.delete(f"{url}/members/bob18", headers=auth(stack, "alice18"))
    assert removed.status_code == 204, removed.text
    assert bob.next("membership", lambda f: f["event"] == "removed")["members"][0]["handle"] == (
        "bob18"
    )
    bob.send(action="sendMessage", conversationId=cid, content="still in?")
    assert bob.next("error")["code"] == "not_a_member"
    assert stack.http.get(url, headers=auth(stack, "bob18")).status_code == 403

    stack.http.post(f"{url}/members", json={"members": ["dave18"]}, headers=auth(stack, "alice18"))
    promoted = stack.http.patch(
        f"{url}/members/dave18", json={"role": "admin"}, headers=auth(stack, "alice18")
    )
    assert promoted.status_code == 200, promoted.text
    left = stack.http.delete(f"{url}/members/carol18", headers=auth(stack, "carol18"))
    assert left.status_code == 204
    final = stack.http.get(url, headers=auth(stack, "dave18")).json()
    assert {(m["handle"], m["role"]) for m in final["members"]} == {
        ("alice18", "admin"),
        ("dave18", "admin"),
    }

    direct = conversation(stack, "alice18", ["bob18"])
    leave_direct = stack.http.delete(
        f"/api/conversations/{direct}/members/alice18", headers=auth(stack, "alice18")
    )
    assert (leave_direct.status_code, leave_direct.json()["error"]["code"]) == (
        400,
        "direct_conversation",
    )
