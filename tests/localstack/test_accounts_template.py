"""User pools as the template reader sees them: stable ids that `!Ref` and `!GetAtt` resolve
to, triggers from both spellings, the HTTP API's JWT authorizer, and what is refused at
start, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay_local.template.build import build_model
from relay_local.template.model import JwtAuthorizerSpec, StackModel, TemplateError
from relay_local.template.names import user_pool_client_id, user_pool_id

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\n'
POOL = """
  Pool:
    Type: AWS::Cognito::UserPool
    Properties:
      UsernameAttributes: [email]
{pool_extra}
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Pool
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.handler
      Runtime: python3.12
{fn_extra}
"""


def _model(tmp_path: Path, pool_extra: str = "", fn_extra: str = "") -> StackModel:
    template = tmp_path / "template.yaml"
    resources = POOL.format(pool_extra=pool_extra, fn_extra=fn_extra)
    template.write_text(HEADER + "Resources:" + resources)
    (tmp_path / "fn").mkdir(exist_ok=True)
    return build_model(template, "http://127.0.0.1:9")


def test_pool_and_client_ids_are_cognito_shaped_and_the_same_at_every_read() -> None:
    first = build_model(FIXTURES / "accounts.yaml", "http://127.0.0.1:9")
    again = build_model(FIXTURES / "accounts.yaml", "http://127.0.0.1:10")

    pool = first.user_pools["UserPool"]
    client = first.user_pool_clients["UserPoolClient"]
    assert pool.id == again.user_pools["UserPool"].id == user_pool_id("UserPool")
    assert client.id == again.user_pool_clients["UserPoolClient"].id
    assert len(pool.id) == len("us-east-1_") + 9 and pool.id.startswith("us-east-1_")
    assert pool.id.removeprefix("us-east-1_").isalnum()
    assert len(client.id) == 26 and client.id.isalnum() and client.id.islower()
    assert client.id != user_pool_client_id("OtherClient")


def test_ref_and_getatt_of_the_pool_its_client_and_group_resolve_to_local_values() -> None:
    model = build_model(FIXTURES / "accounts.yaml", "http://127.0.0.1:9")
    pool = model.user_pools["UserPool"]

    env = model.functions["Whoami"].environment

    assert env["USER_POOL_ID"] == pool.id
    assert env["USER_POOL_CLIENT_ID"] == model.user_pool_clients["UserPoolClient"].id
    assert env["USER_POOL_ARN"] == f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool.id}"
    assert env["USER_POOL_PROVIDER"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.id}"
    assert env["COGNITO_ISSUER"] == pool.issuer
    assert env["OPERATORS_GROUP"] == "operators"
    assert model.user_pools["UserPool"].name == "relay-test-users"


def test_triggers_come_from_sam_events_and_from_the_pools_lambda_config() -> None:
    model = build_model(FIXTURES / "accounts.yaml", "http://127.0.0.1:9")

    assert model.trigger("UserPool", "PreSignUp") == "PreSignUp"
    assert model.trigger("UserPool", "PostConfirmation") == "PostConfirmation"
    assert "LambdaConfig" not in model.user_pools["UserPool"].properties


def test_one_cognito_event_may_name_several_triggers(tmp_path: Path) -> None:
    events = (
        "      Events:\n        Both:\n          Type: Cognito\n          Properties:\n"
        "            UserPool: !Ref Pool\n            Trigger: [PreSignUp, PostConfirmation]\n"
    )

    model = _model(tmp_path, fn_extra=events)

    assert [(t.trigger, t.function) for t in model.cognito_triggers] == [
        ("PreSignUp", "Fn"),
        ("PostConfirmation", "Fn"),
    ]


def test_a_trigger_given_twice_is_refused_naming_both(tmp_path: Path) -> None:
    events = (
        "      Events:\n        Check:\n          Type: Cognito\n          Properties:\n"
        "            UserPool: !Ref Pool\n            Trigger: PreSignUp\n"
    )
    config = "      LambdaConfig:\n        PreSignUp: !GetAtt Fn.Arn\n"

    with pytest.raises(TemplateError, match="PreSignUp trigger twice"):
        _model(tmp_path, pool_extra=config, fn_extra=events)


@pytest.mark.parametrize("trigger", ["PreTokenGeneration", "CustomMessage", "UserMigration"])
def test_a_trigger_the_stack_does_not_run_stops_it_at_start(tmp_path: Path, trigger: str) -> None:
    config = f"      LambdaConfig:\n        {trigger}: !GetAtt Fn.Arn\n"

    with pytest.raises(TemplateError) as refused:
        _model(tmp_path, pool_extra=config)

    assert f"Pool (AWS::Cognito::UserPool) LambdaConfig.{trigger}" in str(refused.value)
    assert f"not {trigger}" in str(refused.value)


def test_a_cognito_event_on_something_else_than_a_pool_is_refused(tmp_path: Path) -> None:
    events = (
        "      Events:\n        Check:\n          Type: Cognito\n          Properties:\n"
        "            UserPool: !Ref Client\n            Trigger: PreSignUp\n"
    )

    with pytest.raises(TemplateError, match=r"Fn event Check \(Cognito\): UserPool must be"):
        _model(tmp_path, fn_extra=events)


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ('      MfaConfiguration: "ON"\n', "MfaConfiguration ON"),
        (
            "      VerificationMessageTemplate: {DefaultEmailOption: CONFIRM_WITH_LINK}\n",
            "CONFIRM_WITH_LINK",
        ),
    ],
)
def test_pool_settings_the_stack_cannot_honour_stop_it(
    tmp_path: Path, extra: str, complaint: str
) -> None:
    with pytest.raises(TemplateError, match=complaint):
        _model(tmp_path, pool_extra=extra)


def _jwt_api(issuer: str, route_auth: str) -> str:
    return (
        "  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n"
        "        DefaultAuthorizer: Jwt\n        Authorizers:\n          Jwt:\n"
        "            AuthorizationScopes: [default.scope]\n"
        f"            JwtConfiguration:\n              issuer: {issuer}\n"
        "              audience: [!Ref Client]\n"
        "  Route:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: fn\n      Handler: app.handler\n      Runtime: python3.12\n"
        "      Events:\n        Get:\n          Type: HttpApi\n          Properties:\n"
        f"            ApiId: !Ref Api\n            Method: GET\n            Path: /x\n{route_auth}"
    )


def test_a_jwt_authorizer_takes_its_issuer_audience_and_scopes(tmp_path: Path) -> None:
    issuer = "!Sub https://cognito-idp.${AWS::Region}.amazonaws.com/${Pool}"
    route_scopes = "            Auth: {AuthorizationScopes: [route.scope]}\n"

    model = _model(tmp_path, fn_extra=_jwt_api(issuer, route_scopes))

    (route,) = model.routes
    assert isinstance(route.authorizer, JwtAuthorizerSpec)
    assert route.authorizer.issuer == model.user_pools["Pool"].issuer
    assert route.authorizer.audience == (model.user_pool_clients["Client"].id,)
    assert route.authorizer.identity_header == "authorization"
    assert route.scopes == ("route.scope",)  # the route's own replace the authorizer's


def test_a_route_without_its_own_scopes_takes_the_authorizers(tmp_path: Path) -> None:
    issuer = "!Sub https://cognito-idp.${AWS::Region}.amazonaws.com/${Pool}"

    (route,) = _model(tmp_path, fn_extra=_jwt_api(issuer, "")).routes

    assert route.scopes == ("default.scope",)


def test_a_jwt_issuer_that_is_no_pool_of_the_template_stops_the_stack(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="is not a user pool of the template"):
        _model(tmp_path, fn_extra=_jwt_api("https://example.auth0.com/", ""))


def test_cognito_resources_without_local_meaning_are_listed(tmp_path: Path) -> None:
    domain = (
        "  Domain:\n    Type: AWS::Cognito::UserPoolDomain\n"
        "    Properties: {UserPoolId: !Ref Pool, Domain: relay-test}\n"
    )

    model = _model(tmp_path, fn_extra=domain)

    assert "Domain" in model.ignored
