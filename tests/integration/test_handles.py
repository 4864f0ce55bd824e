"""Handles in the feed's and the chat's paths and bodies, through the functions the
template deploys (in process, moto and the real Redis): storage keys on the stable sub,
so a handle can change, an account can go, and look-alikes stay one person or none.

People are made in the users table as a confirmed sign-up leaves them
(tests.support.people): sub "alice-sub" holds the handle "alice", so a test can tell a
sub from a handle in what comes back.
"""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import ANY

import pytest

from tests.support import people
from tests.support.lambdas import call, http_event

SUBS = {"alice": "alice-sub", "bob": "bob-sub", "carol": "carol-sub"}


@pytest.fixture
def folks(aws: Any) -> dict[str, str]:
    for handle, sub in SUBS.items():
        people.register(aws.dynamodb, handle, sub, created_ms=1_795_000_000_000)
    return SUBS


def feed(method: str, route: str, path: str, *, user: str | None, body: Any = None) -> Any:
    params = {"handle": path.split("/")[3]} if "{handle}" in route else None
    event = http_event(f"{method} {route}", path, body=body, user=user, path_parameters=params)
    answer = call("Feed", event)
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None


def chat(method: str, route: str, path: str, *, user: str, body: Any = None) -> Any:
    params = {"conversation_id": path.split("/")[3]} if "{conversation_id}" in route else None
    event = http_event(f"{method} {route}", path, body=body, user=user, path_parameters=params)
    answer = call("Conversations", event)
    return answer["statusCode"], json.loads(answer["body"])


class Recording:
    """A WebSocket gateway that keeps what each connection was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}

    def post(self, connection_id: str, data: bytes) -> bool:
        self.sent.setdefault(connection_id, []).append(json.loads(data))
        return True


def send(cid: str, sender: str, text: str, gateway: Any = None) -> None:
    """`sender` (a sub) sends a message over the WebSocket, as ChatMessage runs it."""
    from relay.chat.delivery import Session
    from relay.chat.models import Connection
    from relay.chat.service import messaging

    session = Session(Connection(f"{sender}-conn", sender), "https://ws", gateway or Recording())
    messaging().send(session, cid, text, None, [])


def history(cid: str, user: str) -> list[tuple[str, str | None]]:
    path = f"/api/conversations/{cid}/messages"
    status, page = chat("GET", "/api/conversations/{conversation_id}/messages", path, user=user)
    assert status == 200, page
    return [(m["senderId"], m["senderHandle"]) for m in page["items"]]


def start(user: str, members: Any, name: str | None = None) -> Any:
    body = {"members": members} | ({"name": name} if name else {})
    return chat("POST", "/api/conversations", "/api/conversations", user=user, body=body)


def follow(user: str, handle: str, method: str = "POST") -> Any:
    path = f"/api/users/{handle}/follow"
    return feed(method, "/api/users/{handle}/follow", path, user=user)


def profile(handle: str, user: str | None) -> Any:
    return feed("GET", "/api/users/{handle}", f"/api/users/{handle}", user=user)


def post(user: str, content: str) -> str:
    status, made = feed("POST", "/api/posts", "/api/posts", user=user, body={"content": content})
    assert status == 201, made
    return str(made["postId"])


def read_feed(user: str) -> list[dict[str, Any]]:
    status, page = feed("GET", "/api/feed", "/api/feed", user=user)
    assert status == 200, page
    return list(page["items"])


def users_table_reads() -> list[dict[str, Any]]:
    """The requests the functions' DynamoDB client makes to the users table from now on."""
    from relay.platform.dynamo import dynamodb_client

    calls: list[dict[str, Any]] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        if "UsersTable" in json.dumps(params.get("RequestItems") or params.get("TableName")):
            calls.append(params)

    for operation in ("BatchGetItem", "GetItem"):
        dynamodb_client().meta.events.register(f"provide-client-params.dynamodb.{operation}", seen)
    return calls


