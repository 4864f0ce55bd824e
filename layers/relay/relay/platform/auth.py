"""Verifying Cognito access tokens where API Gateway's JWT authorizer does not run.

Routes that require sign-in never reach Relay code with a bad token: API Gateway's
own JWT authorizer refuses it. The Lambda authorizer (functions/authorizer) verifies
the same tokens for the optional-sign-in routes and for the WebSocket `$connect`,
with `verify`: RS256 only, signed by a key of the user pool's JWKS, issued by the
pool (`iss`), for the app client (`client_id`), an access token (`token_use`), not
expired, naming a sane `sub`.

The key set is fetched once per execution environment, on first use. A token whose
`kid` the kept set lacks (Cognito rotated its keys) makes one fetch, at most one per
REFETCH_EVERY_MS: a forged `kid` cannot turn into a fetch per request. A token that
passed is kept with the key set (at most VERIFIED_KEPT of them): the same client's next
request with it costs a dictionary lookup and the expiry check, not an RSA verify.

PyJWT and cryptography load on the first token only: an anonymous request, and every
function that reads the authorizer's verdict (relay.platform.identity), import neither.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from relay.platform.clock import Clock, SystemClock
from relay.platform.config import settings
from relay.platform.errors import Unauthorized
from relay.platform.identity import GROUP_NAME, USER_ID

ALGORITHM = "RS256"
REFETCH_EVERY_MS = 300_000
RETRY_EVERY_MS = 10_000
VERIFIED_KEPT = 1024
FETCH_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Pool:
    """The user pool whose access tokens are accepted, and the app client they are for."""

    region: str
    pool_id: str
    client_id: str
    jwks_url: str = ""  # empty: Cognito's own, derived from region and pool

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def key_set_url(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


@functools.cache
def pool() -> Pool:
    conf = settings()
    if not conf.user_pool_id or not conf.user_pool_client_id:
        raise RuntimeError("no user pool: set USER_POOL_ID and USER_POOL_CLIENT_ID")
    return Pool(conf.aws_region, conf.user_pool_id, conf.user_pool_client_id, conf.cognito_jwks_url)


@dataclass(frozen=True)
class Identity:
    """What a verified access token says: who, when it was issued, their groups."""

    sub: str
    issued_at: int
    groups: tuple[str, ...] = ()


def fetch_key_set(url: str) -> Mapping[str, Any]:
    import urllib.request  # only on a cold start's first token

    if not url.startswith(("https://", "http://")):
        raise RuntimeError(f"the key set's URL must be http(s): {url}")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
        document: Mapping[str, Any] = json.loads(response.read())
    return document


class KeySet:
    """The pool's public keys by `kid`: fetched on first use, and again for an unknown
    `kid` at most once per `refetch_every_ms` (after a failed fetch, once per
    `retry_every_ms`: Cognito unreachable on a cold start must not last minutes)."""

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        clock: Clock | None = None,
        refetch_every_ms: int = REFETCH_EVERY_MS,
        retry_every_ms: int = RETRY_EVERY_MS,
    ) -> None:
        self._fetch = fetch
        self._clock = clock or SystemClock()
        self._refetch_every_ms = refetch_every_ms
        self._retry_every_ms = retry_every_ms
        self._keys: dict[str, Any] = {}
        self._next_fetch_ms: int | None = None  # None: never fetched
        self.fetches = 0
        # Tokens whose signature and claims were checked with these keys: a client sends
        # one token many times, and only its expiry changes between them.
        self.verified: dict[tuple[str, Pool], tuple[Identity, int]] = {}

    def remember(self, token: str, accepted: Pool, identity: Identity, expires_s: int) -> None:
        if len(self.verified) >= VERIFIED_KEPT:
            self.verified.clear()
        self.verified[(token, accepted)] = (identity, expires_s)

    def key(self, kid: str) -> Any | None:
        if kid not in self._keys and (
            self._next_fetch_ms is None or self._clock.now_ms() >= self._next_fetch_ms
        ):
            self._load()
        return self._keys.get(kid)

    def _load(self) -> None:
        from jwt.algorithms import RSAAlgorithm

        self.fetches += 1
        now_ms = self._clock.now_ms()
        try:
            document = self._fetch()
            keys = {
                jwk["kid"]: RSAAlgorithm.from_jwk(json.dumps(jwk))
                for jwk in document.get("keys") or []
                if isinstance(jwk, dict)
                and jwk.get("kty") == "RSA"
                and isinstance(jwk.get("kid"), str)
            }
        except Exception:  # noqa: BLE001 - unreachable or malformed: keep what we had
            self._next_fetch_ms = now_ms + self._retry_every_ms
            return
        self._keys = keys
        self._next_fetch_ms = now_ms + self._refetch_every_ms


@functools.cache
def keys() -> KeySet:
    """The execution environment's one key set, for `pool()`."""
    url = pool().key_set_url
    return KeySet(lambda: fetch_key_set(url))


