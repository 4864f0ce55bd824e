"""Identity: Relay's bearer tokens (HS256 JWTs) and who is calling.

The authorizer function verifies tokens with `verify`; `relay token` and the tests
mint them with `issue`. HTTP calls get `authorizer_context` (never a deny, see
there); a WebSocket connect gets `connect_policy`, which refuses a missing or bad
token before the socket opens, as DESIGN requires. The signing key comes from Secrets Manager on AWS
(`JWT_SECRET_ARN`) and from the environment locally (`JWT_SECRET`).

The key follows rotation without a cold start: it is kept for KEY_MAX_AGE_MS, and a
token whose signature fails with the kept key makes one early fetch (at most one per
REFETCH_EVERY_MS, so forged tokens cannot turn into a Secrets Manager bill) before it
is refused.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable

import jwt

from relay.platform.clock import Clock, SystemClock
from relay.platform.config import settings
from relay.platform.errors import Unauthorized

ALGORITHM = "HS256"
# As long as Powertools' own cache of the secret would keep it.
KEY_MAX_AGE_MS = 300_000
REFETCH_EVERY_MS = 10_000
# A user id becomes a DynamoDB key (links' owner index); keep it well inside its limits.
_USER_ID = re.compile(r"[^\x00-\x1f\x7f]{1,128}")


class SigningKey:
    """The token signing key, fetched when it is older than `max_age_ms` and, on demand,
    at most once per `refetch_every_ms`."""

    def __init__(
        self,
        fetch: Callable[[], str],
        clock: Clock | None = None,
        max_age_ms: int = KEY_MAX_AGE_MS,
        refetch_every_ms: int = REFETCH_EVERY_MS,
    ) -> None:
        self._fetch = fetch
        self._clock = clock or SystemClock()
        self._max_age_ms = max_age_ms
        self._refetch_every_ms = refetch_every_ms
        self._key: str | None = None
        self._fetched_ms = 0

    def current(self) -> str:
        if self._key is None or self._clock.now_ms() - self._fetched_ms >= self._max_age_ms:
            self._load()
        assert self._key is not None
        return self._key

    def refreshed(self) -> str | None:
        """A key fetched now, if it differs from the kept one and no fetch was made in the
        last `refetch_every_ms`; None otherwise."""
        if (
            self._key is not None
            and self._clock.now_ms() - self._fetched_ms < self._refetch_every_ms
        ):
            return None
        before = self._key
        self._load()
        return self._key if self._key != before else None

    def _load(self) -> None:
        self._key = self._fetch()
        self._fetched_ms = self._clock.now_ms()


def _fetch_signing_key() -> str:
    conf = settings()
    if conf.jwt_secret:
        return conf.jwt_secret
    if conf.jwt_secret_arn:
        # Only the authorizer reaches this; the import stays off every other cold start.
        from aws_lambda_powertools.utilities.parameters import get_secret

        # SigningKey decides how long a key is kept; Powertools' cache would only delay it.
        return str(get_secret(conf.jwt_secret_arn, force_fetch=True))
    raise RuntimeError("no token signing key: set JWT_SECRET or JWT_SECRET_ARN")


@functools.cache
def keys() -> SigningKey:
    return SigningKey(_fetch_signing_key)


def signing_key() -> str:
    return keys().current()


def issue(
    user_id: str, ttl_s: int = 86_400, *, key: str | None = None, now: int | None = None
) -> str:
    issued = int(time.time()) if now is None else now
    claims = {"sub": user_id, "iat": issued, "exp": issued + ttl_s}
    return jwt.encode(claims, key or signing_key(), algorithm=ALGORITHM)


def _decode(token: str, key: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        options={"require": ["sub", "exp"]},
    )
    return claims


def verify(token: str, *, key: str | None = None, signing: SigningKey | None = None) -> str:
    """The user id a token names; Unauthorized when it is malformed, forged or expired.

    Without `key`, the deployment's signing key (`signing`, for tests): a signature that
    fails with the kept key is checked once more with a freshly fetched one (rotation)."""
    source = signing or keys()
    try:
        try:
            claims = _decode(token, key if key is not None else source.current())
        except jwt.InvalidSignatureError:
            fresh = source.refreshed() if key is None else None
            if fresh is None:
                raise
            claims = _decode(token, fresh)
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("The token has expired.", code="token_expired") from error
    except (jwt.InvalidTokenError, UnicodeError) as error:
        # UnicodeError: a token with a character UTF-8 cannot encode (a lone surrogate).
        raise Unauthorized("The token is not valid.", code="invalid_token") from error
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
        raise Unauthorized("The token names no user.", code="invalid_token")
    return subject


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; Unauthorized for another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use Authorization: Bearer <token>.", code="invalid_token")
    return token.strip()


def authorizer_context(authorization: str | None) -> dict[str, str]:
    """What the authorizer hands API Gateway: never a deny, so the error keeps DESIGN's shape.

    An anonymous request gets `userId: ""`; a bad token gets `authError`, which the
    function turns into a 401 (relay.platform.http.caller).
    """
    try:
        token = bearer_token(authorization)
        user_id = verify(token) if token else ""
    except Unauthorized as error:
        return {"userId": "", "authError": error.code}
    return {"userId": user_id, "authError": ""}


class Refused(Exception):
    """Raised by an authorizer so that API Gateway answers 401: the message must be exactly
    "Unauthorized" (API Gateway's documented contract for Lambda authorizers)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def connect_policy(token: str | None, method_arn: str) -> dict[str, object]:
    """The IAM policy a WebSocket $connect authorizer answers for a valid token.

    Refused (a 401 on the upgrade) when the token is missing, malformed, forged or expired;
    the user id reaches every later event of the connection as
    `requestContext.authorizer.userId` (and `principalId`).
    """
    if not token:
        raise Refused
    try:
        user_id = verify(token)
    except Unauthorized:
        raise Refused from None
    return {
        "principalId": user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
            ],
        },
        "context": {"userId": user_id},
    }
