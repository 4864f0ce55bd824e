"""Signed-out sessions through the functions: whichever authorizer let a token through,
one issued before its user signed out gets 401 session_ended, on HTTP and on the
WebSocket connect."""

import json
import time

import pytest

from relay.platform.sessions import sessions
from tests.support.lambdas import ROOT, call, http_event


def assert_session_ended(response):
    assert response["statusCode"] == 401, response
    assert json.loads(response["body"])["error"]["code"] == "session_ended"


@pytest.mark.parametrize(
    ("route", "path", "function"),
    [
        ("GET /api/links", "/api/links", "Shorten"),  # the JWT authorizer's claims
        ("POST /api/shorten", "/api/shorten", "Shorten"),  # the Lambda authorizer's context
    ],
)
def test_a_token_issued_before_a_sign_out_is_refused(aws, route, path, function):
    now = int(time.time())
    body = {"longUrl": "https://example.com/s"} if route.startswith("POST") else None
    before = http_event(route, path, user="alice", issued_at=now - 60, body=body)
    assert call(function, before)["statusCode"] in (200, 201)

    sessions().end("alice", now - 1)

    assert_session_ended(call(function, before))
    after = http_event(route, path, user="alice", issued_at=now, body=body)
    assert call(function, after)["statusCode"] in (200, 201)
    someone_else = http_event(route, path, user="bob", issued_at=now - 60, body=body)
    assert call(function, someone_else)["statusCode"] in (200, 201)


def test_anonymous_requests_never_ask_about_sessions(aws, monkeypatch):
    from relay.platform import sessions as module

    def asked(*_):
        raise AssertionError("an anonymous request asked Redis about a session")

    monkeypatch.setattr(module.Sessions, "check", asked)
    event = http_event("POST /api/shorten", "/api/shorten", body={"longUrl": "https://e.com/"})

    assert call("Shorten", event)["statusCode"] == 201


def _connect(user, issued_at):
    event = json.loads((ROOT / "events" / "chat-connect.json").read_text())
    event["requestContext"]["authorizer"].update(
        userId=user, principalId=user, issuedAt=str(issued_at)
    )
    return event


def test_a_signed_out_token_cannot_open_the_chat_socket(aws):
    now = int(time.time())
    sessions().end("alice", now)

    assert call("ChatConnect", _connect("alice", now - 5)) == {"statusCode": 401}
    assert call("ChatConnect", _connect("alice", now + 1))["statusCode"] == 200
