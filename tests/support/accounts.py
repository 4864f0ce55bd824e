"""Accounts for the tests: people signed up through a running stack's user pool the way a
person signs up, and tokens made to order for the refusals.

- `Accounts(stack)`: boto3's cognito-idp client at the stack's Cognito endpoint, and the
  template's pool and app client; `sign_up` (SignUp, the code from the outbox,
  ConfirmSignUp: the triggers run) and `sign_in` (USER_PASSWORD_AUTH).
- `relay_token(stack, handle)`: what `relay token HANDLE` prints.
- `latest_code(state_dir, email)`: the code in the newest email to that address.
- `claims(...)` and `mint(...)`: a token shaped as Cognito makes it, signed with the key
  moto signs local pools' tokens with, or with another key, or none, to be refused.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from relay_local.accounts import Pool, pool_of
from relay_local.template.build import build_model
from relay_local.tokens import moto_private_jwk
from tests.support.stack import Stack, relay

PASSWORD = "Correct-Horse-Battery-9"
ADMIN_SCOPE = "aws.cognito.signin.user.admin"


@dataclass(frozen=True)
class User:
    handle: str
    email: str
    password: str
    sub: str


@dataclass(frozen=True)
class Tokens:
    access: str
    id: str
    refresh: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def latest_code(state_dir: Path, address: str) -> str:
    """The six-digit code of the newest email to `address` in the stack's outbox."""
    outbox = state_dir / "outbox"
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(message["To"]).lower() != address.lower():
            continue
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        found = re.search(r"\b(\d{6})\b", str(text))
        if found:
            return found.group(1)
    raise AssertionError(f"no code for {address} in {outbox}")


class Accounts:
    """The user pool of a running stack, spoken to as clients speak to Cognito."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.model = model = build_model(stack.template, "http://127.0.0.1:1")
        pool = pool_of(model)
        assert pool is not None, f"{stack.template} has no user pool"
        self.pool: Pool = pool
        self.cognito = boto3.client(
            "cognito-idp",
            endpoint_url=stack.info["cognito_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def sign_up(
        self,
        handle: str,
        address: str | None = None,
        password: str = PASSWORD,
        confirm: bool = True,
    ) -> User:
        address = address or f"{handle}-{uuid.uuid4().hex[:8]}@example.com"
        answer = self.cognito.sign_up(
            ClientId=self.pool.client_id,
            Username=address,
            Password=password,
            UserAttributes=[{"Name": "preferred_username", "Value": handle}],
        )
        if confirm and not answer["UserConfirmed"]:
            self.cognito.confirm_sign_up(
                ClientId=self.pool.client_id,
                Username=address,
                ConfirmationCode=latest_code(self.stack.state_dir, address),
            )
        return User(handle, address, password, answer["UserSub"])

    def sign_in(self, user: User) -> Tokens:
        result = self.cognito.initiate_auth(
            ClientId=self.pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.email, "PASSWORD": user.password},
        )["AuthenticationResult"]
        return Tokens(result["AccessToken"], result["IdToken"], result["RefreshToken"])

    def claims(self, sub: str = "", **changes: Any) -> dict[str, Any]:
        return claims(self.pool.pool_id, self.pool.client_id, sub or str(uuid.uuid4()), **changes)


def relay_token(stack: Stack, handle: str, *options: str) -> str:
    """`relay token HANDLE` run from the stack's project, as a person runs it."""
    made = relay("token", handle, "--template", str(stack.template), *options, cwd=stack.project)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def claims(
    pool_id: str,
    client_id: str,
    sub: str,
    /,
    token_use: str = "access",  # noqa: S107 - a claim's value
    groups: tuple[str, ...] = (),
    lifetime_s: int = 3600,
    **changes: Any,
) -> dict[str, Any]:
    """Claims as Cognito puts them in an access (or ID) token; `changes` override any."""
    now = int(time.time())
    origin = str(uuid.uuid4())
    made: dict[str, Any] = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
        "sub": sub,
        "token_use": token_use,
        "iat": now,
        "auth_time": now,
        "exp": now + lifetime_s,
        "jti": str(uuid.uuid4()),
        "origin_jti": origin,
    }
    if token_use == "access":
        made.update(client_id=client_id, scope=ADMIN_SCOPE, username=sub)
    else:
        made.update(aud=client_id, **{"cognito:username": sub})
    if groups:
        made["cognito:groups"] = list(groups)
    made.update(changes)
    return made


def mint(
    claims: dict[str, Any], key: Any = None, algorithm: str = "RS256", kid: str = "dummy"
) -> str:
    """A token of these claims, signed with moto's key (the local pools' key) unless `key`
    (a private key) is given; `algorithm="none"` makes an unsigned one."""
    import jwt
    from jwt.algorithms import RSAAlgorithm

    if algorithm == "none":
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."
    signing_key: Any = (
        key if key is not None else RSAAlgorithm.from_jwk(json.dumps(moto_private_jwk()))
    )
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sub_of(token: str) -> str:
    """The `sub` a token names (read, not verified): the user id storage keys on."""
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


_SIGNED_IN: dict[tuple[int, str], tuple[str, str]] = {}
_POOLS: dict[int, Accounts] = {}


def signed_in(stack: Stack, handle: str) -> tuple[str, str]:
    """(access token, sub) of the stack's user with this handle, signed up (as a person
    signs up) the first time it is asked for; kept for the stack's life."""
    key = (id(stack), handle)
    if key not in _SIGNED_IN:
        pool = _POOLS.get(id(stack))
        if pool is None:
            pool = _POOLS[id(stack)] = Accounts(stack)
        user = pool.sign_up(handle)
        _SIGNED_IN[key] = (pool.sign_in(user).access, user.sub)
    return _SIGNED_IN[key]
