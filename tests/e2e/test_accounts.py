"""Accounts end to end: `relay run` with the real template.yaml, and a person who signs
up, verifies, signs in, reads and changes their profile, signs out and deletes their
account, speaking to Cognito's JSON API exactly as the README's curl does (JSON 1.1, the
target header, no signature) and to the HTTP API with the access token."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, latest_code
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
TARGET = "AWSCognitoIdentityProviderService."

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(
        ROOT,
        tmp_path_factory.mktemp("relay-accounts-state"),
        env={"REDIS_URL": os.environ["RELAY_E2E_REDIS_URL"]},
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def config(stack: Stack) -> dict[str, Any]:
    answer = stack.http.get("/api/config")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def cognito(config: dict[str, Any], operation: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        config["cognitoEndpoint"],
        headers={"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1"},
        content=json.dumps(body),
        timeout=30,
    )


class Person:
    def __init__(self, stack: Stack, config: dict[str, Any], handle: str) -> None:
        self.stack, self.config, self.handle = stack, config, handle
        self.email = f"{handle}-{uuid.uuid4().hex[:6]}@example.com"
        self.token = ""

    def sign_up(self) -> httpx.Response:
        return cognito(
            self.config,
            "SignUp",
            {
                "ClientId": self.config["userPoolClientId"],
                "Username": self.email,
                "Password": PASSWORD,
                "UserAttributes": [{"Name": "preferred_username", "Value": self.handle}],
            },
        )

    def verify(self) -> httpx.Response:
        code = latest_code(self.stack.state_dir, self.email)
        return cognito(
            self.config,
            "ConfirmSignUp",
            {
                "ClientId": self.config["userPoolClientId"],
                "Username": self.email,
                "ConfirmationCode": code,
            },
        )

    def sign_in(self) -> None:
        answer = cognito(
            self.config,
            "InitiateAuth",
            {
                "ClientId": self.config["userPoolClientId"],
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": self.email, "PASSWORD": PASSWORD},
            },
        )
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["AuthenticationResult"]["AccessToken"]

    def joined(self) -> Person:
        assert self.sign_up().status_code == 200
        assert self.verify().status_code == 200
        self.sign_in()
        return self

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.stack.http.request(method, path, headers=headers, **kwargs)


def _handle(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_config_names_the_local_pool_and_its_client(stack: Stack, config: dict[str, Any]):
    assert config["userPoolId"].startswith("us-east-1_") and config["userPoolClientId"]
    assert config["cognitoEndpoint"] == stack.info["cognito_url"]
    assert config["region"] == "us-east-1"


def test_sign_up_verify_sign_in_then_me_patch_and_sign_out(stack: Stack, config: dict[str, Any]):
    handle = _handle("ada")
    ada = Person(stack, config, handle.upper())

    signed_up = ada.sign_up()
    assert signed_up.status_code == 200, signed_up.text
    assert signed_up.json()["UserConfirmed"] is False
    assert ada.verify().status_code == 200
    ada.sign_in()

    me = ada.call("GET", "/api/me")
    assert me.status_code == 200, me.text
    assert me.json()["handle"] == handle and me.json()["userId"] == signed_up.json()["UserSub"]

    new_handle = _handle("lovelace")
    changed = ada.call("PATCH", "/api/me", json={"displayName": "Ada", "handle": new_handle})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["displayName"], changed.json()["handle"]) == ("Ada", new_handle)
    assert ada.call("GET", "/api/me").json()["handle"] == new_handle

    signed_out = ada.call("POST", "/api/me/sign-out")
    assert signed_out.status_code == 204, signed_out.text
    refused = ada.call("GET", "/api/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "session_ended"


def test_a_taken_handle_is_refused_at_sign_up_with_a_clear_message(
    stack: Stack, config: dict[str, Any]
):
    first = Person(stack, config, _handle("grace")).joined()

    second = Person(stack, config, first.handle.upper()).sign_up()

    assert second.status_code == 400
    assert second.json()["__type"] == "UserLambdaValidationException"
    assert "PreSignUp failed with error" in second.json()["message"]
    assert "taken" in second.json()["message"]


def test_a_handle_against_the_rule_is_refused_at_sign_up(stack: Stack, config: dict[str, Any]):
    answer = Person(stack, config, "bob\u200b").sign_up()

    assert answer.status_code == 400
    assert "A handle is 3 to 30" in answer.json()["message"]


def test_a_deleted_account_is_gone_signed_out_and_its_handle_free(
    stack: Stack, config: dict[str, Any]
):
    grace = Person(stack, config, _handle("grace")).joined()

    deleted = grace.call("DELETE", "/api/me")
    assert deleted.status_code == 204, deleted.text

    assert grace.call("GET", "/api/me").json()["error"]["code"] == "session_ended"
    signed_in = cognito(
        config,
        "InitiateAuth",
        {
            "ClientId": config["userPoolClientId"],
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": grace.email, "PASSWORD": PASSWORD},
        },
    )
    assert signed_in.status_code == 400
    again = Person(stack, config, grace.handle).joined()
    assert again.call("GET", "/api/me").json()["handle"] == grace.handle


def test_me_without_a_token_is_refused_by_the_gateway(stack: Stack):
    answer = stack.http.get("/api/me")

    assert answer.status_code == 401
