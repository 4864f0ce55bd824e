"""Part 6: the chat through `relay run` on template.yaml, and its calls per message.

- **1:1 latency.** alice and bob on WebSockets; alice sends, one message at a time,
  and the time from her `send` to bob's socket having the frame is taken (after a
  warm-up). Her ack is read after each, so messages never overlap.
- **A 1000-member group, 100 online.** Each online member's client runs on its own
  thread and stamps the moment the message arrives; the figure is send to the last
  arrival. Three variants, alternated: clean; with one stalled member (a raw socket
  that completed the upgrade and never reads); with one vanished member (a
  connection id the table holds but the gateway does not: GoneException, then its
  removal). Above 100 members delivery goes through the delivery queue in chunks,
  so this includes SQS and ChatDelivery.
- **Calls per message.** In-process, moto and a real Redis: the DynamoDB operations
  (botocore's `before-call` event) and Redis commands (INFO commandstats) made by
  one `sendMessage` and its delivery, for 1:1 and groups of 10, 100 and 1000 with a
  tenth online.

It runs its own redis-server on a free port (flushed freely) and raises the chat's
rate limits through `--parameter-overrides`.
"""

from __future__ import annotations

import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, PartResult, Row, bench_env, free_port, median, percentile
from bench.stack import Running

RAISED = [
    "ChatConnectionLimitPerMinute=100000000",
    "ChatUserLimitPerMinute=100000000",
    "ReadLimitPerMinute=1000000",
]
WARM = 50
MESSAGES = 1000
GROUP = 1000
ONLINE = 100
GROUP_ROUNDS = 5
BURST = 200


class _Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"),
                *("--dir", str(workdir)),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)  # waiting on another process

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


_TOKENS: dict[tuple[Path, str], str] = {}


def _token(stack: Running, user: str) -> str:
    """`user` signed in on the stack's user pool as `relay token` signs people in (made
    on first use, its confirmed sign-up registering the handle), once per stack."""
    from relay_local.accounts import Target, find_target, make_token

    key = (stack.state, user)
    if key not in _TOKENS:
        target = find_target(ROOT / "template.yaml", stack.state)
        if not isinstance(target, Target):
            raise RuntimeError(target)
        _TOKENS[key] = make_token(target, user, None, False, 3600)[0]
    return _TOKENS[key]


def _ws_url(stack: Running, user: str) -> str:
    port = next(iter(stack.info["ws_ports"].values()))
    return f"ws://127.0.0.1:{port}/?token={_token(stack, user)}"


def _http(stack: Running) -> Any:
    import httpx

    return httpx.Client(base_url=f"http://127.0.0.1:{stack.info['http_port']}", timeout=60)


def _create(stack: Running, owner: str, members: list[str], name: str | None = None) -> str:
    body: dict[str, Any] = {"members": members}
    if name:
        body["name"] = name
    with _http(stack) as http:
        answer = http.post(
            "/api/conversations",
            json=body,
            headers={"Authorization": f"Bearer {_token(stack, owner)}"},
        )
    answer.raise_for_status()
    return str(answer.json()["conversationId"])


def _one_to_one(stack: Running, ordered: bool = False) -> tuple[list[float], list[float]]:
    from websockets.sync.client import connect

    _token(stack, "bob")  # signed up before alice names him
    cid = _create(stack, "alice", ["bob"])
    deliveries: list[float] = []
    acks: list[float] = []
    with connect(_ws_url(stack, "alice")) as alice, connect(_ws_url(stack, "bob")) as bob:
        for i in range(WARM + MESSAGES):
            frame: dict[str, Any] = {
                "action": "sendMessage",
                "conversationId": cid,
                "content": f"m{i}",
            }
            if ordered:
                frame["order"] = i + 1
            start = time.perf_counter()
            alice.send(json.dumps(frame))
            while json.loads(bob.recv(timeout=10))["type"] != "message":
                pass
            delivered = time.perf_counter()
            while json.loads(alice.recv(timeout=10))["type"] != "ack":
                pass
            acked = time.perf_counter()
            if i >= WARM:
                deliveries.append(delivered - start)
                acks.append(acked - start)
    return deliveries, acks


