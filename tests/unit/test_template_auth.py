"""template.yaml's identity: the user pool as DESIGN gives it, and which authorizer guards
each route (read through the local stack's own model of the template)."""

import re

import pytest
import yaml

from relay.platform.sessions import ACCESS_TOKEN_TTL_S
from tests.support.lambdas import ROOT, _model, route_authorizer, user_pool

OPTIONAL = {"POST /api/shorten", "GET /api/analytics/{}"}
# The feed's profile routes are optional too: a profile, its posts and who follows whom
# are public, and a signed-in reader is told apart (blocks).
OPTIONAL_FEED = {
    "GET /api/users/{}",
    "GET /api/users/{}/posts",
    "GET /api/users/{}/followers",
    "GET /api/users/{}/following",
}
NO_IDENTITY = {"GET /{}", "HEAD /{}", "$default", "GET /api/config", "GET /api/openapi.json"}


def _shape(route_key: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", route_key)


def _resources():
    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}

    Loader.add_multi_constructor("!", tagged)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506
    return template["Resources"]


@pytest.mark.parametrize("route", [r.route_key for r in _model().routes])
def test_each_route_has_the_authorizer_its_kind_of_sign_in_needs(route):
    shape = _shape(route)
    kind = route_authorizer(route)

    if shape in OPTIONAL:
        assert kind == "lambda"
    elif shape in NO_IDENTITY:
        assert kind == "none"
    elif shape in OPTIONAL_FEED:
        assert kind in ("lambda", "jwt")
    else:
        assert kind == "jwt"


def test_the_jwt_authorizer_accepts_the_pools_access_tokens_only():
    (jwt,) = _model().jwt_authorizers
    pool_id, client_id = user_pool()

    assert jwt.name == "CognitoAuthorizer" and jwt.identity == "$request.header.authorization"
    assert jwt.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert jwt.audience == (client_id,)
    assert jwt.scopes == ("aws.cognito.signin.user.admin",)


def test_the_user_pool_is_as_design_gives_it():
    resources = _resources()
    pool = resources["UserPool"]["Properties"]
    client = resources["UserPoolClient"]["Properties"]

    assert pool["UsernameAttributes"] == ["email"] and pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"][0]["Name"] == "verified_email"
    assert pool["DeletionProtection"] == {"If": ["IsProd", "ACTIVE", "INACTIVE"]}
    assert {"Name": "preferred_username"}.items() <= next(
        a for a in pool["Schema"] if a["Name"] == "preferred_username"
    ).items()
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 8
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert client["EnableTokenRevocation"] is True
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert client["AccessTokenValidity"] * 60 == ACCESS_TOKEN_TTL_S
    assert resources["OperatorsGroup"]["Properties"]["GroupName"] == "operators"


def test_no_signing_secret_is_left_and_the_authorizer_needs_no_aws_permission():
    resources = _resources()
    authorizer = resources["Authorizer"]["Properties"]

    assert "JwtSecret" not in resources
    assert "Policies" not in authorizer and "VpcConfig" not in authorizer
    assert set(authorizer["Environment"]["Variables"]) == {"USER_POOL_ID", "USER_POOL_CLIENT_ID"}
    assert "JWT_SECRET" not in (ROOT / "template.yaml").read_text()
