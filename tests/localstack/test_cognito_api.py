"""Local AWS's Cognito API in process, with a clock the test moves: codes that expire, what
the journal keeps and what a restart gives back, administrators' flows, and the users a
client that hides them does not reveal.

The same API over HTTP, with the template's real triggers, is in test_accounts.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from relay_local.state import cognito_store
from relay_local.state.cognito import COGNITO, CognitoIdp
from relay_local.state.cognito_calls import JSON_11, TriggerCall, TriggerFailed
from relay_local.state.journal import Journal, read_journal
from relay_local.state.outbox import Outbox
from relay_local.state.wire import classify
from relay_local.template.build import build_model
from relay_local.template.model import StackModel
from tests.support.clock import FrozenClock

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "Correct-Horse-Battery-9"


class Triggers:
    """Records each trigger run and answers what the test says."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.answer: dict[str, Any] = {}
        self.failure: str | None = None

    def run(self, call: TriggerCall) -> dict[str, Any]:
        self.runs.append(
            {
                "source": call.source,
                "user": call.user_name,
                "client": call.client_id,
                "request": call.request,
            }
        )
        if self.failure is not None:
            raise TriggerFailed("UserLambdaValidationException", self.failure)
        return dict(self.answer)


class Api:
    def __init__(self, tmp_path: Path, model: StackModel, clock: FrozenClock) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app

        self.model = model
        self.pool = model.user_pools["UserPool"]
        self.client = model.user_pool_clients["UserPoolClient"].id
        self.clock = clock
        self.journal_path = tmp_path / "journal.jsonl"
        self.lines: list[str] = []
        self.outbox = Outbox(tmp_path / "outbox", self.lines.append)
        self.triggers = Triggers()
        self.moto = create_backend_app("cognito-idp")
        self.start(cognito_store.CognitoStore(clock=lambda: clock.now / 1000))

    def start(self, store: cognito_store.CognitoStore) -> None:
        """Local AWS's Cognito on `store` (a fresh one after a restart)."""
        self.store = store
        self.store.journal = Journal(self.journal_path)
        self.idp = CognitoIdp(self.moto, self.store, self.outbox, self.triggers)
        self.idp.apply(self.model)

    def restart(self) -> None:
        """What a restart does: moto afresh, and the journal replayed into it."""
        assert self.store.journal is not None
        self.store.journal.close()
        _fresh_pools(self.model)
        restored = cognito_store.CognitoStore(clock=self.store.clock)
        for record in read_journal(self.journal_path):
            restored.restore(record)
        self.start(restored)

    def __call__(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode()
        environ = EnvironBuilder(
            method="POST",
            path="/",
            headers={"X-Amz-Target": COGNITO + operation, "Content-Type": JSON_11},
            data=data,
        ).get_environ()
        answer = self.idp.before(classify(environ, data))
        assert answer is not None
        status, _, payload = answer
        return int(status[:3]), json.loads(payload)

    def outbox_text(self) -> str:
        return "".join(path.read_text() for path in self.outbox.folder.glob("*.eml"))

    def code(self) -> str:
        text = self.lines[-1]
        return next(word.rstrip(".") for word in text.split() if word.rstrip(".").isdigit())

    def sign_up(self, address: str, handle: str = "someone") -> tuple[int, dict[str, Any]]:
        return self(
            "SignUp",
            {
                "ClientId": self.client,
                "Username": address,
                "Password": PASSWORD,
                "UserAttributes": [{"Name": "preferred_username", "Value": handle}],
            },
        )

    def confirm(self, address: str, code: str) -> tuple[int, dict[str, Any]]:
        return self(
            "ConfirmSignUp",
            {"ClientId": self.client, "Username": address, "ConfirmationCode": code},
        )

    def sign_in(self, address: str, password: str = PASSWORD) -> tuple[int, dict[str, Any]]:
        return self(
            "InitiateAuth",
            {
                "ClientId": self.client,
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": address, "PASSWORD": password},
            },
        )


def _fresh_pools(model: StackModel) -> None:
    cognito_store.install()
    for pool in model.user_pools.values():
        cognito_store.backend().user_pools.pop(pool.id, None)
    cognito_store.ensure_pools(model)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    model = build_model(FIXTURES / "accounts.yaml", "http://127.0.0.1:9")
    _fresh_pools(model)
    made = Api(tmp_path, model, FrozenClock(now_ms=1_795_000_000 * 1000))
    yield made
    assert made.store.journal is not None
    made.store.journal.close()


def test_a_sign_up_code_expires_after_a_day_and_a_new_one_is_sent(api: Api) -> None:
    api.sign_up("late@example.com")
    first = api.code()

    api.clock.advance(24 * 3600 + 1)
    expired = api.confirm("late@example.com", first)
    api("ResendConfirmationCode", {"ClientId": api.client, "Username": "late@example.com"})
    second = api.code()

    assert expired == (
        400,
        {
            "__type": "ExpiredCodeException",
            "message": "Invalid code provided, please request a code again.",
        },
    )
    assert api.confirm("late@example.com", second) == (200, {})


def test_a_reset_code_lives_an_hour(api: Api) -> None:
    api.sign_up("reset@example.com")
    api.confirm("reset@example.com", api.code())
    api("ForgotPassword", {"ClientId": api.client, "Username": "reset@example.com"})
    code = api.code()

    api.clock.advance(3601)
    late = api(
        "ConfirmForgotPassword",
        {
            "ClientId": api.client,
            "Username": "reset@example.com",
            "ConfirmationCode": code,
            "Password": "Another-Password-7",
        },
    )

    assert late[1]["__type"] == "ExpiredCodeException"
    assert api.sign_in("reset@example.com")[0] == 200  # the old password still holds


def test_the_trigger_is_told_the_sub_the_user_then_has(api: Api) -> None:
    status, answer = api.sign_up("named@example.com", handle="named")

    (run,) = api.triggers.runs
    assert status == 200
    assert run["source"] == "PreSignUp_SignUp"
    assert run["user"] == answer["UserSub"]
    assert run["client"] == api.client
    assert run["request"]["userAttributes"] == {
        "preferred_username": "named",
        "email": "named@example.com",
    }


def test_a_refusing_trigger_leaves_no_user(api: Api) -> None:
    api.triggers.failure = "PreSignUp failed with error no."

    status, answer = api.sign_up("refused@example.com")

    assert (status, answer["__type"]) == (400, "UserLambdaValidationException")
    api.triggers.failure = None
    assert api.sign_up("refused@example.com")[0] == 200


def test_the_journal_keeps_state_not_calls_and_gives_the_same_users_back(api: Api) -> None:
    _, answer = api.sign_up("kept@example.com", handle="kept")
    api.confirm("kept@example.com", api.code())
    _, tokens = api.sign_in("KEPT@example.com")
    refresh = tokens["AuthenticationResult"]["RefreshToken"]
    access = tokens["AuthenticationResult"]["AccessToken"]
    api.sign_up("unconfirmed@example.com")
    pending_code = api.code()

    # Then the journal says what is, with no password in the clear
    kinds = {record["t"] for record in read_journal(api.journal_path)}
    assert kinds <= cognito_store.RECORDS
    assert PASSWORD not in api.journal_path.read_text()

    # When moto starts afresh and the records are replayed (a restart)
    api.restart()

    # Then the same user, password, session and pending code
    assert api("GetUser", {"AccessToken": access})[1]["Username"] == answer["UserSub"]
    assert api.sign_in("kept@example.com")[0] == 200
    refreshed = api(
        "InitiateAuth",
        {
            "ClientId": api.client,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": refresh},
        },
    )
    assert refreshed[0] == 200
    assert api.confirm("unconfirmed@example.com", pending_code) == (200, {})


def test_a_signed_out_session_stays_signed_out_after_a_restart(api: Api) -> None:
    api.sign_up("gone@example.com")
    api.confirm("gone@example.com", api.code())
    access = api.sign_in("gone@example.com")[1]["AuthenticationResult"]["AccessToken"]
    api("GlobalSignOut", {"AccessToken": access})

    api.restart()

    assert api("GetUser", {"AccessToken": access})[1] == {
        "__type": "NotAuthorizedException",
        "message": "Access Token has been revoked",
    }


def test_an_expired_access_token_is_refused_by_cognitos_own_api(api: Api) -> None:
    api.sign_up("brief@example.com")
    api.confirm("brief@example.com", api.code())
    access = api.sign_in("brief@example.com")[1]["AuthenticationResult"]["AccessToken"]

    api.clock.advance(3600 * 24 * 365 * 20)  # past any token's life, whatever the real time

    assert api("GetUser", {"AccessToken": access})[1]["message"] == "Access Token has expired"


def test_an_administrator_creates_a_user_with_an_invitation_and_the_trigger_runs(
    api: Api,
) -> None:
    api.triggers.answer = {"autoConfirmUser": True}  # AdminCreateUser reads no flag

    status, answer = api(
        "AdminCreateUser",
        {
            "UserPoolId": api.pool.id,
            "Username": "invited@example.com",
            "UserAttributes": [{"Name": "preferred_username", "Value": "invited"}],
        },
    )

    assert status == 200
    assert answer["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    (run,) = api.triggers.runs
    assert run["source"] == "PreSignUp_AdminCreateUser"
    assert run["client"] == "CLIENT_ID_NOT_APPLICABLE"
    sub = {a["Name"]: a["Value"] for a in answer["User"]["Attributes"]}["sub"]
    assert run["user"] == sub
    assert "invited@example.com" in api.lines[-1]
    assert "Your username is invited@example.com and temporary password is" in api.outbox_text()


def test_a_client_that_hides_users_says_nothing_of_unknown_ones(api: Api) -> None:
    forgot = api("ForgotPassword", {"ClientId": api.client, "Username": "nobody@example.com"})
    confirm = api.confirm("nobody@example.com", "123456")

    assert forgot[0] == 200 and forgot[1]["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert not api.lines  # no email went anywhere
    assert confirm[1]["__type"] == "CodeMismatchException"
    assert api.sign_in("nobody@example.com")[1]["__type"] == "NotAuthorizedException"


def test_the_pools_key_set_is_served_where_functions_are_told(api: Api) -> None:
    environ = EnvironBuilder(
        method="GET", path=f"/{api.pool.id}/.well-known/jwks.json"
    ).get_environ()

    answer = api.idp.before(classify(environ, b""))

    assert answer is not None
    status, _, payload = answer
    assert status.startswith("200")
    assert [key["kid"] for key in json.loads(payload)["keys"]] == ["dummy"]


@pytest.mark.parametrize(
    "operation",
    [
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "AdminCreateUser",
        "AdminConfirmSignUp",
        "InitiateAuth",
        "AdminInitiateAuth",
        "GlobalSignOut",
        "AdminUserGlobalSignOut",
        "RevokeToken",
        "DeleteUser",
        "GetUser",
        "AdminGetUser",
    ],
)
def test_parameters_of_the_wrong_shape_are_a_400_never_a_500(api: Api, operation: str) -> None:
    api.sign_up("shape@example.com")
    for wrong in (5, [], "x", {"a": 1}, None, True):
        body = {
            "ClientId": api.client,
            "UserPoolId": api.pool.id,
            "Username": wrong,
            "Password": wrong,
            "ConfirmationCode": wrong,
            "AuthFlow": wrong,
            "AuthParameters": wrong,
            "UserAttributes": wrong,
            "ClientMetadata": wrong,
            "AccessToken": wrong,
            "Token": wrong,
            "MessageAction": wrong,
            "TemporaryPassword": wrong,
        }

        status, answer = api(operation, body)

        assert status == 400, (wrong, answer)
        assert answer["__type"] and isinstance(answer["message"], str)


def test_an_operation_the_local_pool_has_not_is_named_not_a_500(api: Api) -> None:
    assert api("NoSuchOperation", {}) == (
        400,
        {
            "__type": "UnknownOperationException",
            "message": "NoSuchOperation is not an operation the local user pool (moto) serves",
        },
    )