# ---------------------------------------------------------------- the profile
def test_a_profile_is_accounts_profile_with_the_feeds_counts_and_anyone_may_read_it(folks):
    assert follow(folks["bob"], "alice")[0] == 200
    post(folks["alice"], "hello")

    status, shown = profile("alice", user=folks["bob"])
    anonymous = profile("alice", user=None)

    assert status == 200
    assert shown == {
        "userId": "alice-sub",
        "handle": "alice",
        "displayName": "",
        "bio": "",
        "avatarUrl": None,
        "createdAt": "2026-11-18T11:06:40.000Z",
        "followers": 1,
        "following": 0,
        "posts": 1,
        "followedByMe": True,
    }
    assert anonymous == (200, {**shown, "followedByMe": False})


def test_an_anonymous_reader_sees_a_persons_posts_with_handles_and_nothing_liked(folks):
    first = post(folks["alice"], "one")

    status, page = feed("GET", "/api/users/{handle}/posts", "/api/users/ALICE/posts", user=None)

    assert status == 200, page
    assert [
        (p["postId"], p["authorId"], p["authorHandle"], p["likedByMe"]) for p in page["items"]
    ] == [(first, "alice-sub", "alice", False)]


def test_following_needs_sign_in_and_yourself_in_any_spelling_is_refused(folks):
    assert follow(None, "bob")[0] == 401  # type: ignore[arg-type]
    for spelling in ("alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45"):
        status, error = follow(folks["alice"], spelling)
        assert (status, error["error"]["code"]) == (400, "cannot_follow_self"), spelling


@pytest.mark.parametrize(
    ("handle", "status", "code"),
    [
        ("nobody", 404, "user_not_found"),
        ("bob\u200b", 400, "invalid_handle"),
        ("bob%E2%80%8B", 400, "invalid_handle"),
        ("%20bob", 400, "invalid_handle"),
        ("\u202eevil", 400, "invalid_handle"),
        ("\ud800bob", 400, "invalid_handle"),  # a lone surrogate
        ("\U0001f600\U0001f600\U0001f600", 400, "invalid_handle"),
        ("a#b", 400, "invalid_handle"),
        ("ab", 400, "invalid_handle"),
        ("x" * 31, 400, "invalid_handle"),
        ("x" * 5_000, 400, "invalid_handle"),
        ("admin", 400, "handle_reserved"),
    ],
)
def test_a_path_handle_nobody_has_or_that_breaks_the_rule_is_a_clear_error(
    folks, handle, status, code
):
    for answer in (
        profile(handle, user=folks["alice"]),
        profile(handle, user=None),
        feed("GET", "/api/users/{handle}/posts", f"/api/users/{handle}/posts", user=None),
        follow(folks["alice"], handle),
        follow(folks["alice"], handle, "DELETE"),
    ):
        assert answer == (status, {"error": {"code": code, "message": ANY}})


def test_a_percent_encoded_handle_is_the_handle_it_encodes(folks):
    assert profile("%62%6Fb", user=None)[1]["userId"] == "bob-sub"


# ---------------------------------------------------------------- handles shown
def test_a_feed_page_shows_each_authors_handle_from_one_lookup(folks, aws):
    for author in ("alice", "carol"):
        follow(folks["bob"], author)
        for n in range(3):
            post(folks[author], f"{author} {n}")
    calls = users_table_reads()

    items = read_feed(folks["bob"])

    assert {(i["authorId"], i["authorHandle"]) for i in items} == {
        ("alice-sub", "alice"),
        ("carol-sub", "carol"),
    }
    assert len(items) == 6 and len(calls) == 1
    assert len(calls[0]["RequestItems"]["UsersTable"]["Keys"]) == 2


