"""The HTTP API, fuzzed from its own description: no input a client sends gets a 5xx.

schemathesis reads docs/openapi.json and, per operation, sends the documented
examples, then boundary and malformed values of every parameter and body field (its
coverage phase), then generated requests, valid and invalid. They go through API
Gateway's routing, authorizer and response mapping in process
(tests.support.gateway) to the functions template.yaml deploys, against moto and
the real Redis. Every answer must be no 5xx, a documented status, and match its
documented body, content type and headers, error bodies included.

Who calls and which code a path names are picked from the request itself: alice,
bob, an anonymous caller or a forged token, and now and then a code that exists
(alice's, an anonymous one, a 302, an expired one), so that 200s, 403s and 410s
are fuzzed as well as 404s. Generated strings are now and then swapped for values
that broke this API or its kind before (NASTY), and DynamoDB's key limits are
enforced as AWS enforces them (moto answers a read with an oversized key as a miss).
Runs are derandomized with a fixed number of examples per operation: the same
commit always sends the same requests, in bounded time (about 15 s).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import dynamodb_limits
from tests.support.gateway import Gateway
from tests.support.lambdas import ROOT, access_token, user_pool

EXAMPLES_PER_OPERATION = 80
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CALLERS = ("alice", "anonymous", "bob", "forged")
# Codes that exist (see `links`), or None: keep the generated one.
CODES = ("fuzzA1ice", "fuzzAnon", "fuzz302", "fuzzGone", None, None, None)
# Feed posts that exist (see `links`): alice's, and bob's share of it; or None.
POSTS = ("1795000000000alicealice", "1795000000001bobsharebo", None, None)
# Handles people have (see `people`), a look-alike of one, or None: keep the generated one.
HANDLES = ("alice", "bob", "ALICE", "\uff42\uff4f\uff42", "bob\u200b", None, None, None)

# Strings that broke this API or its kind before, mixed into every generated string.
# (Not lone surrogates: schemathesis' validator cannot carry them; test_functions and
# the feed's own sweep below do.)
NASTY = [
    "x" * 3_000,  # past DynamoDB's key limit
    "[" * 5_000,  # past Python's recursion limit, wherever it is parsed as JSON
    "https://faß.de/",  # IDNA 2003 and UTS #46 disagree
    "https://a\u200db.example/",
    "https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/",
    "https://paypal.com@evil.example/",
    "https://evil.example\\@paypal.com/",
    "https://localhost/Ab3dE9x",  # the API's own host
    "http://[::1",
    "https://example.com:99999/",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30T00:00:00Z",
    "%00",
    "..%2F",
    "\u202e\u0000",
    "Ab3dE9x",
]

config = schemathesis.Config.from_dict(
    {
        "dictionaries": {"nasty": {"values": NASTY}},
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "dictionaries": {"string": {"dictionary": "nasty", "probability": 0.2}},
        },
    }
)
# Accounts' routes need a user pool and are fuzzed with its tokens: test_accounts_fuzz.
schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json", config=config).exclude(
    path_regex=r"^/api/(me|config)"
)
schema.app = Gateway()


@pytest.fixture
def links(aws: Any) -> Iterator[None]:
    """The links the fuzzer's requests may name (written through the store: the expired
    one could not be made through the API)."""
    from relay.shortener.links_table import LinksTable
    from relay.shortener.models import Link

    store = LinksTable(aws.dynamodb, "LinksTable")
    now = 1_795_000_000_000
    for code, owner, redirect_type, expires_ms in (
        ("fuzzA1ice", "alice", 301, None),
        ("fuzzAnon", None, 301, None),
        ("fuzz302", "bob", 302, None),
        ("fuzzGone", "alice", 301, now + 1),
    ):
        link = Link(code, f"https://example.com/{code}", owner, now, expires_ms, redirect_type)
        store.create(link, dedup=False)
    from relay.feed import service
    from relay.feed.models import Post

    feed = service.feed()
    original = Post(POSTS[0], "alice", "fuzzed", [], now)
    feed.publish(original)
    feed.publish(Post(POSTS[1], "bob", "fuzzed", [], now + 1, shared_from=POSTS[0]))
    feed.follow("bob", "alice")
    with dynamodb_limits.enforced():
        yield


@pytest.fixture
def people(aws: Any) -> None:
    """The people the callers are (sub = handle) and the ones conversations name."""
    from tests.support.people import register_all

    register_all(aws.dynamodb, "alice", "bob", "carol", "dave", "mallory")


def _headers(who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if who == "forged":
        return {"Authorization": f"Bearer {_forged()}"}
    return {"Authorization": f"Bearer {access_token(who)}"}


@functools.cache
def _forged() -> str:
    """A token shaped as the pool's, signed with a key that is not the pool's."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.support.accounts import claims, mint

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return mint(claims(*user_pool(), "mallory", lifetime_s=86_400), key=key)


@pytest.fixture
def conversations(aws: Any, people: None) -> list[str]:
    """A 1:1 conversation of alice and bob with a message, and a group bob is not in."""
    from relay.chat.models import Message
    from relay.chat.service import conversations as made
    from relay.chat.service import sequencer

    chat = made()
    direct = chat.create("alice", ["bob"], None).view.conversation
    group = chat.create("alice", ["carol", "dave"], "fuzz").view.conversation
    sequencer().append(
        direct,
        lambda seq: Message(
            direct.conversation_id, "m-fuzz", seq, "alice", "hi", 1_795_000_000_000
        ),
    )
    return [direct.conversation_id, group.conversation_id]