def _invalid(message: str = "The token is not valid.") -> Unauthorized:
    return Unauthorized(message, code="invalid_token")


def _whole(claims: Mapping[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid()
    return value


def _header(token: str) -> dict[str, Any]:
    """The token's header, read only for its `kid` and `alg` (PyJWT's decode checks the
    whole token after; its own header reader would parse every segment twice)."""
    segment = token.split(".", 1)[0]
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    header = json.loads(data)
    if not isinstance(header, dict):
        raise ValueError("the token's header is not an object")
    return header


def verify(
    token: str,
    *,
    accepted: Pool | None = None,
    key_set: KeySet | None = None,
    clock: Clock | None = None,
) -> Identity:
    """The identity a Cognito access token names; Unauthorized (token_expired or
    invalid_token) for anything else. Defaults: this deployment's pool and key set."""
    import jwt

    accepted = accepted or pool()
    key_set = key_set or keys()
    now_s = (clock or SystemClock()).now_ms() // 1000
    known = key_set.verified.get((token, accepted))
    if known is not None:
        if known[1] <= now_s:
            raise Unauthorized("The token has expired.", code="token_expired")
        return known[0]
    try:
        token.encode("ascii")
        header = _header(token)
        if header.get("alg") != ALGORITHM:  # no "none", no HS256 keyed with the public key
            raise _invalid()
        kid = header.get("kid")
        key = key_set.key(kid) if isinstance(kid, str) else None
        if key is None:
            raise _invalid()
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=accepted.issuer,
            # Times are checked below against the injectable clock; an access token has
            # no `aud` (an ID token has, and is refused by its token_use).
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["iss", "exp", "iat", "sub"],
            },
        )
        # A lone surrogate in any claim: text no store or response can carry.
        json.dumps(claims, ensure_ascii=False).encode("utf-8")
    except (jwt.InvalidTokenError, UnicodeError, ValueError, TypeError, binascii.Error) as error:
        raise _invalid() from error
    if claims.get("token_use") != "access":
        raise _invalid("An access token is needed here, not an ID token.")
    if claims.get("client_id") != accepted.client_id:
        raise _invalid()
    if _whole(claims, "exp") <= now_s:
        raise Unauthorized("The token has expired.", code="token_expired")
    issued_at = _whole(claims, "iat")
    if issued_at > now_s + 60:
        raise _invalid()
    subject = claims.get("sub")
    if not isinstance(subject, str) or not USER_ID.fullmatch(subject):
        raise _invalid("The token names no user.")
    identity = Identity(subject, issued_at, groups_of(claims.get("cognito:groups")))
    key_set.remember(token, accepted, identity, claims["exp"])
    return identity


def groups_of(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(g for g in value if isinstance(g, str) and GROUP_NAME.fullmatch(g))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; Unauthorized for another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use Authorization: Bearer <token>.", code="invalid_token")
    return token.strip()


def authorizer_context(authorization: str | None) -> dict[str, str]:
    """What the Lambda authorizer hands an optional-sign-in route: never a deny, so the
    error keeps DESIGN's shape. An anonymous request gets `userId: ""`; a bad token gets
    `authError`, which the function turns into a 401 (relay.platform.http.caller)."""
    try:
        token = bearer_token(authorization)
        if not token:
            return {"userId": "", "authError": "", "issuedAt": "", "groups": ""}
        identity = verify(token)
    except Unauthorized as error:
        return {"userId": "", "authError": error.code, "issuedAt": "", "groups": ""}
    return _context(identity) | {"authError": ""}


def _context(identity: Identity) -> dict[str, str]:
    # Strings only: API Gateway hands WebSocket events the context as strings anyway.
    return {
        "userId": identity.sub,
        "issuedAt": str(identity.issued_at),
        "groups": " ".join(identity.groups),
    }


class Refused(Exception):
    """Raised by an authorizer so that API Gateway answers 401: the message must be exactly
    "Unauthorized" (API Gateway's documented contract for Lambda authorizers)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def connect_policy(token: str | None, method_arn: str) -> dict[str, object]:
    """The IAM policy a WebSocket $connect authorizer answers for a valid access token.

    Refused (a 401 on the upgrade) when the token is missing or not valid; the
    user id reaches every later event of the connection as
    `requestContext.authorizer.userId` (and `principalId`), with `issuedAt` for the
    connect function's signed-out check (it can reach Redis, this function cannot).
    """
    if not token:
        raise Refused
    try:
        identity = verify(token)
    except Unauthorized:
        raise Refused from None
    return {
        "principalId": identity.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
            ],
        },
        "context": _context(identity),
    }
