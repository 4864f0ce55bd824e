"""The HTTP API's JWT authorizer, checked piece by piece: every way a token is refused, in
API Gateway's order and words, and the claims as the function gets them.

The same refusals over HTTP against a running stack are in test_accounts.py."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from relay_local.gateways.jwt import authorize, render_claims, token_of
from relay_local.template.model import JwtAuthorizerSpec
from relay_local.tokens import moto_key_set
from tests.support.accounts import ADMIN_SCOPE, claims, mint

POOL = "us-east-1_AbCdEfGhI"
CLIENT = "4gh8ds9q2abcdefghijklmnopq"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
SPEC = JwtAuthorizerSpec(
    name="CognitoJwt",
    api_id="ServerlessHttpApi",
    issuer=ISSUER,
    audience=(CLIENT,),
    identity_header="authorization",
    identity_query=None,
)
SCOPED = (ADMIN_SCOPE,)
NOW = time.time()
LATER = int(NOW) + 10 * 365 * 86400  # in the future however long the run takes


def _access(**changes: Any) -> dict[str, Any]:
    return claims(POOL, CLIENT, "5b5c3f2e-0000-4000-8000-000000000001", **changes)


def _check(token: str, scopes: tuple[str, ...] = SCOPED, now: float | None = None):
    return authorize(SPEC, scopes, token, moto_key_set(), time.time() if now is None else now)


def _tampered() -> str:
    header, payload, signature = mint(_access()).split(".")
    import base64
    import json

    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


_ANOTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

REFUSALS = {
    "missing": ("", "the token is missing"),
    "not a JWT": ("not-a-token", "the token is not a valid JWT"),
    "expired": (mint(_access(exp=int(NOW) - 1)), "the token has expired"),
    "not yet valid": (mint(_access(nbf=LATER)), "the token is not valid yet"),
    "issued in the future": (
        mint(_access(iat=LATER)),
        "the token was issued in the future",
    ),
    "tampered": (_tampered(), "the token's signature is invalid"),
    "alg none": (mint(_access(), algorithm="none"), "the signing method none is not supported"),
    "HS256": (
        mint(_access(), key="a-shared-secret-of-32-bytes-or-more!!", algorithm="HS256"),
        "the signing method HS256 is not supported",
    ),
    "another key": (mint(_access(), key=_ANOTHER_KEY), "the token's signature is invalid"),
    "unknown key id": (
        mint(_access(), key=_ANOTHER_KEY, kid="other"),
        "the token's key id is not in the issuer's key set",
    ),
    "another issuer": (
        mint(_access(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other0000")),
        "the token does not have a valid issuer",
    ),
    "another client": (
        mint(_access(client_id="another-client-of-the-pool")),
        "the token does not have a valid audience",
    ),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_a_bad_token_is_refused_with_401_and_the_reason(kind: str) -> None:
    token, reason = REFUSALS[kind]

    verdict = _check(token)

    assert verdict.status == 401
    assert verdict.challenge == (
        f'Bearer scope="{ADMIN_SCOPE}" error="invalid_token" error_description="{reason}"'
    )
    assert not verdict.claims


def test_an_id_token_on_a_scoped_route_is_refused_with_403() -> None:
    id_token = mint(claims(POOL, CLIENT, "s", token_use="id"))

    verdict = _check(id_token)

    assert verdict.status == 403
    assert verdict.challenge == (
        f'Bearer scope="{ADMIN_SCOPE}" error="insufficient_scope"'
        f' error_description="expected scopes: [{ADMIN_SCOPE}]"'
    )


def test_an_id_token_passes_a_route_without_scopes_by_its_audience() -> None:
    verdict = _check(mint(claims(POOL, CLIENT, "s", token_use="id")), scopes=())

    assert verdict.status == 200
    assert verdict.claims["aud"] == CLIENT
    assert verdict.context["jwt"]["scopes"] is None


def test_aud_is_checked_before_client_id_when_both_are_there() -> None:
    both = mint(_access(aud="someone-else", client_id=CLIENT))

    assert _check(both).status == 401


def test_an_access_token_reaches_the_function_with_claims_rendered_as_strings() -> None:
    token = mint(_access(groups=("operators", "other"), exp=1_800_000_000, flag=True))

    verdict = _check(token)

    assert verdict.status == 200
    jwt = verdict.context["jwt"]
    assert jwt["scopes"] == [ADMIN_SCOPE]
    assert jwt["claims"]["cognito:groups"] == "[operators other]"
    assert jwt["claims"]["exp"] == "1800000000"
    assert jwt["claims"]["flag"] == "true"
    assert jwt["claims"]["client_id"] == CLIENT
    assert all(isinstance(value, str) for value in jwt["claims"].values())


def test_the_token_is_taken_bare_or_after_bearer() -> None:
    for value in ("abc.def.ghi", "Bearer abc.def.ghi", "bearer   abc.def.ghi"):
        assert token_of(SPEC, {"authorization": value}, {}) == "abc.def.ghi"
    query_spec = JwtAuthorizerSpec("Q", "Api", ISSUER, (CLIENT,), None, "token")
    assert token_of(query_spec, {}, {"token": "abc"}) == "abc"


def test_expiry_is_exact_to_the_second() -> None:
    token = mint(_access(exp=1_800_000_000))

    assert _check(token, now=1_799_999_999.5).status == 200
    assert _check(token, now=1_800_000_000).status == 401


def test_maps_and_nested_lists_render_as_api_gateway_prints_them() -> None:
    rendered = render_claims({"m": {"b": 1, "a": [1, 2]}, "n": None, "f": 1.5})

    assert rendered == {"m": "map[a:[1 2] b:1]", "n": "", "f": "1.5"}