def test_a_changed_handle_keeps_follows_posts_and_conversations_and_shows_at_once(folks, aws):
    follow(folks["bob"], "alice")
    post_id = post(folks["alice"], "before the change")
    status, made = start(folks["bob"], ["alice"])
    assert status == 201
    status, comment = feed(
        "POST",
        "/api/posts/{postId}/comments",
        f"/api/posts/{post_id}/comments",
        user=folks["bob"],
        body={"content": "nice"},
    )
    assert status == 201 and comment["authorHandle"] == "bob"

    people.rename(aws.dynamodb, "alice", "alicia")
    people.rename(aws.dynamodb, "bob", "robert")

    assert profile("alice", user=None)[0] == 404
    status, shown = profile("alicia", user=folks["bob"])
    assert status == 200
    assert (shown["userId"], shown["handle"], shown["followers"], shown["posts"]) == (
        "alice-sub",
        "alicia",
        1,
        1,
    )
    assert shown["followedByMe"] is True
    assert [(i["postId"], i["authorHandle"]) for i in read_feed(folks["bob"])] == [
        (post_id, "alicia")
    ]
    status, comments = feed(
        "GET", "/api/posts/{postId}/comments", f"/api/posts/{post_id}/comments", user="alice-sub"
    )
    assert [c["authorHandle"] for c in comments["items"]] == ["robert"]
    again = start(folks["alice"], ["robert"])
    assert again[0] == 200 and again[1]["conversationId"] == made["conversationId"]
    assert sorted(m["handle"] for m in again[1]["members"]) == ["alicia", "robert"]
    assert follow(folks["bob"], "alicia", "DELETE")[1]["followedByMe"] is False
    assert start(folks["bob"], ["alice"])[0] == 404  # the old handle names nobody now


def test_a_deleted_account_shows_a_null_handle_in_the_feed_and_conversations(folks, aws):
    follow(folks["bob"], "carol")
    post_id = post(folks["carol"], "soon gone")
    status, group = start(folks["alice"], ["bob", "carol"], "three")
    assert status == 201
    send(group["conversationId"], "carol-sub", "bye")

    people.delete(aws.dynamodb, "carol")

    assert [(i["postId"], i["authorId"], i["authorHandle"]) for i in read_feed(folks["bob"])] == [
        (post_id, "carol-sub", None)
    ]
    assert profile("carol", user=folks["bob"])[0] == 404
    assert follow(folks["bob"], "carol", "DELETE")[0] == 404
    status, listed = chat("GET", "/api/conversations", "/api/conversations", user=folks["bob"])
    assert status == 200
    assert {m["userId"]: m["handle"] for m in listed["items"][0]["members"]} == {
        "alice-sub": "alice",
        "bob-sub": "bob",
        "carol-sub": None,
    }
    assert history(group["conversationId"], folks["bob"]) == [("carol-sub", None)]
    assert start(folks["alice"], ["carol"])[1]["error"]["code"] == "user_not_found"


# ---------------------------------------------------------------- members in bodies
def test_members_are_handles_and_a_look_alike_is_the_same_member_or_refused(folks):
    status, made = start(folks["alice"], ["BOB", "bob", "\uff42\uff4f\uff42", "alice"])

    assert status == 201, made
    assert made["kind"] == "direct"
    assert made["members"] == [
        {"userId": "alice-sub", "handle": "alice", "role": "member"},
        {"userId": "bob-sub", "handle": "bob", "role": "member"},
    ]
    for look_alike in ("bob\u200b", " bob", "bob ", "\u202ebob", "b\u0338ob"):
        status, error = start(folks["alice"], [look_alike])
        assert (status, error["error"]["code"]) == (400, "invalid_handle"), look_alike


def test_an_unknown_member_is_a_404_naming_them_and_nothing_is_created(folks):
    status, error = start(folks["alice"], ["bob", "nobody", "carol"], "party")

    assert (status, error["error"]["code"]) == (404, "user_not_found")
    assert "nobody" in error["error"]["message"]
    assert (
        chat("GET", "/api/conversations", "/api/conversations", user=folks["bob"])[1]["items"] == []
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"members": ["\\ud800"]}', "invalid_handle"),
        ('{"members": ["bob\\udc00"]}', "invalid_handle"),
        ('{"members": ["bob", "\\udbff\\udbff\\udbff"]}', "invalid_handle"),
        ('{"members": [' + "[" * 5_000 + "]" * 5_000 + "]}", ANY),
        ('{"members": "bob"}', ANY),
        ('{"members": [42]}', ANY),
        ('{"members": [null]}', ANY),
        ('{"members": []}', ANY),
        ('{"members": ["' + "b" * 10_000 + '"]}', "invalid_handle"),
        ('{"members": ["alice"]}', ANY),  # nobody besides yourself
    ],
)
def test_a_members_body_relay_cannot_read_is_a_400_not_a_500(folks, body, code):
    event = http_event(
        "POST /api/conversations", "/api/conversations", body=body, user=folks["alice"]
    )

    answer = call("Conversations", event)

    assert answer["statusCode"] == 400, answer
    assert json.loads(answer["body"]) == {"error": {"code": code, "message": ANY}}


