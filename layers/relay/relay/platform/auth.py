"""Identity: Relay's bearer tokens (HS256 JWTs) and who is calling.

The authorizer function verifies tokens with `verify`; `relay token` and the tests
mint them with `issue`. HTTP calls get `authorizer_context` (never a deny, see
there); a WebSocket connect gets `connect_policy`, which refuses a missing or bad
token before the socket opens, as DESIGN requires. The signing key comes from Secrets Manager on AWS
(`JWT_SECRET_ARN`) and from the environment locally (`JWT_SECRET`).
"""

from __future__ import annotations

import functools
import time

import jwt

from relay.platform.config import settings
from relay.platform.errors import Unauthorized

ALGORITHM = "HS256"


@functools.cache
def signing_key() -> str:
    conf = settings()
    if conf.jwt_secret:
        return conf.jwt_secret
    if conf.jwt_secret_arn:
        # Only the authorizer reaches this; the import stays off every other cold start.
        from aws_lambda_powertools.utilities.parameters import get_secret

        return str(get_secret(conf.jwt_secret_arn, max_age=300))
    raise RuntimeError("no token signing key: set JWT_SECRET or JWT_SECRET_ARN")


def issue(
    user_id: str, ttl_s: int = 86_400, *, key: str | None = None, now: int | None = None
) -> str:
    issued = int(time.time()) if now is None else now
    claims = {"sub": user_id, "iat": issued, "exp": issued + ttl_s}
    return jwt.encode(claims, key or signing_key(), algorithm=ALGORITHM)


def verify(token: str, *, key: str | None = None) -> str:
    """The user id a token names; Unauthorized when it is malformed, forged or expired."""
    options = {"require": ["sub", "exp"]}
    try:
        claims = jwt.decode(
            token,
            key or signing_key(),
            algorithms=[ALGORITHM],
            options=options,  # type: ignore[arg-type]
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("The token has expired.", code="token_expired") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized("The token is not valid.", code="invalid_token") from error
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
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