def _burst(stack: Running, ordered: bool) -> tuple[float, int, int]:
    """BURST frames from one socket back to back, without waiting: the time to the last
    ack, how many came back out of send order, and how many were refused."""
    from websockets.sync.client import connect

    _token(stack, "dave")
    cid = _create(stack, "carol", ["dave"])
    with connect(_ws_url(stack, "carol")) as carol:
        start = time.perf_counter()
        for n in range(1, BURST + 1):
            frame: dict[str, Any] = {
                "action": "sendMessage",
                "conversationId": cid,
                "content": f"b{n}",
                # Each run its own ids: the runs share the conversation.
                "clientMessageId": f"{'o' if ordered else 'u'}{n}",
            }
            if ordered:
                frame["order"] = n
            carol.send(json.dumps(frame))
        seqs: dict[int, int] = {}
        refused = 0
        while len(seqs) + refused < BURST:
            answer = json.loads(carol.recv(timeout=30))
            if answer.get("type") == "ack":
                seqs[int(answer["clientMessageId"][1:])] = answer["seq"]
            elif answer.get("type") == "error" or "type" not in answer:
                # Relay's error frame, or API Gateway's own ({"message": ...}).
                refused += 1
                print(f"  burst: refused: {json.dumps(answer)[:200]}", flush=True)
        elapsed = time.perf_counter() - start
    in_order = [seqs[n] for n in sorted(seqs)]
    inversions = sum(1 for a, b in itertools.pairwise(in_order) if b < a)
    return elapsed, inversions, refused


class _Member(threading.Thread):
    """An online member: stamps when each message frame arrives."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        from websockets.sync.client import connect

        self.ws = connect(url, open_timeout=30)
        self.arrivals: list[tuple[str, float]] = []
        self.start()

    def run(self) -> None:
        try:
            for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    self.arrivals.append((frame["content"], time.perf_counter()))
        except Exception:  # noqa: BLE001, S110 - the socket closes at the end of the bench
            pass


def _stalled(stack: Running, user: str) -> socket.socket:
    """A client that completes the upgrade and then never reads."""
    port = next(iter(stack.info["ws_ports"].values()))
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = (
        f"GET /?token={_token(stack, user)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    raw.sendall(request.encode())
    answer = raw.recv(1024)
    if b" 101 " not in answer:
        raise RuntimeError(f"stalled client not upgraded: {answer[:80]!r}")
    return raw


def _plant(stack: Running, user: str, connection_id: str) -> None:
    import boto3

    db = boto3.client(
        "dynamodb",
        endpoint_url=stack.info["moto_url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's
    )
    db.put_item(
        TableName="ChatConnectionsTable",
        Item={"pk": {"S": f"CONN#{connection_id}"}, "userId": {"S": user}},
    )
    db.update_item(
        TableName="ChatConnectionsTable",
        Key={"pk": {"S": f"USER#{user}"}},
        UpdateExpression="ADD connections :c",
        ExpressionAttributeValues={":c": {"SS": [connection_id]}},
    )


def _sign_up(stack: Running, handles: list[str]) -> None:
    """The people a conversation names who never connect, as their confirmed sign-up
    leaves them in the stack's users table (sub = handle): signing 900 people in through
    the user pool would be most of the bench's time."""
    import boto3

    from relay.accounts.users_table import TAKEN, handle_key, user_key

    db = boto3.client(
        "dynamodb",
        endpoint_url=stack.info["moto_url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's
    )
    for handle in handles:
        db.put_item(
            TableName="UsersTable",
            Item={**handle_key(handle), "sub": {"S": handle}, "state": {"S": TAKEN}},
        )
        db.put_item(TableName="UsersTable", Item={**user_key(handle), "handle": {"S": handle}})


def _group(stack: Running) -> dict[str, list[float]]:
    from websockets.sync.client import connect

    members = [f"member_{i:04d}" for i in range(GROUP - 1)]
    # Those who connect sign in (the stalled one too); the vanished one and the rest
    # only exist.
    for handle in ["owner", *members[: ONLINE + 1]]:
        _token(stack, handle)
    _sign_up(stack, members[ONLINE + 1 :])
    cid = _create(stack, "owner", members, name="everyone")
    online = [_Member(_ws_url(stack, member)) for member in members[:ONLINE]]
    times: dict[str, list[float]] = {"clean": [], "stalled": [], "vanished": []}
    stalled: socket.socket | None = None
    with connect(_ws_url(stack, "owner")) as owner:
        for round_no in range(GROUP_ROUNDS + 1):
            for variant in ("clean", "stalled", "vanished"):
                if variant == "stalled" and stalled is None:
                    stalled = _stalled(stack, members[ONLINE])
                if variant == "vanished":
                    _plant(stack, members[ONLINE + 1], f"vanished{round_no}=")
                text = f"{variant}-{round_no}"
                start = time.perf_counter()
                owner.send(
                    json.dumps({"action": "sendMessage", "conversationId": cid, "content": text})
                )
                deadline = time.monotonic() + 60
                while not all(any(c == text for c, _ in m.arrivals) for m in online):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"group message {text} not delivered to all")
                    time.sleep(0.001)  # polling the members' threads
                last = max(t for m in online for c, t in m.arrivals if c == text)
                if round_no > 0:  # round 0 warms the delivery function
                    times[variant].append(last - start)
    for member in online:
        member.ws.close()
    if stalled is not None:
        stalled.close()
    return times


