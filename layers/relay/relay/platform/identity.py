"""Who is calling, read from what the route's authorizer passed on. Kept apart from
token verification (relay.platform.auth) so that functions that only read the
authorizer's verdict never import PyJWT (and the cryptography it brings).

Two authorizers run in front of Relay's HTTP routes (DESIGN, "Identity and accounts"):
- API Gateway's JWT authorizer on routes that require sign-in: the token's claims under
  `requestContext.authorizer.jwt.claims`, every value rendered as a string (`iat` in
  decimal, `cognito:groups` as `[a b]`);
- the Lambda authorizer on optional-sign-in routes: `requestContext.authorizer.lambda`
  with `userId` ("" when anonymous), `authError`, `issuedAt` and `groups` (spaces).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relay.platform.errors import Unauthorized

OPERATORS = "operators"
AUTH_ERRORS = {
    "token_expired": "The token has expired.",
    "invalid_token": "The token is not valid.",
}
# A user id becomes a DynamoDB key (links' owner index); Cognito's are UUIDs.
# U+FFFD and surrogates: what API Gateway passes on for text that was not text.
USER_ID = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff\ufffd]{1,128}")
# Group names as Cognito allows them.
GROUP_NAME = re.compile(r"[\w.@+=,-]{1,128}")


@dataclass(frozen=True)
class Caller:
    """A user id (the token's `sub`) when a valid token came with the request, when the
    token was issued, the user's Cognito groups, and the source IP."""

    user_id: str | None
    source_ip: str
    groups: tuple[str, ...] = ()
    issued_at: int | None = None

    @property
    def is_operator(self) -> bool:
        return self.user_id is not None and OPERATORS in self.groups

    def require_user(self) -> str:
        if self.user_id is None:
            raise Unauthorized("This needs a bearer token: Authorization: Bearer <token>.")
        return self.user_id


def caller_of(authorizer: Mapping[str, Any] | None, source_ip: str) -> Caller:
    """The caller an HTTP API event's `requestContext.authorizer` names, whichever
    authorizer ran; Unauthorized for a bad token the Lambda authorizer reported, or
    claims no sane token carries."""
    authorizer = authorizer or {}
    jwt = authorizer.get("jwt")
    if isinstance(jwt, Mapping):
        return _from_claims(jwt.get("claims") or {}, source_ip)
    context = authorizer.get("lambda")
    if not isinstance(context, Mapping):
        return Caller(None, source_ip)
    auth_error = str(context.get("authError") or "")
    if auth_error:
        code = auth_error if auth_error in AUTH_ERRORS else "invalid_token"
        raise Unauthorized(AUTH_ERRORS[code], code=code)
    user_id = context.get("userId") or None
    if user_id is None:
        return Caller(None, source_ip)
    return Caller(
        _user_id(user_id),
        source_ip,
        _groups(str(context.get("groups") or "").split()),
        _issued_at(context.get("issuedAt")),
    )


def _from_claims(claims: Mapping[str, Any], source_ip: str) -> Caller:
    # API Gateway checked signature, issuer, audience (or client_id), times and scope;
    # an ID token has an `aud` too, so the token's use is Relay's to check.
    if claims.get("token_use", "access") != "access":
        raise Unauthorized("An access token is needed here, not an ID token.", code="invalid_token")
    rendered = str(claims.get("cognito:groups") or "")
    groups = rendered[1:-1].split() if rendered.startswith("[") else rendered.split()
    return Caller(
        _user_id(claims.get("sub")),
        source_ip,
        _groups(groups),
        _issued_at(claims.get("iat")),
    )


def _user_id(value: Any) -> str:
    if not isinstance(value, str) or not USER_ID.fullmatch(value):
        raise Unauthorized("The token names no user.", code="invalid_token")
    try:
        value.encode("utf-8")
    except UnicodeError:
        raise Unauthorized("The token names no user.", code="invalid_token") from None
    return value


def _groups(names: list[str]) -> tuple[str, ...]:
    return tuple(name for name in names if GROUP_NAME.fullmatch(name))


def _issued_at(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 16 else None
