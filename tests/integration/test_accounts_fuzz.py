"""The accounts routes fuzzed from their own description, and the sign-up triggers fuzzed
with the events Cognito could send: no input gets a 5xx, every refusal is DESIGN's.

The routes go through API Gateway's routing and JWT authorizer in process
(tests.support.gateway) to the Accounts function, against moto (a user pool, the
avatars bucket) and the real Redis, as test_fuzz does for the whole API. Callers are
picked from the request: a person with a profile, one whose profile was never made,
an anonymous caller and a forged token. The triggers get hypothesis' events: odd
shapes, odd attributes, lone surrogates, huge strings.
"""

from __future__ import annotations

import copy
import json
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from relay.platform.errors import RelayError
from tests.support.accounts import claims, mint
from tests.support.gateway import Gateway
from tests.support.lambdas import ROOT, Context, handler
from tests.support.user_pool import Pool

EXAMPLES_PER_OPERATION = 60
GATEWAY_REFUSAL = {"message": "Unauthorized"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NASTY = [
    "x" * 3_000,
    "[" * 5_000,
    "\u202eevil",
    "bob\u200b",
    "\uff41\uff4c\uff49\uff43\uff45",
    "admin",
    "avatars/",
    "avatars/../../x",
    "%00",
    "image/png",
]

config = schemathesis.Config.from_dict(
    {
        "dictionaries": {"nasty": {"values": NASTY}},
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "dictionaries": {"string": {"dictionary": "nasty", "probability": 0.2}},
        },
    }
)
schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json", config=config).include(
    path_regex=r"^/api/(me|config)"
)
schema.app = Gateway()


@pytest.fixture
def callers(pool: Pool) -> Iterator[list[dict[str, str]]]:
    """Headers of: a person with a profile, one without, nobody, a forged token."""
    from relay_local.accounts import pool_of
    from relay_local.template.build import build_model

    local = pool_of(build_model(ROOT / "template.yaml", "http://127.0.0.1:1"))
    assert local is not None

    def bearer(sub: str, key: Any = None) -> dict[str, str]:
        token = mint(claims(local.pool_id, local.client_id, sub), key=key)
        return {"Authorization": f"Bearer {token}"}

    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    yield [
        bearer(pool.person("alice")),
        bearer("no-profile-yet"),
        {},
        bearer(pool.person("mallory"), key=other_key),
    ]


@pytest.mark.xdist_group("fuzz")
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_to_accounts_gets_a_5xx_or_an_undocumented_answer(
    callers: list[dict[str, str]], case: Any
) -> None:
    pick = zlib.crc32(repr((case.query, case.body)).encode())
    response = case.call(headers=callers[pick % len(callers)])
    if response.status_code == 401 and response.json() == GATEWAY_REFUSAL:
        return  # API Gateway's JWT authorizer said no: its own words, no function ran
    case.validate_response(response, checks=CHECKS)


def test_a_nasty_string_in_any_field_of_patch_me_gets_designs_error_or_is_kept(
    callers: list[dict[str, str]],
) -> None:
    import httpx

    client = httpx.Client(transport=httpx.WSGITransport(app=Gateway()), base_url="https://api")
    for nasty in [*NASTY, "\ud800", "a\udc00b", "\u0000", "\n" * 300]:
        for field in ("displayName", "bio", "handle", "avatar"):
            sent = json.dumps({field: nasty})
            answer = client.patch("/api/me", content=sent, headers=callers[0])

            assert answer.status_code < 500, (field, sent, answer.text)
            if answer.status_code >= 400:
                assert set(answer.json()["error"]) == {"code", "message"}, answer.text


# ---- the triggers

PRE_SIGN_UP = json.loads((ROOT / "events" / "pre-sign-up.json").read_text())
POST_CONFIRMATION = json.loads((ROOT / "events" / "post-confirmation.json").read_text())
ODD = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec=None), max_size=10),
    st.sampled_from(["\ud800", "a\udfffb", "x" * 5_000, "admin", "alice", "", "a#b"]),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


@st.composite
def trigger_events(draw: Any) -> dict[str, Any]:
    event = copy.deepcopy(draw(st.sampled_from([PRE_SIGN_UP, POST_CONFIRMATION])))
    for name in draw(st.lists(st.sampled_from(list(event)), max_size=3, unique=True)):
        event[name] = draw(ODD)
    attributes = (event.get("request") or {}) if isinstance(event.get("request"), dict) else {}
    if isinstance(attributes.get("userAttributes"), dict):
        for name in draw(st.lists(st.sampled_from(["sub", "preferred_username", "email"]))):
            attributes["userAttributes"][name] = draw(ODD)
    return event


@given(event=trigger_events())
@settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_trigger_answers_any_event_with_the_event_or_a_refusal_with_a_message(
    pool: Pool, event: dict[str, Any]
) -> None:
    source = event.get("triggerSource")
    function = "PostConfirmation" if event.get("response") == {} else "PreSignUp"
    if isinstance(source, str) and source.startswith("Post"):
        function = "PostConfirmation"
    try:
        answer = handler(function)(copy.deepcopy(event), Context())
    except RelayError as refusal:
        assert 400 <= refusal.status < 500 and refusal.message
        return
    assert answer == event