def test_more_members_than_a_group_holds_are_refused_before_any_lookup(folks, aws):
    calls = users_table_reads()

    status, error = start(folks["alice"], [f"user_{n}" for n in range(1_001)], "crowd")

    assert (status, error["error"]["code"]) == (400, "too_many_members")
    assert calls == []


def test_history_and_frames_name_each_sender_by_handle_as_it_is_now(folks, aws):
    from relay.chat.delivery import Session
    from relay.chat.models import Connection
    from relay.chat.service import messaging

    cid = start(folks["alice"], ["bob"])[1]["conversationId"]
    send(cid, "alice-sub", "from alice")
    people.rename(aws.dynamodb, "bob", "robert")
    gateway = Recording()
    messaging().connect(Session(Connection("alice-sub-conn", "alice-sub"), "https://ws", gateway))
    send(cid, "bob-sub", "from bob", gateway)

    assert history(cid, folks["alice"]) == [("alice-sub", "alice"), ("bob-sub", "robert")]
    (frame,) = [f for f in gateway.sent["alice-sub-conn"] if f["type"] == "message"]
    assert (frame["senderId"], frame["senderHandle"], frame["content"]) == (
        "bob-sub",
        "robert",
        "from bob",
    )


@pytest.mark.parametrize("bucket", ["relay-avatars", ""])
def test_a_profile_shows_the_avatar_through_a_short_lived_link_when_there_is_one(
    folks, aws, monkeypatch, bucket
):
    from relay.feed import service
    from relay.platform import config

    aws.dynamodb.update_item(
        TableName="UsersTable",
        Key={"id": {"S": "u#bob-sub"}},
        UpdateExpression="SET avatarKey = :key",
        ExpressionAttributeValues={":key": {"S": "avatars/bob-sub/1.png"}},
    )
    monkeypatch.setenv("AVATARS_BUCKET", bucket)
    config.settings.cache_clear()
    service.people.cache_clear()
    try:
        bob = profile("bob", user=None)[1]
        alice = profile("alice", user=None)[1]
    finally:
        monkeypatch.undo()
        config.settings.cache_clear()
        service.people.cache_clear()

    assert alice["avatarUrl"] is None
    if bucket:
        assert bob["avatarUrl"].startswith("https://")
        assert "avatars/bob-sub/1.png" in bob["avatarUrl"] and "Expires=" in bob["avatarUrl"]
    else:
        assert bob["avatarUrl"] is None


def test_a_1000_member_group_is_created_and_listed_by_handle(folks, aws):
    handles = [f"member_{n:03d}" for n in range(999)]
    people.register_many(aws.dynamodb, {handle: f"{handle}-sub" for handle in handles})
    calls = users_table_reads()

    status, made = start(folks["alice"], handles, "everyone")
    listed = chat("GET", "/api/conversations", "/api/conversations", user="member_500-sub")[1]

    assert status == 201, made
    members = {m["userId"]: m["handle"] for m in listed["items"][0]["members"]}
    assert members == {"alice-sub": "alice", **{f"{h}-sub": h for h in handles}}
    assert [m["handle"] for m in made["members"]] == ["alice", *handles]
    # Each read names at most 100 people: resolving 999 handles, then showing 1000
    # members twice (the creation and the list).
    assert len(calls) == 10 + 10 + 10
