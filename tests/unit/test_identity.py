"""The caller, read from whichever authorizer ran: API Gateway's JWT authorizer (claims
rendered as strings) or Relay's Lambda authorizer (its context)."""

import pytest

from relay.platform.errors import Unauthorized
from relay.platform.identity import Caller, caller_of
from relay_local.gateways.jwt import render_claims
from tests.support.accounts import claims

IP = "203.0.113.9"


def jwt_authorizer(**changes):
    made = claims("us-east-1_Pool", "client", "sub-1", iat=1_800_000_000, **changes)
    return {"jwt": {"claims": render_claims(made), "scopes": ["aws.cognito.signin.user.admin"]}}


def test_the_jwt_authorizers_claims_name_the_caller_as_api_gateway_renders_them():
    who = caller_of(jwt_authorizer(groups=("operators", "editors")), IP)

    assert who == Caller("sub-1", IP, ("operators", "editors"), 1_800_000_000)
    assert who.is_operator and who.require_user() == "sub-1"


def test_one_group_and_none_render_as_api_gateway_renders_them():
    assert caller_of(jwt_authorizer(groups=("operators",)), IP).groups == ("operators",)
    assert caller_of(jwt_authorizer(), IP).groups == ()
    assert not caller_of(jwt_authorizer(), IP).is_operator


def test_an_id_token_is_refused_even_where_api_gateway_let_it_through():
    with pytest.raises(Unauthorized) as error:
        caller_of(jwt_authorizer(token_use="id"), IP)

    assert (error.value.status, error.value.code) == (401, "invalid_token")


@pytest.mark.parametrize("sub", ["", "\ud800", "line\nbreak", "x" * 129])
def test_claims_naming_no_usable_user_are_a_401_never_a_crash(sub):
    with pytest.raises(Unauthorized) as error:
        caller_of(jwt_authorizer(sub=sub), IP)

    assert error.value.code == "invalid_token"


def test_the_lambda_authorizers_context_names_the_caller():
    context = {"userId": "sub-2", "authError": "", "issuedAt": "1800000000", "groups": "operators"}

    who = caller_of({"lambda": context}, IP)

    assert who == Caller("sub-2", IP, ("operators",), 1_800_000_000)


def test_anonymous_is_no_user_and_cannot_pass_for_one():
    for authorizer in (None, {}, {"lambda": {"userId": "", "authError": ""}}):
        who = caller_of(authorizer, IP)
        assert who == Caller(None, IP) and not who.is_operator
        with pytest.raises(Unauthorized):
            who.require_user()


@pytest.mark.parametrize(
    ("reported", "code"),
    [
        ("token_expired", "token_expired"),
        ("invalid_token", "invalid_token"),
        ("?", "invalid_token"),
    ],
)
def test_a_bad_token_the_lambda_authorizer_reported_is_a_401(reported, code):
    with pytest.raises(Unauthorized) as error:
        caller_of({"lambda": {"userId": "", "authError": reported}}, IP)

    assert (error.value.status, error.value.code) == (401, code)


@pytest.mark.parametrize("issued", ["", "soon", "-1", "1e9", "٣", "9" * 40, None])
def test_an_unreadable_issued_at_is_none_not_a_crash(issued):
    context = {"userId": "sub-2", "authError": "", "issuedAt": issued, "groups": "a b!"}

    who = caller_of({"lambda": context}, IP)

    assert who.issued_at is None and who.groups == ("a",)
