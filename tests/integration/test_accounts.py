"""Accounts in-process under moto: the sign-up triggers, the caller's own profile, avatars,
sign-out, deletion and GET /api/config, called as Cognito and API Gateway call them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from relay.accounts.registration import Registration
from relay.accounts.rules import RESERVATION_TTL_S
from relay.accounts.users_table import RESERVED, TAKEN, UsersTable, handle_key, user_key
from relay.platform.config import settings
from relay.platform.errors import Conflict, Invalid, Unauthorized
from relay.platform.sessions import sessions
from tests.support.lambdas import ROOT, Context, call, handler, http_event

PRE_SIGN_UP = json.loads((ROOT / "events" / "pre-sign-up.json").read_text())
POST_CONFIRMATION = json.loads((ROOT / "events" / "post-confirmation.json").read_text())
PASSWORD = "Correct-Horse-Battery-9"


def trigger(template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(template)
    attributes = changes.pop("attributes", None)
    if attributes is not None:
        event["request"]["userAttributes"] = attributes
    event.update(changes)
    return event


def sign_up(sub: str, handle: Any) -> dict[str, Any]:
    return trigger(
        PRE_SIGN_UP,
        userName=sub,
        attributes={"email": f"{sub}@example.com", "preferred_username": handle},
    )


def confirmation(sub: str, handle: Any) -> dict[str, Any]:
    return trigger(
        POST_CONFIRMATION,
        userName=sub,
        attributes={"sub": sub, "email": f"{sub}@example.com", "preferred_username": handle},
    )


def refused(function: str, event: dict[str, Any]) -> str:
    """The message Cognito would pass the client ("<Trigger> failed with error <it>.")."""
    with pytest.raises(Exception) as raised:
        call(function, event)
    return str(raised.value)


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def assert_error(response: dict[str, Any], status: int, code: str | None = None) -> None:
    assert response["statusCode"] == status, response
    error = body(response)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    if code is not None:
        assert error["code"] == code, error


def me(route: str = "GET /api/me", user: str | None = None, payload: Any = None) -> dict[str, Any]:
    path = route.split(" ", 1)[1]
    return call("Accounts", http_event(route, path, user=user, body=payload))


# ---- PreSignUp


def test_sign_up_reserves_the_normalized_handle_for_its_user(pool):
    call("PreSignUp", sign_up("sub-1", "\uff21da_Lovelace"))

    item = pool.item(handle_key("ada_lovelace"))
    assert item is not None
    assert item["sub"]["S"] == "sub-1" and item["state"]["S"] == RESERVED
    assert int(item["expiresAt"]["N"]) > 0


@pytest.mark.parametrize(
    ("handle", "words"),
    [
        ("ab", "3 to 30"),
        ("bob\u200b", "3 to 30"),
        ("\u202eevil", "3 to 30"),
        ("a" * 31, "3 to 30"),
        ("bad\ud800", "3 to 30"),
        ("admin", "reserved"),
        ("", "required"),
        (None, "required"),
    ],
)
def test_sign_up_with_a_bad_handle_is_refused_with_a_clear_message(pool, handle, words):
    attributes = {"email": "x@example.com"}
    if handle is not None:
        attributes["preferred_username"] = handle

    message = refused("PreSignUp", trigger(PRE_SIGN_UP, attributes=attributes))

    assert words in message
    assert pool.dynamodb.scan(TableName=settings().users_table)["Items"] == []


def test_sign_up_with_a_handle_somebody_has_is_refused(pool):
    pool.person("alice")

    message = refused("PreSignUp", sign_up("sub-2", "ALICE"))

    # Cognito ends the sentence: "PreSignUp failed with error The handle 'alice' is taken."
    assert message == "The handle 'alice' is taken"


def test_the_second_of_two_sign_ups_for_one_handle_is_refused(pool):
    call("PreSignUp", sign_up("first", "grace"))

    message = refused("PreSignUp", sign_up("second", "Grace"))

    assert "taken" in message
    assert pool.item(handle_key("grace"))["sub"]["S"] == "first"


def test_a_sign_up_may_take_back_its_own_reservation(pool):
    call("PreSignUp", sign_up("first", "grace"))

    assert call("PreSignUp", sign_up("first", "grace"))["userName"] == "first"


def test_an_expired_reservation_is_free_for_the_next_sign_up(pool, clock):
    table = UsersTable(pool.dynamodb, settings().users_table)
    registration = Registration(table, "EventsTable", clock)
    registration.reserve("first", "grace")
    clock.advance(RESERVATION_TTL_S - 1)
    with pytest.raises(Conflict):
        registration.reserve("second", "grace")

    clock.advance(1)
    registration.reserve("second", "grace")

    assert pool.item(handle_key("grace"))["sub"]["S"] == "second"


def test_of_two_sign_ups_for_one_handle_whichever_writes_second_is_refused(pool):
    # Each reservation is one conditional write, so two sign-ups cannot both pass a check
    # and then both write: the second write finds the first's reservation. (moto is not
    # thread-safe, so the interleaving is written out rather than raced.)
    table = UsersTable(pool.dynamodb, settings().users_table)

    first = table.reserve("grace", "first", now_s=1_000, expires_s=1_000 + RESERVATION_TTL_S)
    second = table.reserve("grace", "second", now_s=1_000, expires_s=1_000 + RESERVATION_TTL_S)

    assert (first, second) == (True, False)
    assert pool.item(handle_key("grace"))["sub"]["S"] == "first"


@pytest.mark.parametrize(
    "event",
    [
        {},
        [],
        "PreSignUp",
        {"triggerSource": "PreSignUp_SignUp"},
        {**PRE_SIGN_UP, "request": None},
        {**PRE_SIGN_UP, "request": {"userAttributes": "alice"}},
        {**PRE_SIGN_UP, "userName": 7},
        {**PRE_SIGN_UP, "userName": "\ud800"},
        {**PRE_SIGN_UP, "userName": "a#b"},
        {**PRE_SIGN_UP, "triggerSource": "PreSignUp_ExternalProvider"},
    ],
)
def test_an_odd_sign_up_event_is_refused_with_a_message_not_a_crash(pool, event):
    with pytest.raises(Invalid) as raised:
        handler("PreSignUp")(event, Context())

    assert raised.value.message


# ---- PostConfirmation


def test_confirmation_takes_the_handle_makes_the_profile_and_tells_the_others(pool):
    call("PreSignUp", sign_up("sub-1", "Grace"))

    result = call("PostConfirmation", confirmation("sub-1", "Grace"))

    assert result["response"] == {}
    handle = pool.item(handle_key("grace"))
    assert handle["state"]["S"] == TAKEN and handle["sub"]["S"] == "sub-1"
    assert "expiresAt" not in handle
    profile = pool.item(user_key("sub-1"))
    assert profile["handle"]["S"] == "grace" and int(profile["createdAt"]["N"]) > 0
    created = pool.events("accounts.user_created")
    assert [(e["subjectId"]["S"], json.loads(e["data"]["S"])) for e in created] == [
        ("sub-1", {"handle": "grace"})
    ]


def test_a_retried_confirmation_changes_nothing(pool):
    call("PreSignUp", sign_up("sub-1", "grace"))
    call("PostConfirmation", confirmation("sub-1", "grace"))
    before = pool.item(user_key("sub-1"))

    call("PostConfirmation", confirmation("sub-1", "grace"))

    assert pool.item(user_key("sub-1")) == before
    assert len(pool.events("accounts.user_created")) == 1


def test_confirmation_after_the_reservation_lapsed_still_takes_a_free_handle(pool):
    call("PostConfirmation", confirmation("sub-1", "grace"))

    assert pool.item(handle_key("grace"))["state"]["S"] == TAKEN


def test_confirmation_of_a_handle_another_account_took_meanwhile_is_refused(pool):
    pool.person("grace")

    message = refused("PostConfirmation", confirmation("sub-2", "grace"))

    assert "taken" in message
    assert pool.item(user_key("sub-2")) is None


def test_a_password_reset_confirmation_makes_no_profile(pool):
    event = confirmation("sub-1", "grace")
    event["triggerSource"] = "PostConfirmation_ConfirmForgotPassword"

    assert call("PostConfirmation", event) == event
    assert pool.item(user_key("sub-1")) is None


# ---- GET /api/me, GET /api/config


def test_me_is_the_callers_profile(pool):
    sub = pool.person("alice")

    response = me(user=sub)

    assert response["statusCode"] == 200
    assert body(response) == {
        "userId": sub,
        "handle": "alice",
        "displayName": "",
        "bio": "",
        "avatarUrl": None,
        "createdAt": "2025-11-24T16:00:00.000Z",
    }


def test_me_needs_a_token(pool):
    assert_error(me(), 401)


def test_me_without_a_profile_is_404(pool):
    assert_error(me(user="nobody"), 404, "user_not_found")


def test_config_tells_clients_where_things_are_without_sign_in(pool, monkeypatch):
    monkeypatch.setenv("COGNITO_ENDPOINT", "http://127.0.0.1:3002/")
    monkeypatch.setenv("WEB_SOCKET_URL", "wss://ws.example.com/test")
    settings.cache_clear()

    response = me("GET /api/config")

    assert response["statusCode"] == 200
    assert body(response) == {
        "region": "us-east-1",
        "userPoolId": pool.pool_id,
        "userPoolClientId": pool.client_id,
        "cognitoEndpoint": "http://127.0.0.1:3002/",
        "webSocketUrl": "wss://ws.example.com/test",
        "shortBaseUrl": "https://r3pmxmplak.execute-api.us-east-1.amazonaws.com",
    }


# ---- PATCH /api/me


def test_patch_changes_display_name_and_bio_and_tells_the_others(pool):
    sub = pool.person("alice")

    response = me("PATCH /api/me", sub, {"displayName": " Alice L. ", "bio": "Hi 👋\nthere"})

    assert response["statusCode"] == 200
    assert body(response)["displayName"] == "Alice L."
    assert body(me(user=sub))["bio"] == "Hi 👋\nthere"
    assert len(pool.events("accounts.user_updated")) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"displayName": "x" * 51}, "displayName"),
        ({"bio": "x" * 281}, "bio"),
        ({"displayName": 7}, "displayName"),
        ({"bio": ["a"]}, "bio"),
        ({"displayName": "evil\u202e"}, "displayName"),
        ({"bio": "zero\u200bwidth"}, "bio"),
        ({"nickname": "x"}, "nickname"),
        ({"handle": 12}, "handle"),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field(pool, payload, field):
    sub = pool.person("alice")

    response = me("PATCH /api/me", sub, payload)

    assert_error(response, 400)
    assert field in body(response)["error"]["message"]


def test_a_patch_that_is_not_json_is_a_400(pool):
    sub = pool.person("alice")

    assert_error(me("PATCH /api/me", sub, '{"bio": '), 400, "malformed_json")


def test_a_handle_change_moves_the_handle_and_tells_cognito(pool):
    sub = pool.person("alice")

    response = me("PATCH /api/me", sub, {"handle": "Alice_2"})

    assert response["statusCode"] == 200 and body(response)["handle"] == "alice_2"
    assert pool.item(handle_key("alice")) is None
    assert pool.item(handle_key("alice_2"))["sub"]["S"] == sub
    assert pool.preferred_username(sub) == "alice_2"
    updated = pool.events("accounts.user_updated")
    assert json.loads(updated[0]["data"]["S"]) == {"handle": "alice_2", "previousHandle": "alice"}


def test_a_handle_somebody_has_is_a_409_and_nothing_moves(pool):
    alice, _ = pool.person("alice"), pool.person("bob")

    assert_error(me("PATCH /api/me", alice, {"handle": "BOB"}), 409, "handle_taken")
    assert pool.item(handle_key("alice"))["sub"]["S"] == alice
    assert body(me(user=alice))["handle"] == "alice"
    assert pool.preferred_username(alice) == "alice"


def test_a_handle_another_sign_up_holds_is_a_409(pool):
    alice = pool.person("alice")
    call("PreSignUp", sign_up("newcomer", "grace"))

    assert_error(me("PATCH /api/me", alice, {"handle": "grace"}), 409, "handle_taken")


@pytest.mark.parametrize(
    ("handle", "code"), [("Admin", "handle_reserved"), ("a b", "invalid_handle")]
)
def test_a_handle_against_the_rule_is_a_400(pool, handle, code):
    sub = pool.person("alice")

    assert_error(me("PATCH /api/me", sub, {"handle": handle}), 400, code)


# ---- avatars


def test_an_avatar_is_uploaded_with_a_presigned_post_then_named(pool):
    sub = pool.person("alice")

    upload = me("POST /api/me/avatar", sub, {"contentType": "image/png"})
    assert upload["statusCode"] == 201
    form = body(upload)
    assert form["key"].startswith(f"avatars/{sub}/") and form["fields"]["key"] == form["key"]
    assert "policy" in {name.lower() for name in form["fields"]}
    pool.s3.put_object(
        Bucket="relay-avatars", Key=form["key"], Body=b"\x89PNG...", ContentType="image/png",
        Tagging="pending=true",
    )  # fmt: skip

    named = me("PATCH /api/me", sub, {"avatar": form["key"]})

    assert named["statusCode"] == 200
    assert "relay-avatars" in body(named)["avatarUrl"] and form["key"] in body(named)["avatarUrl"]
    tags = pool.s3.get_object_tagging(Bucket="relay-avatars", Key=form["key"])["TagSet"]
    assert tags == []  # no longer an abandoned upload


def test_a_replaced_avatar_is_removed_and_null_removes_the_avatar(pool):
    sub = pool.person("alice")
    keys = []
    for _ in range(2):
        key = body(me("POST /api/me/avatar", sub, {"contentType": "image/jpeg"}))["key"]
        pool.s3.put_object(Bucket="relay-avatars", Key=key, Body=b"j", ContentType="image/jpeg")
        assert me("PATCH /api/me", sub, {"avatar": key})["statusCode"] == 200
        keys.append(key)

    listed = pool.s3.list_objects_v2(Bucket="relay-avatars").get("Contents", [])
    assert [o["Key"] for o in listed] == [keys[1]]
    assert body(me("PATCH /api/me", sub, {"avatar": None}))["avatarUrl"] is None
    assert pool.s3.list_objects_v2(Bucket="relay-avatars").get("Contents", []) == []


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "", "IMAGE/PNG"])
def test_only_images_may_be_uploaded(pool, content_type):
    sub = pool.person("alice")

    response = me("POST /api/me/avatar", sub, {"contentType": content_type})

    assert_error(response, 400, "invalid_avatar")


def test_an_avatar_key_not_uploaded_or_not_ones_own_is_a_400(pool):
    alice, bob = pool.person("alice"), pool.person("bob")
    bobs = body(me("POST /api/me/avatar", bob, {"contentType": "image/png"}))["key"]
    pool.s3.put_object(Bucket="relay-avatars", Key=bobs, Body=b"p", ContentType="image/png")

    assert_error(me("PATCH /api/me", alice, {"avatar": bobs}), 400, "invalid_avatar")
    assert_error(
        me("PATCH /api/me", alice, {"avatar": f"avatars/{alice}/never.png"}), 400, "invalid_avatar"
    )


def test_an_upload_that_is_not_an_image_cannot_become_the_avatar(pool):
    sub = pool.person("alice")
    key = body(me("POST /api/me/avatar", sub, {"contentType": "image/png"}))["key"]
    pool.s3.put_object(Bucket="relay-avatars", Key=key, Body=b"<html>", ContentType="text/html")

    assert_error(me("PATCH /api/me", sub, {"avatar": key}), 400, "invalid_avatar")


# ---- sign-out and deletion


def test_sign_out_ends_the_callers_sessions_everywhere(pool, clock):
    sub = pool.person("alice")
    issued_s = clock.now_ms() // 1000

    response = me("POST /api/me/sign-out", sub)

    assert response["statusCode"] == 204
    with pytest.raises(Unauthorized) as raised:
        sessions().check(sub, issued_s)
    assert raised.value.code == "session_ended"


def test_delete_removes_the_profile_handle_avatars_and_cognito_user(pool):
    sub = pool.person("alice")
    key = body(me("POST /api/me/avatar", sub, {"contentType": "image/png"}))["key"]
    pool.s3.put_object(Bucket="relay-avatars", Key=key, Body=b"p", ContentType="image/png")
    me("PATCH /api/me", sub, {"avatar": key, "bio": "bye"})

    response = me("DELETE /api/me", sub)

    assert response["statusCode"] == 204
    assert pool.item(user_key(sub)) is None and pool.item(handle_key("alice")) is None
    assert pool.s3.list_objects_v2(Bucket="relay-avatars").get("Contents", []) == []
    with pytest.raises(pool.cognito.exceptions.UserNotFoundException):
        pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=sub)
    with pytest.raises(Unauthorized):
        sessions().check(sub, 0)
    deleted = pool.events("accounts.user_deleted")
    assert [(e["subjectId"]["S"], json.loads(e["data"]["S"])) for e in deleted] == [
        (sub, {"handle": "alice"})
    ]
    # The handle is free for the next person.
    call("PreSignUp", sign_up("next", "alice"))


def test_a_repeated_delete_succeeds_and_tells_the_others_once(pool):
    import time

    sub = pool.person("alice")
    # One token for both calls, issued a second ago: on a loaded machine the two calls
    # may straddle a second, and a token issued after the sign-out is another session.
    issued = int(time.time()) - 1
    first = http_event("DELETE /api/me", "/api/me", user=sub, issued_at=issued)
    assert call("Accounts", first)["statusCode"] == 204

    # The same token again: its session ended with the account.
    again = call("Accounts", http_event("DELETE /api/me", "/api/me", user=sub, issued_at=issued))
    assert again["statusCode"] == 401 and json.loads(again["body"])["error"]["code"] == (
        "session_ended"
    )
    # A token the sign-out mark does not cover (Redis lost the mark): still done, once.
    later = http_event("DELETE /api/me", "/api/me", user=sub, issued_at=int(time.time()) + 60)
    assert call("Accounts", later)["statusCode"] == 204
    assert len(pool.events("accounts.user_deleted")) == 1


def test_a_delete_that_failed_after_the_profile_went_completes_when_retried(pool, monkeypatch):
    from relay.accounts import service

    sub = pool.person("alice")
    profiles = service.profiles()
    real_cognito = profiles.cognito

    class Down:
        def __getattr__(self, name: str) -> Any:
            raise ConnectionError("cognito unreachable")

    monkeypatch.setattr(profiles, "cognito", Down())
    assert me("DELETE /api/me", sub)["statusCode"] == 500
    assert pool.item(user_key(sub)) is None  # the first step went

    monkeypatch.setattr(profiles, "cognito", real_cognito)
    assert me("DELETE /api/me", sub)["statusCode"] == 204
    with pytest.raises(pool.cognito.exceptions.UserNotFoundException):
        pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=sub)


def test_deleting_an_account_never_confirmed_frees_its_reserved_handle(pool):
    made = pool.cognito.admin_create_user(
        UserPoolId=pool.pool_id,
        Username="late@example.com",
        UserAttributes=[{"Name": "preferred_username", "Value": "grace"}],
        MessageAction="SUPPRESS",
    )["User"]
    sub = next(a["Value"] for a in made["Attributes"] if a["Name"] == "sub")
    call("PreSignUp", sign_up(sub, "grace"))

    assert me("DELETE /api/me", sub)["statusCode"] == 204
    assert pool.item(handle_key("grace")) is None


def test_of_two_people_moving_to_one_handle_the_second_to_write_gets_409(pool):
    # Both read their profiles before either writes (the interleaving a race would make,
    # written out: moto is not thread-safe); the handle's conditional put decides.
    from dataclasses import replace

    table = UsersTable(pool.dynamodb, settings().users_table)
    alice, bob = pool.person("alice"), pool.person("bob")
    alice_before, bob_before = table.user(alice), table.user(bob)
    assert alice_before is not None and bob_before is not None

    table.update(alice_before, replace(alice_before, handle="grace"), now_s=1_000)
    with pytest.raises(Conflict) as refused:
        table.update(bob_before, replace(bob_before, handle="grace"), now_s=1_000)

    assert refused.value.code == "handle_taken"
    assert pool.item(handle_key("grace"))["sub"]["S"] == alice
    assert pool.item(handle_key("bob"))["sub"]["S"] == bob
    assert body(me(user=bob))["handle"] == "bob"


def test_a_change_read_before_a_handle_move_and_written_after_it_is_a_409(pool):
    from dataclasses import replace

    table = UsersTable(pool.dynamodb, settings().users_table)
    alice = pool.person("alice")
    stale = table.user(alice)
    assert stale is not None
    table.update(stale, replace(stale, handle="alice_2"), now_s=1_000)

    with pytest.raises(Conflict) as refused:
        table.update(stale, replace(stale, bio="from an old tab"), now_s=1_000)

    assert refused.value.code == "profile_changed"
    assert body(me(user=alice))["handle"] == "alice_2"
    assert pool.item(handle_key("alice_2"))["sub"]["S"] == alice


def test_a_handle_change_stands_when_cognito_cannot_be_told(pool, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from relay.accounts import service

    sub = pool.person("alice")
    profiles = service.profiles()

    class Unreachable:
        def admin_update_user_attributes(self, **_: Any) -> None:
            raise EndpointConnectionError(endpoint_url="https://cognito-idp.example")

    monkeypatch.setattr(profiles, "cognito", Unreachable())

    response = me("PATCH /api/me", sub, {"handle": "alice_2"})

    assert response["statusCode"] == 200 and body(response)["handle"] == "alice_2"
    assert pool.item(handle_key("alice_2"))["sub"]["S"] == sub
    assert pool.preferred_username(sub) == "alice"  # one change behind, nothing more