@pytest.mark.xdist_group("fuzz")
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    links: None, conversations: list[str], case: Any
) -> None:
    pick = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    known = CODES[pick % len(CODES)]
    if known is not None and "code" in (case.path_parameters or {}):
        case.path_parameters["code"] = known
    post, handle = POSTS[pick % len(POSTS)], HANDLES[pick % len(HANDLES)]
    if post is not None and "post_id" in (case.path_parameters or {}):
        case.path_parameters["post_id"] = post
    if handle is not None and "handle" in (case.path_parameters or {}):
        case.path_parameters["handle"] = handle
    if handle is not None and isinstance(case.body, dict):
        members = case.body.get("members")
        if isinstance(members, list):  # a list of handles, one of them a known person's
            case.body["members"] = [handle, *members][:3]
    known_conversation = [*conversations, None][pick % (len(conversations) + 1)]
    if known_conversation is not None and "conversation_id" in (case.path_parameters or {}):
        case.path_parameters["conversation_id"] = known_conversation
    case.call_and_validate(headers=_headers(CALLERS[pick % len(CALLERS)]), checks=CHECKS)


# Every string field of the feed's bodies, and where a nasty value goes in it. Generated
# bodies seldom carry a nasty value in a field that is checked last (a media URL of a
# post that is otherwise valid), so each goes into each field here, lone surrogates too.
FEED_FIELDS = [
    ("/api/posts", lambda v: {"content": v}),
    ("/api/posts", lambda v: {"content": "fuzzed", "mediaUrls": [v]}),
    ("/api/posts", lambda v: {"content": "fuzzed", "mediaUrls": ["https://a.example/", v]}),
    (f"/api/posts/{POSTS[0]}/comments", lambda v: {"content": v}),
]
SURROGATES = ["\ud800", "a\udc00b", "https://a.example/\ud800", "https://\udbff.example/"]


@pytest.mark.parametrize("nasty", [*NASTY, *SURROGATES], ids=repr)
def test_a_nasty_string_in_any_field_of_a_feed_body_gets_designs_error_or_is_kept(
    links: None, nasty: str
) -> None:
    import json

    import httpx

    client = httpx.Client(transport=httpx.WSGITransport(app=Gateway()), base_url="https://api")
    for path, body in FEED_FIELDS:
        sent = json.dumps(body(nasty))  # a lone surrogate goes as its JSON escape
        answer = client.post(path, content=sent, headers=_headers("alice"))

        assert answer.status_code < 500, (path, sent, answer.text)
        if answer.status_code >= 400:
            assert set(answer.json()["error"]) == {"code", "message"}, answer.text
        else:
            kept = answer.json()
            assert nasty in [kept["content"], *kept.get("mediaUrls", [])], answer.text


# Every place a handle arrives: each path with one, and a conversation's members.
HANDLE_PATHS = [
    ("GET", "/api/users/{}"),
    ("GET", "/api/users/{}/posts"),
    ("POST", "/api/users/{}/follow"),
    ("DELETE", "/api/users/{}/follow"),
]
LOOK_ALIKES = ["bob\u200b", " bob", "bob ", "\u202ebob", "b\u0338ob", "BOB\u200d", "bob\x00"]


@pytest.mark.parametrize("nasty", [*NASTY, *SURROGATES, *LOOK_ALIKES], ids=repr)
def test_a_nasty_handle_in_a_path_or_a_members_body_gets_designs_error(
    links: None, people: None, nasty: str
) -> None:
    import json
    from urllib.parse import quote

    import httpx

    gateway = Gateway()

    def as_sent(environ: dict[str, Any], start_response: Any) -> Any:
        # The path exactly as the client sent it, percent-encoded UTF-8 (httpx's WSGI
        # transport would hand the gateway a decoded path that WSGI cannot carry).
        environ["RAW_URI"] = environ.pop("HTTP_X_SENT_PATH", None)
        return gateway(environ, start_response)

    client = httpx.Client(transport=httpx.WSGITransport(app=as_sent), base_url="https://api")
    answers = []
    for method, path in HANDLE_PATHS:
        sent = path.format(quote(nasty.encode("utf-8", "surrogatepass"), safe=""))
        for who in ("alice", "anonymous"):
            headers = {**_headers(who), "X-Sent-Path": sent}
            answer = client.request(method, sent, headers=headers)
            if who == "anonymous" and answer.status_code == 401:
                # A route that requires sign-in: API Gateway's JWT authorizer answers
                # with its own body before any of Relay's code sees the handle.
                assert answer.json() == {"message": "Unauthorized"}, answer.text
                continue
            answers.append(answer)
    answers.append(
        client.post(
            "/api/conversations",
            content=json.dumps({"members": ["bob", nasty]}),  # a lone surrogate as its escape
            headers=_headers("alice"),
        )
    )

    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.text)
        assert set(answer.json()["error"]) == {"code", "message"}, answer.text