def _calls_per_message() -> list[str]:
    """DynamoDB and Redis calls of one sendMessage and its delivery, in-process."""
    import os

    import boto3
    import redis
    from moto import mock_aws

    from relay.accounts.users_table import UsersTable
    from relay.chat.connections_table import ChatConnectionsTable
    from relay.chat.conversations import Conversations
    from relay.chat.conversations_table import ConversationsTable
    from relay.chat.delivery import QueueSender, Session
    from relay.chat.frames import Protocol
    from relay.chat.messages_table import MessagesTable
    from relay.chat.messaging import Messaging
    from relay.chat.models import Connection
    from relay.chat.notifications import Notifier
    from relay.chat.ordering import Sequencer
    from relay.chat.people import People
    from relay.chat.presence import Presence
    from relay.chat.turns import Turns
    from relay.platform.cache import RedisGate
    from relay.platform.clock import SystemClock
    from relay.platform.ratelimit import RateLimiter
    from relay_local.state.provision import create_with_clients
    from relay_local.template.build import build_model

    class Quiet:
        def post(self, connection_id: str, data: bytes) -> bool:
            return True

    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    rows = [
        "| message to | online | DynamoDB calls | Redis commands (round trips) | SQS sends | SNS |",
        "|---|---|---|---|---|---|",
    ]
    with mock_aws():
        db, sqs, sns = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("sns")
        urls = create_with_clients(
            build_model(ROOT / "template.yaml", moto_url="http://127.0.0.1:1"), db, sqs
        )
        topic = sns.create_topic(Name="push")["TopicArn"]
        drain = boto3.client("sqs")  # the bench's own calls, not counted
        counts: dict[str, int] = {}

        def counted(event_name: str, **_: Any) -> None:
            service = event_name.split(".")[1]
            counts[service] = counts.get(service, 0) + 1

        for client in (db, sqs, sns):
            client.meta.events.register("before-call", counted)
        clock = SystemClock()
        gate = RedisGate(clock)
        table = ConversationsTable(db, "ConversationsTable")
        messages = MessagesTable(db, "MessagesTable")
        conversations = Conversations(table, messages, None, clock)
        messaging = Messaging(
            conversations,
            Sequencer(db, table, messages),
            ChatConnectionsTable(db, "ChatConnectionsTable"),
            Presence(r, gate, clock),
            Notifier(sns, topic, r, gate, clock),
            None,
            clock,
            QueueSender(sqs, urls["ChatDeliveryQueue"]),
            People(UsersTable(db, "UsersTable")),
        )
        protocol = Protocol(messaging, RateLimiter(r, clock), gate, Turns(r, gate, slice_s=0.1))
        trips: list[int] = []
        original = redis.connection.Connection.send_packed_command

        def counting_send(self: Any, command: Any, check_health: bool = True) -> None:
            trips.append(1)
            original(self, command, check_health)

        redis.connection.Connection.send_packed_command = counting_send  # type: ignore[method-assign]
        for size, ordered in ((2, False), (2, True), (10, False), (100, False), (1000, False)):
            members = [f"s{size}{ordered:d}-{i}" for i in range(size - 1)]
            cid = conversations.create(
                "sender", members, None if size == 2 else "g"
            ).view.conversation.conversation_id
            online = members[: max(1, size // 10)]
            for member in online:
                messaging.connect(Session(Connection(f"{member}-c", member), "x", Quiet()))
            sender = Session(Connection(f"sender-c{size}{ordered:d}", "sender"), "x", Quiet())
            frame: dict[str, Any] = {"action": "sendMessage", "conversationId": cid}
            # With `order`, the counted message is its connection's second: its turn comes
            # at once (the first's is done), as in a conversation under way.
            protocol.handle(
                sender,
                "sendMessage",
                json.dumps({**frame, "content": "warm", "order": 1})
                if ordered
                else json.dumps({**frame, "content": "warm"}),
            )
            _drain(drain, urls["ChatDeliveryQueue"], messaging)
            # The counted message is the first of a push window (later ones publish nothing).
            stale_windows = r.keys("chat:push:*")
            if stale_windows:
                r.delete(*stale_windows)
            counts.clear()
            r.config_resetstat()
            trips.clear()
            protocol.handle(
                sender,
                "sendMessage",
                json.dumps({**frame, "content": "counted", **({"order": 2} if ordered else {})}),
            )
            _drain(drain, urls["ChatDeliveryQueue"], messaging)
            sent_trips = len(trips)
            stats = r.info("commandstats")
            commands = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_config")
            to = ("1:1" if size == 2 else f"group of {size}") + (
                ", with `order`" if ordered else ""
            )
            rows.append(
                f"| {to} | {len(online)} | {counts.get('dynamodb', 0)} | {commands} ({sent_trips})"
                f" | {counts.get('sqs', 0)} | {counts.get('sns', 0)} |"
            )
    redis.connection.Connection.send_packed_command = original  # type: ignore[method-assign]
    return rows


def _drain(sqs: Any, url: str, messaging: Any) -> None:
    from relay.chat.delivery import DeliveryJob

    class Quiet:
        def post(self, connection_id: str, data: bytes) -> bool:
            return True

    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        batch = answer.get("Messages", [])
        if not batch:
            return
        for message in batch:
            messaging.deliver(DeliveryJob.read(message["Body"]), Quiet())
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def run() -> PartResult:
    import os

    if shutil.which("redis-server") is None:
        raise RuntimeError("the chat bench runs its own redis-server: put it on PATH")
    result = PartResult("chat")
    with tempfile.TemporaryDirectory(prefix="relay-bench-chat-") as tmp:
        server = _Redis(Path(tmp))
        try:
            env = bench_env(REDIS_URL=server.url)
            os.environ["REDIS_URL"] = server.url
            stack = Running(ROOT, Path(tmp) / "state", "--parameter-overrides", *RAISED, env=env)
            try:
                deliveries, acks = _one_to_one(stack)
                ordered_deliveries, _ = _one_to_one(stack, ordered=True)
                bursts = {ordered: _burst(stack, ordered) for ordered in (False, True)}
                group = _group(stack)
            finally:
                stack.stop()
            calls = _calls_per_message()
        finally:
            server.stop()
    p50, p99 = percentile(deliveries, 50), percentile(deliveries, 99)
    result.rows += [
        Row(
            "chat",
            "1:1 send to the other's socket, p50",
            f"{p50 * 1000:.1f} ms",
            note=f"{MESSAGES} messages, sequential",
        ),
        Row(
            "chat",
            "1:1 send to the other's socket, p99",
            f"{p99 * 1000:.1f} ms",
            target="< 50 ms",
            verdict="PASS" if p99 < 0.050 else "MISS",
        ),
        Row(
            "chat",
            "1:1 send to ack, p50 / p99",
            f"{percentile(acks, 50) * 1000:.1f} / {percentile(acks, 99) * 1000:.1f} ms",
        ),
    ]
    ordered_p99 = percentile(ordered_deliveries, 99)
    result.rows.append(
        Row(
            "chat",
            "1:1 send to the other's socket with `order`, p50 / p99",
            f"{percentile(ordered_deliveries, 50) * 1000:.1f} / {ordered_p99 * 1000:.1f} ms",
            floor=f"{p99 * 1000:.1f} ms p99 without",
            ratio=ordered_p99 / p99,
            note="the turn's BLPOP and RPUSH: two Redis round trips a message",
        )
    )
    for ordered, (elapsed, inversions, refused) in bursts.items():
        result.rows.append(
            Row(
                "chat",
                f"{BURST}-frame burst from one socket, {'with' if ordered else 'without'} `order`",
                f"{elapsed * 1000:.0f} ms to the last ack",
                note=f"{inversions} out of send order, {refused} refused",
            )
        )
    clean = median(group["clean"])
    for variant in ("stalled", "vanished"):
        slower = median(group[variant]) / clean
        result.rows.append(
            Row(
                "chat",
                f"{GROUP}-member group, {ONLINE} online, one {variant} member",
                f"{median(group[variant]) * 1000:.0f} ms",
                floor=f"{clean * 1000:.0f} ms without",
                ratio=slower,
                target="adds < 20 %",
                verdict="PASS" if slower < 1.2 else "MISS",
                note=f"median of {GROUP_ROUNDS}, send to the last of {ONLINE} arrivals",
            )
        )
    result.details += [
        "Calls made by one `sendMessage` and its delivery, from a warm process (a tenth of "
        "members online; the rest are due a push, the message being the first of its "
        "one-minute window; later messages in the window publish nothing):",
        "",
        *calls,
        "",
        "Raw group timings (s): "
        + json.dumps({k: [round(v, 4) for v in vs] for k, vs in group.items()}),
    ]
    return result
