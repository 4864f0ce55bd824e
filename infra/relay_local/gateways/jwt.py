"""An HTTP API's JWT authorizer, checked as API Gateway checks it: no function runs.

`authorize` follows API Gateway's documented order: the token from the identity
source (bare or after `Bearer `), decoded; an RSA algorithm, a `kid` in the
issuer's key set and a valid signature; `iss` equal to the configured issuer;
`aud`, or `client_id` when there is no `aud`, one of the audience entries; `exp`
after now, `nbf` and `iat` not after it; and, when the route names
AuthorizationScopes, at least one of them in the token's `scope` (or `scp`).
A refusal is API Gateway's own answer, which an HTTP API cannot reshape: 401
`{"message":"Unauthorized"}` with a `www-authenticate` challenge saying why, or
403 `{"message":"Forbidden"}` for a missing scope. The one description AWS
publishes ("the token does not have a valid audience") is used verbatim; the
others follow its wording.

An allowed request carries the claims as API Gateway renders them for payload
2.0: every value a string (numbers in decimal, lists as `[a b]`, as its Go
formatting prints them) under `requestContext.authorizer.jwt`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relay_local.template.model import JwtAuthorizerSpec
from relay_local.tokens import KeySet, TokenRefused, check_times, verify


@dataclass(frozen=True)
class JwtDecision:
    status: int  # 200 allowed; 401 refused; 403 a required scope is missing
    challenge: str = ""  # the www-authenticate header of a refusal
    claims: dict[str, str] = field(default_factory=dict)
    scopes: list[str] | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200

    @property
    def context(self) -> dict[str, Any]:
        """`requestContext.authorizer` of the integration's event."""
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _refusal(description: str, scopes: tuple[str, ...]) -> JwtDecision:
    challenge = (
        f'Bearer scope="{_quoted(" ".join(scopes))}" error="invalid_token"'
        f' error_description="{_quoted(description)}"'
    )
    return JwtDecision(401, challenge)


def token_of(spec: JwtAuthorizerSpec, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The identity source's value, without a `Bearer ` prefix; "" when absent."""
    if spec.identity_header is not None:
        value = headers.get(spec.identity_header, "")
    else:
        value = query.get(spec.identity_query or "", "")
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def authorize(
    spec: JwtAuthorizerSpec,
    route_scopes: tuple[str, ...],
    token: str,
    keys: KeySet,
    now: float,
) -> JwtDecision:
    if not token:
        return _refusal("the token is missing", route_scopes)
    try:
        claims = _signed(token, keys)
        if claims.get("iss") != spec.issuer:
            raise TokenRefused("the token does not have a valid issuer")
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        entries = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(entry, str) and entry in spec.audience for entry in entries):
            raise TokenRefused("the token does not have a valid audience")
        check_times(claims, now)
    except TokenRefused as refused:
        return _refusal(str(refused), route_scopes)
    granted = _scopes(claims)
    if route_scopes and not set(route_scopes) & set(granted):
        wanted = " ".join(route_scopes)
        challenge = (
            f'Bearer scope="{_quoted(wanted)}" error="insufficient_scope"'
            f' error_description="expected scopes: [{_quoted(wanted)}]"'
        )
        return JwtDecision(403, challenge)
    return JwtDecision(200, claims=render_claims(claims), scopes=granted if route_scopes else None)


@functools.lru_cache(maxsize=4096)
def _checked(token: str, keys: KeySet) -> dict[str, Any] | str:
    try:
        return verify(token, keys)[1]
    except TokenRefused as refused:
        return str(refused)


def _signed(token: str, keys: KeySet) -> Mapping[str, Any]:
    """The claims of a token one of `keys` signed. A client sends the same token many
    times: its signature is checked once (the claims' times at every request)."""
    checked = _checked(token, keys)
    if isinstance(checked, str):
        raise TokenRefused(checked)
    return checked


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def render_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as the integration gets them: every value a string (API Gateway's rendering)."""
    return {_render(name): _render(value) for name, value in claims.items()}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _render(value: Any) -> str:
    if isinstance(value, str):
        # API Gateway decodes JSON as Go does: a lone surrogate becomes U+FFFD.
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(_render(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{_render(key)}:{_render(value[key])}" for key in sorted(value))
        return f"map[{inner}]"
    if value is None:
        return ""
    return json.dumps(value)
