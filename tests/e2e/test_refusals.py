"""Every token DESIGN says is refused, refused through `relay run` with the real
template.yaml: on a route that requires sign-in (API Gateway's JWT authorizer: its own
401 body), on an optional-sign-in route (the Lambda authorizer: DESIGN's 401 body)
and on the chat's WebSocket connect (a refused upgrade). No input reaches a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import InvalidStatus

from relay.platform.cache import RedisGate
from relay.platform.sessions import Sessions
from relay_local.tokens import moto_key_set
from tests.support.accounts import Accounts, mint
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("GET", "/api/links")  # no Auth in the template: CognitoAuthorizer
OPTIONAL = ("POST", "/api/shorten")  # Auth: RelayAuthorizer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = os.environ["RELAY_E2E_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    running = Stack(ROOT, tmp_path_factory.mktemp("refusals-state"), env={"REDIS_URL": url})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def pool(stack: Stack) -> Accounts:
    return Accounts(stack)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "mallory"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _hs256_keyed_with_the_public_key(claims: dict[str, object]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    payload = _b64(json.dumps(claims).encode())
    pem = (
        moto_key_set()
        .key("dummy")
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _refused_tokens(pool: Accounts) -> dict[str, Callable[[], str]]:
    now = int(time.time())
    user = pool.sign_up(f"refused_{uuid.uuid4().hex[:8]}")
    tokens = pool.sign_in(user)
    return {
        "expired": lambda: mint(pool.claims(user.sub, iat=now - 7200, exp=now - 3600)),
        "tampered payload": lambda: _tampered(tokens.access),
        "alg none": lambda: mint(pool.claims(user.sub), algorithm="none"),
        "HS256 keyed with the public key": lambda: _hs256_keyed_with_the_public_key(
            pool.claims(user.sub)
        ),
        "another pool's": lambda: mint(
            pool.claims(user.sub, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x")
        ),
        "another client's": lambda: mint(pool.claims(user.sub, client_id="anotherclient")),
        "signed with another key": lambda: mint(
            pool.claims(user.sub),
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ),
        "a lone surrogate in a claim": lambda: mint(pool.claims("\ud800")),
        "an unknown kid": lambda: mint(pool.claims(user.sub), kid="not-the-pools"),
        "garbage": lambda: "garbage",
    }


CASES = [
    "expired",
    "tampered payload",
    "alg none",
    "HS256 keyed with the public key",
    "another pool's",
    "another client's",
    "signed with another key",
    "a lone surrogate in a claim",
    "an unknown kid",
    "garbage",
]


def _call(stack: Stack, route: tuple[str, str], token: str) -> httpx.Response:
    method, path = route
    body = {"longUrl": "https://example.com/refused"} if method == "POST" else None
    return stack.http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})


def _design_error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


def _upgrade_refused(stack: Stack, token: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        stack.ws("token=" + token)
    return int(refused.value.response.status_code)


@pytest.mark.parametrize("case", CASES)
def test_a_bad_token_is_refused_everywhere(stack: Stack, pool: Accounts, case: str) -> None:
    token = _refused_tokens(pool)[case]()

    required = _call(stack, REQUIRED, token)
    if case == "a lone surrogate in a claim":
        # Correctly signed, so API Gateway passes it on (the surrogate as U+FFFD, as Go
        # decodes JSON): Relay refuses the user id it names.
        assert (required.status_code, _design_error(required)) == (401, "invalid_token")
    else:
        assert (required.status_code, required.json()) == (401, {"message": "Unauthorized"})
    optional = _call(stack, OPTIONAL, token)
    assert optional.status_code == 401, optional.text
    expected = "token_expired" if case == "expired" else "invalid_token"
    assert _design_error(optional) == expected
    assert _upgrade_refused(stack, token) == 401


def test_an_id_token_is_refused_where_an_access_token_belongs(stack: Stack, pool: Accounts) -> None:
    user = pool.sign_up("id_token_user")
    id_token = pool.sign_in(user).id

    # API Gateway: the ID token's `aud` is the app client, but it has no scope (403).
    required = _call(stack, REQUIRED, id_token)
    assert (required.status_code, required.json()) == (403, {"message": "Forbidden"})
    optional = _call(stack, OPTIONAL, id_token)
    assert (optional.status_code, _design_error(optional)) == (401, "invalid_token")
    assert _upgrade_refused(stack, id_token) == 401


def test_a_signed_out_sessions_token_is_refused_everywhere(stack: Stack, pool: Accounts) -> None:
    user = pool.sign_up("signed_out_user")
    token = pool.sign_in(user).access
    assert _call(stack, REQUIRED, token).status_code == 200
    with stack.ws("token=" + token):
        pass

    marks = Sessions(redis.Redis.from_url(os.environ["RELAY_E2E_REDIS_URL"]), RedisGate())
    assert marks.end(user.sub, int(time.time()))

    required = _call(stack, REQUIRED, token)
    assert (required.status_code, _design_error(required)) == (401, "session_ended")
    optional = _call(stack, OPTIONAL, token)
    assert (optional.status_code, _design_error(optional)) == (401, "session_ended")
    assert _upgrade_refused(stack, token) == 401


def test_no_token_where_sign_in_is_required_and_anonymous_where_it_is_optional(
    stack: Stack,
) -> None:
    required = stack.http.get("/api/links")
    assert (required.status_code, required.json()) == (401, {"message": "Unauthorized"})
    anonymous = stack.http.post("/api/shorten", json={"longUrl": "https://example.com/anon"})
    assert anonymous.status_code == 201 and anonymous.json()["owner"] is None
    with pytest.raises(InvalidStatus) as refused:
        stack.ws()
    assert refused.value.response.status_code == 401
