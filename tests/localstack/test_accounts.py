"""Accounts on a running stack, driven as a person and their browser drive them: sign-up
with the code from the outbox, the template's triggers, sign-in, the HTTP API's JWT
authorizer, sign-out, `relay token`, and all of it surviving a kill -9.

The stack runs tests/localstack/fixtures/accounts.yaml: a user pool with a PreSignUp
trigger (a SAM `Cognito` event) and a PostConfirmation trigger (the pool's own
`LambdaConfig`), its app client, another client, the `operators` group, and routes
behind the JWT authorizer, without one, and behind a Lambda authorizer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from relay_local.template.names import user_pool_id
from relay_local.tokens import KeySet, verify
from tests.localstack.conftest import Stack, eventually, make_project, relay
from tests.support.accounts import (
    PASSWORD,
    Accounts,
    User,
    bearer,
    latest_code,
    mint,
    relay_token,
)

pytestmark = pytest.mark.xdist_group("accounts")
TARGET = "AWSCognitoIdentityProviderService."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("accounts")
    running = Stack(
        make_project(root), root / "state", "--concurrency", "2", template="accounts.yaml"
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> Accounts:
    return Accounts(stack)


def _cognito(stack: Stack, operation: str, body: dict[str, Any]) -> httpx.Response:
    """A call as curl or a browser makes it: JSON 1.1, the target header, no signature."""
    return httpx.post(
        stack.info["cognito_url"],
        headers={
            "X-Amz-Target": TARGET + operation,
            "Content-Type": "application/x-amz-json-1.1",
        },
        content=json.dumps(body),
        timeout=30,
    )


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["__type"], body["message"]


def _failure(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as failed:
        call()
    error = failed.value.response["Error"]
    return error["Code"], error["Message"]


def _item(stack: Stack, pk: str) -> dict[str, Any] | None:
    answer = stack.client("dynamodb").get_item(TableName="AccountsTable", Key={"pk": {"S": pk}})
    item: dict[str, Any] | None = answer.get("Item")
    return item


def _address(handle: str) -> str:
    return f"{handle}-{time.monotonic_ns()}@Example.com"


# --- sign-up, as the README walks it ---------------------------------------------------------


def test_sign_up_emails_a_code_that_confirm_checks_and_the_triggers_run(
    stack: Stack, accounts: Accounts
) -> None:
    address = _address("walker")
    client_id = accounts.pool.client_id

    # When a person signs up with curl: email as username, password, handle
    signed = _cognito(
        stack,
        "SignUp",
        {
            "ClientId": client_id,
            "Username": address,
            "Password": PASSWORD,
            "UserAttributes": [{"Name": "preferred_username", "Value": "walker"}],
        },
    )

    # Then Cognito's answer, and an email in the outbox that a mail client opens
    assert signed.status_code == 200, signed.text
    answer = signed.json()
    assert answer["UserConfirmed"] is False
    assert answer["CodeDeliveryDetails"] == {
        "Destination": "w***@E***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    sub = answer["UserSub"]
    (mail,) = [p for p in (stack.state_dir / "outbox").glob("*.eml") if address in p.name]
    text = mail.read_text()
    assert f"To: {address}" in text and "Subject: Your Relay code" in text
    code = latest_code(stack.state_dir, address)
    assert f"Your Relay verification code is {code}." in text
    stack.wait_for_output(f"[relay] email to {address}: Your Relay verification code is {code}.")

    # And PreSignUp got Cognito's event, with the sub the user then has
    event = json.loads(eventually(lambda: _item(stack, "PreSignUp_SignUp#walker"))["event"]["S"])
    assert event["version"] == "1"
    assert event["triggerSource"] == "PreSignUp_SignUp"
    assert event["region"] == "us-east-1"
    assert event["userPoolId"] == accounts.pool.pool_id == user_pool_id("UserPool")
    assert event["userName"] == sub
    assert event["callerContext"]["clientId"] == client_id
    assert event["request"]["userAttributes"] == {"preferred_username": "walker", "email": address}
    assert event["request"]["validationData"] is None
    assert event["response"] == {
        "autoConfirmUser": False,
        "autoVerifyEmail": False,
        "autoVerifyPhone": False,
    }
    assert _item(stack, f"profile#{sub}") is None  # not confirmed yet

    # When the code is wrong, then right
    wrong = _cognito(
        stack,
        "ConfirmSignUp",
        {"ClientId": client_id, "Username": address, "ConfirmationCode": "000000"},
    )
    right = _cognito(
        stack,
        "ConfirmSignUp",
        {"ClientId": client_id, "Username": address.lower(), "ConfirmationCode": code},
    )

    # Then the first is refused as Cognito refuses it, the second confirms, and
    # PostConfirmation made the profile under the sub
    assert _error(wrong) == (
        400,
        "CodeMismatchException",
        "Invalid verification code provided, please try again.",
    )
    assert right.status_code == 200 and right.json() == {}
    profile = _item(stack, f"profile#{sub}")
    assert profile is not None and profile["handle"]["S"] == "walker"
    posted = json.loads(profile["event"]["S"])
    assert posted["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert posted["request"]["userAttributes"]["sub"] == sub
    assert posted["request"]["userAttributes"]["email_verified"] == "true"
    assert posted["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    again = _cognito(
        stack,
        "ConfirmSignUp",
        {"ClientId": client_id, "Username": address, "ConfirmationCode": code},
    )
    assert _error(again)[1:] == (
        "NotAuthorizedException",
        "User cannot be confirmed. Current status is CONFIRMED",
    )


def test_a_refusing_pre_sign_up_refuses_the_sign_up_with_its_message(
    accounts: Accounts,
) -> None:
    address = _address("taken")

    code, message = _failure(lambda: accounts.sign_up("taken", address))

    assert code == "UserLambdaValidationException"
    assert message == (
        "PreSignUp failed with error handle_taken: the handle taken belongs to someone else."
    )
    gone = _failure(lambda: accounts.sign_in(User("taken", address, PASSWORD, "")))
    assert gone == ("NotAuthorizedException", "Incorrect username or password.")


def test_an_answer_pre_sign_up_cannot_read_is_invalid_lambda_response(
    accounts: Accounts,
) -> None:
    assert _failure(lambda: accounts.sign_up("garbled")) == (
        "InvalidLambdaResponseException",
        "Unrecognizable lambda output",
    )


def test_pre_sign_up_may_confirm_the_user_itself_and_post_confirmation_still_runs(
    stack: Stack, accounts: Accounts
) -> None:
    address = _address("autopilot")

    answer = accounts.cognito.sign_up(
        ClientId=accounts.pool.client_id,
        Username=address,
        Password=PASSWORD,
        UserAttributes=[{"Name": "preferred_username", "Value": "autopilot"}],
    )

    assert answer["UserConfirmed"] is True
    assert "CodeDeliveryDetails" not in answer
    assert not [p for p in (stack.state_dir / "outbox").glob("*.eml") if address in p.name]
    assert _item(stack, f"profile#{answer['UserSub']}") is not None
    tokens = accounts.sign_in(User("autopilot", address, PASSWORD, answer["UserSub"]))
    assert stack.http.get("/me", headers=bearer(tokens.access)).status_code == 200


def test_a_failing_post_confirmation_fails_the_call_but_the_user_is_confirmed(
    accounts: Accounts,
) -> None:
    user = accounts.sign_up("crash", confirm=False)

    failed = _failure(
        lambda: accounts.cognito.confirm_sign_up(
            ClientId=accounts.pool.client_id,
            Username=user.email,
            ConfirmationCode=latest_code(accounts.stack.state_dir, user.email),
        )
    )

    assert failed == (
        "UserLambdaValidationException",
        "PostConfirmation failed with error the profile store is down.",
    )
    assert accounts.sign_in(user).access


def test_the_pool_refuses_what_cognito_refuses(accounts: Accounts) -> None:
    user = accounts.sign_up("strict")
    pool = accounts.pool
    cognito = accounts.cognito

    def sign_up(username: str, password: str, handle: str | None = "strict2") -> Any:
        attributes = [] if handle is None else [{"Name": "preferred_username", "Value": handle}]
        return lambda: cognito.sign_up(
            ClientId=pool.client_id, Username=username, Password=password, UserAttributes=attributes
        )

    def sign_in(username: str, password: str, flow: str = "USER_PASSWORD_AUTH") -> Any:
        parameters = {"USERNAME": username, "PASSWORD": password, "SRP_A": "1"}
        return lambda: cognito.initiate_auth(
            ClientId=pool.client_id, AuthFlow=flow, AuthParameters=parameters
        )

    assert _failure(sign_up(user.email.upper(), PASSWORD)) == (
        "UsernameExistsException",
        "An account with the given email already exists.",
    )
    assert _failure(sign_up(_address("weak"), "short1A")) == (
        "InvalidPasswordException",
        "Password did not conform with policy: Password not long enough",
    )
    assert _failure(sign_up(_address("weak"), "no-digits-here-A")) == (
        "InvalidPasswordException",
        "Password did not conform with policy: Password must have numeric characters",
    )
    assert _failure(sign_up("not-an-email", PASSWORD)) == (
        "InvalidParameterException",
        "Username should be an email.",
    )
    assert _failure(sign_up(_address("nohandle"), PASSWORD, handle=None))[0] == (
        "InvalidParameterException"
    )
    hidden = ("NotAuthorizedException", "Incorrect username or password.")
    assert _failure(sign_in(_address("nobody"), PASSWORD)) == hidden
    assert _failure(sign_in(user.email, PASSWORD + "x")) == hidden
    unconfirmed = accounts.sign_up("pending", confirm=False)
    assert _failure(sign_in(unconfirmed.email, PASSWORD)) == (
        "UserNotConfirmedException",
        "User is not confirmed.",
    )
    srp = _failure(sign_in(user.email, PASSWORD, flow="USER_SRP_AUTH"))
    assert srp[0] == "InvalidParameterException" and "use USER_PASSWORD_AUTH" in srp[1]
    other_client = accounts.model.user_pool_clients["OtherClient"].id
    assert _failure(
        lambda: cognito.initiate_auth(
            ClientId=other_client,
            AuthFlow="USER_SRP_AUTH",
            AuthParameters={"USERNAME": user.email, "SRP_A": "1"},
        )
    ) == ("InvalidParameterException", "USER_SRP_AUTH flow not enabled for this client")


def test_a_resent_code_replaces_the_first(accounts: Accounts) -> None:
    user = accounts.sign_up("resend", confirm=False)
    first = latest_code(accounts.stack.state_dir, user.email)

    accounts.cognito.resend_confirmation_code(ClientId=accounts.pool.client_id, Username=user.email)
    second = latest_code(accounts.stack.state_dir, user.email)

    def confirm(code: str) -> Any:
        return lambda: accounts.cognito.confirm_sign_up(
            ClientId=accounts.pool.client_id, Username=user.email, ConfirmationCode=code
        )

    if first != second:
        assert _failure(confirm(first))[0] == "CodeMismatchException"
    confirm(second)()
    assert accounts.sign_in(user).access


def test_a_forgotten_password_is_reset_with_the_emailed_code(
    stack: Stack, accounts: Accounts
) -> None:
    user = accounts.sign_up("forgetful")

    sent = accounts.cognito.forgot_password(ClientId=accounts.pool.client_id, Username=user.email)
    code = latest_code(stack.state_dir, user.email)
    accounts.cognito.confirm_forgot_password(
        ClientId=accounts.pool.client_id,
        Username=user.email,
        ConfirmationCode=code,
        Password="A-New-Password-42",
    )

    assert sent["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert list((stack.state_dir / "outbox").glob("*password-reset.eml"))
    renewed = User(user.handle, user.email, "A-New-Password-42", user.sub)
    assert accounts.sign_in(renewed).access
    assert _failure(lambda: accounts.sign_in(user))[0] == "NotAuthorizedException"
    record = json.loads(eventually(lambda: _item(stack, f"profile#{user.sub}"))["event"]["S"])
    assert record["triggerSource"] == "PostConfirmation_ConfirmForgotPassword"
    unknown = accounts.cognito.forgot_password(
        ClientId=accounts.pool.client_id, Username=_address("ghost")
    )
    assert unknown["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"  # nothing tells


# --- sign-in, the token, sign-out ---------------------------------------------------------------


def test_an_access_token_reaches_the_function_with_api_gateways_claims(
    stack: Stack, accounts: Accounts
) -> None:
    user = accounts.sign_up("reader")
    tokens = accounts.sign_in(User(user.handle, user.email.upper(), user.password, user.sub))

    response = stack.http.get("/me", headers=bearer(tokens.access))

    assert response.status_code == 200
    body = response.json()
    jwt = body["authorizer"]["jwt"]
    assert jwt["scopes"] == ["aws.cognito.signin.user.admin"]
    claims = jwt["claims"]
    assert claims["sub"] == claims["username"] == user.sub
    assert claims["token_use"] == "access"
    assert claims["client_id"] == accounts.pool.client_id
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{accounts.pool.pool_id}"
    assert int(claims["exp"]) - int(claims["iat"]) == 3600  # the client's AccessTokenValidity
    env = body["env"]
    assert env["COGNITO_ENDPOINT"] == stack.info["cognito_url"]
    assert env["USER_POOL_ID"] == accounts.pool.pool_id
    assert env["COGNITO_ISSUER"] == claims["iss"]
    keys = httpx.get(env["COGNITO_JWKS_URL"], timeout=10).json()
    assert verify(tokens.access, KeySet(keys))[1]["sub"] == user.sub
    id_claims = verify(tokens.id, KeySet(keys))[1]
    assert id_claims["email"] == user.email and id_claims["email_verified"] is True
    assert id_claims["preferred_username"] == "reader"


def test_every_refused_token_gets_api_gateways_answer_and_never_the_function(
    stack: Stack, accounts: Accounts
) -> None:
    now = int(time.time())
    another_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sub = accounts.sign_up("victim").sub
    refused = {
        "a missing header": None,
        "expired": mint(accounts.claims(sub, exp=now - 5)),
        "tampered": mint(accounts.claims(sub))[:-4] + "AAAA",
        "alg none": mint(accounts.claims(sub), algorithm="none"),
        "another key": mint(accounts.claims(sub), key=another_key),
        "another issuer": mint(
            accounts.claims(sub, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Xx")
        ),
        "another client": mint(
            accounts.claims(sub, client_id=accounts.model.user_pool_clients["OtherClient"].id)
        ),
    }
    for kind, token in refused.items():
        headers = {} if token is None else bearer(token)

        response = stack.http.get("/me", headers=headers)

        assert response.status_code == 401, kind
        assert response.json() == {"message": "Unauthorized"}, kind
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer scope="aws.cognito.signin.user.admin"'), kind
        assert 'error="invalid_token"' in challenge, kind
    stack.wait_for_output('error_description="the token has expired"')


def test_an_id_token_is_refused_where_a_scope_is_required_and_accepted_elsewhere(
    stack: Stack, accounts: Accounts
) -> None:
    tokens = accounts.sign_in(accounts.sign_up("identity"))

    scoped = stack.http.get("/me", headers=bearer(tokens.id))
    unscoped = stack.http.get("/signed", headers={"Authorization": tokens.id})

    assert scoped.status_code == 403
    assert scoped.json() == {"message": "Forbidden"}
    assert 'error="insufficient_scope"' in scoped.headers["www-authenticate"]
    assert unscoped.status_code == 200
    assert unscoped.json()["authorizer"]["jwt"]["scopes"] is None


def test_routes_without_an_authorizer_and_with_a_lambda_one_still_work(stack: Stack) -> None:
    anyone = stack.http.get("/anyone")
    legacy = stack.http.get("/legacy", headers={"Authorization": "Bearer allow-u7"})

    assert anyone.status_code == 200 and anyone.json()["authorizer"] is None
    assert legacy.json()["authorizer"] == {
        "lambda": {
            "userId": "u7",
            "routeArn": "arn:aws:execute-api:us-east-1:123456789012:serverless/$default/GET/legacy",
            "identitySource": ["Bearer allow-u7"],
        }
    }


def test_groups_reach_the_token_and_the_function(stack: Stack, accounts: Accounts) -> None:
    user = accounts.sign_up("operator")
    accounts.cognito.admin_add_user_to_group(
        UserPoolId=accounts.pool.pool_id, Username=user.email, GroupName="operators"
    )

    tokens = accounts.sign_in(user)

    claims = stack.http.get("/me", headers=bearer(tokens.access)).json()["authorizer"]["jwt"]
    assert claims["claims"]["cognito:groups"] == "[operators]"


def test_sign_out_ends_the_sessions_for_cognito_not_for_api_gateway(
    stack: Stack, accounts: Accounts
) -> None:
    user = accounts.sign_up("leaver")
    tokens = accounts.sign_in(user)
    refreshed = accounts.cognito.initiate_auth(
        ClientId=accounts.pool.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens.refresh},
    )["AuthenticationResult"]
    assert "RefreshToken" not in refreshed

    accounts.cognito.global_sign_out(AccessToken=tokens.access)

    assert _failure(lambda: accounts.cognito.get_user(AccessToken=tokens.access)) == (
        "NotAuthorizedException",
        "Access Token has been revoked",
    )
    refresh = _failure(
        lambda: accounts.cognito.initiate_auth(
            ClientId=accounts.pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens.refresh},
        )
    )
    assert refresh == ("NotAuthorizedException", "Refresh Token has been revoked")
    # API Gateway checks signature and expiry only: signing out is the function's to honour.
    assert stack.http.get("/me", headers=bearer(tokens.access)).status_code == 200
    assert accounts.sign_in(user).access  # a new session


def test_a_user_deletes_themself(accounts: Accounts) -> None:
    user = accounts.sign_up("quitter")
    tokens = accounts.sign_in(user)

    accounts.cognito.delete_user(AccessToken=tokens.access)

    assert _failure(lambda: accounts.cognito.get_user(AccessToken=tokens.access))[0] == (
        "NotAuthorizedException"
    )
    assert _failure(
        lambda: accounts.cognito.admin_get_user(
            UserPoolId=accounts.pool.pool_id, Username=user.email
        )
    )[0] == ("UserNotFoundException")


def test_a_browser_may_call_the_endpoint_from_another_origin(stack: Stack) -> None:
    preflight = httpx.options(
        stack.info["cognito_url"],
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
        },
    )
    call = _cognito(stack, "SignUp", {"ClientId": "nope"})

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "x-amz-target" in preflight.headers["access-control-allow-headers"]
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert call.headers["access-control-allow-origin"] == "*"


# --- relay token ---------------------------------------------------------------------------------


def test_relay_token_finds_the_stack_and_signs_in_through_the_triggers(
    stack: Stack, accounts: Accounts
) -> None:
    # No --state-dir: the stack is found from the template it serves
    token = relay_token(stack, "tokenuser", "--operator")

    me = stack.http.get("/me", headers=bearer(token))
    assert me.status_code == 200
    claims = me.json()["authorizer"]["jwt"]["claims"]
    assert claims["cognito:groups"] == "[operators]"
    profile = _item(stack, f"profile#{claims['sub']}")
    assert profile is not None and profile["handle"]["S"] == "tokenuser"
    again = stack.http.get("/me", headers=bearer(relay_token(stack, "tokenuser")))
    assert again.json()["authorizer"]["jwt"]["claims"]["sub"] == claims["sub"]


def test_relay_token_says_why_a_trigger_refused(stack: Stack) -> None:
    made = relay("token", "taken", "--template", str(stack.template), cwd=stack.project)

    assert made.returncode == 1
    assert "PreSignUp failed with error handle_taken" in made.stderr


def test_relay_token_without_a_stack_for_the_template_says_what_to_pass(
    stack: Stack, tmp_path: Path
) -> None:
    lonely = tmp_path / "template.yaml"
    lonely.write_text((stack.project / "accounts.yaml").read_text())

    made = relay("token", "nobody", "--template", str(lonely), cwd=tmp_path)

    assert made.returncode == 2
    assert f"no `relay run` serves {lonely}" in made.stderr
    assert "--state-dir" in made.stderr
    assert made.stdout == ""


# --- state survives a kill -9 --------------------------------------------------------------------


def test_users_sessions_and_codes_survive_a_kill_and_a_stale_record_is_seen(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    state = tmp_path / "state"
    first = Stack(project, state, template="accounts.yaml")
    try:
        accounts = Accounts(first)
        user = accounts.sign_up("survivor")
        tokens = accounts.sign_in(user)
        pending = accounts.sign_up("later", confirm=False)
        code = latest_code(state, pending.email)
    finally:
        first.kill()

    # A record of the killed stack is left behind, and seen for what it is
    stale = relay("token", "survivor", "--template", str(first.template), cwd=project)
    assert stale.returncode == 2 and "no `relay run` serves" in stale.stderr

    second = Stack(project, state, template="accounts.yaml")
    try:
        accounts = Accounts(second)
        assert accounts.pool.pool_id == user_pool_id("UserPool")
        me = accounts.cognito.get_user(AccessToken=tokens.access)  # issued before the kill
        assert {a["Name"]: a["Value"] for a in me["UserAttributes"]}["sub"] == user.sub
        refreshed = accounts.cognito.initiate_auth(
            ClientId=accounts.pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens.refresh},
        )
        assert refreshed["AuthenticationResult"]["AccessToken"]
        assert second.http.get("/me", headers=bearer(tokens.access)).status_code == 200
        accounts.cognito.confirm_sign_up(
            ClientId=accounts.pool.client_id, Username=pending.email, ConfirmationCode=code
        )
        assert accounts.sign_in(pending).access
        assert PASSWORD not in (state / "journal.jsonl").read_text()
        token = relay_token(second, "newcomer")
        assert second.http.get("/me", headers=bearer(token)).status_code == 200
    finally:
        second.stop()

    # Without a stack, --state-dir signs in on that state (for a standalone relay invoke)
    offline = relay(
        "token", "offline", "--template", str(first.template), "--state-dir", str(state)
    )
    assert offline.returncode == 0, offline.stderr
    assert "no stack running" in offline.stderr
    third = Stack(project, state, template="accounts.yaml")
    try:
        assert third.http.get("/me", headers=bearer(offline.stdout.strip())).status_code == 200
    finally:
        third.stop()
