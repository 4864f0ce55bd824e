"""The local stack's tokens: user pools' RS256 tokens checked against a key set, and the
HS256 secret of templates that still sign their own.

A user pool's tokens are made by moto with the key bundled in moto
(`cognitoidp/resources/jwks-private.json`, kid `dummy`); its public half is the
pool's JWKS, served by local AWS at `/{poolId}/.well-known/jwks.json`. `verify`
checks a token's header and signature against such a key set the way API
Gateway's JWT authorizer does (RSA algorithms only, the `kid` must be in the set)
and leaves the claims to the caller, which checks the ones its service checks.

A template whose functions read `JWT_SECRET_ARN` (the HS256 scheme Relay used
before its user pool) gets a random secret from the state dir as `JWT_SECRET`,
created once and readable only by its owner; `make_token` signs with it.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RSA_ALGORITHMS = ("RS256", "RS384", "RS512")


class TokenRefused(Exception):
    """A token that cannot be trusted; the message says why, as API Gateway words it."""


class KeySet:
    """A JSON Web Key Set: RSA public keys by `kid`."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        from jwt.algorithms import RSAAlgorithm

        self.document = dict(document)
        self._keys: dict[str, Any] = {}
        for key in document.get("keys") or []:
            if isinstance(key, dict) and key.get("kty") == "RSA" and "kid" in key:
                self._keys[str(key["kid"])] = RSAAlgorithm.from_jwk(json.dumps(key))

    def key(self, kid: Any) -> Any | None:
        return self._keys.get(str(kid)) if isinstance(kid, str) else None


@functools.cache
def moto_key_set() -> KeySet:
    """The public keys of every local user pool (moto signs all of them with one key)."""
    from moto.utilities.utils import load_resource

    return KeySet(load_resource("cognitoidp/resources/jwks-public.json"))


def moto_private_jwk() -> dict[str, Any]:
    """The key moto signs local user pools' tokens with (for tools that make test tokens)."""
    from moto.utilities.utils import load_resource

    key: dict[str, Any] = load_resource("cognitoidp/resources/jwks-private.json")
    return key


def verify(token: str, keys: KeySet) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token whose RSA signature one of `keys` makes;
    raises TokenRefused otherwise. Time, issuer and audience are the caller's to check."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused("the token is not a valid JWT") from None
    algorithm = header.get("alg")
    if algorithm not in RSA_ALGORITHMS:
        raise TokenRefused(f"the signing method {algorithm} is not supported")
    key = keys.key(header.get("kid"))
    if key is None:
        raise TokenRefused("the token's key id is not in the issuer's key set")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRefused("the token's signature is invalid") from None
    except jwt.PyJWTError:
        raise TokenRefused("the token is not a valid JWT") from None
    return header, claims


def check_times(claims: Mapping[str, Any], now: float) -> None:
    """`exp` after now, `nbf` and `iat` not after it (no leeway, as API Gateway)."""
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool) or expires <= now:
        raise TokenRefused("the token has expired")
    for claim, description in _NOT_BEFORE:
        value = claims.get(claim)
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value > now:
            raise TokenRefused(description)


_NOT_BEFORE = (("nbf", "the token is not valid yet"), ("iat", "the token was issued in the future"))


# --- the HS256 scheme of templates that still sign their own tokens ----------------------


def jwt_secret(state_dir: Path) -> str:
    path = state_dir / "jwt-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two commands starting together must not each write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(secret)
    return secret


def make_token(state_dir: Path, user: str, ttl_seconds: int) -> str:
    import jwt  # only here: every worker start reads the secret, few make tokens

    now = int(time.time())
    claims = {"sub": user, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, jwt_secret(state_dir), algorithm="HS256")
