"""What the template reader runs, and what it refuses at start, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay_local.template.build import build_model
from relay_local.template.event_sources import EVENT_SOURCES
from relay_local.template.model import TemplateError
from relay_local.template.parameters import parse_overrides, resolve_parameters

HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\n'


def _model(tmp_path: Path, resources: str, overrides: dict[str, str] | None = None):
    template = tmp_path / "template.yaml"
    template.write_text(HEADER + "Resources:\n" + resources)
    (tmp_path / "fn").mkdir(exist_ok=True)
    return build_model(template, "http://127.0.0.1:9", overrides)


def _function(events: str) -> str:
    return (
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: fn\n      Handler: app.handler\n      Runtime: python3.12\n"
        "      Events:\n" + events
    )


def test_every_event_source_kind_the_issue_names_is_registered() -> None:
    kinds = {"HttpApi", "SQS", "SNS", "Schedule", "ScheduleV2", "DynamoDB", "CloudWatchLogs"}
    assert kinds | {"Cognito"} <= set(EVENT_SOURCES)


@pytest.mark.parametrize("kind", ["Api", "Kinesis", "S3", "EventBridgeRule", "IoTRule"])
def test_an_event_kind_the_stack_cannot_run_fails_naming_function_event_and_kind(
    tmp_path: Path, kind: str
) -> None:
    events = f"        Mine:\n          Type: {kind}\n          Properties: {{}}\n"

    with pytest.raises(TemplateError) as refused:
        _model(tmp_path, _function(events))

    assert f"Fn event Mine: the local stack cannot run {kind} events" in str(refused.value)


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("AWS::Kinesis::Stream", "cannot run this kind of resource"),
        ("AWS::Serverless::Api", "use AWS::Serverless::HttpApi"),
        ("AWS::Lambda::EventSourceMapping", "Events of the function"),
    ],
)
def test_a_resource_kind_the_stack_cannot_run_fails_naming_it(
    tmp_path: Path, kind: str, hint: str
) -> None:
    with pytest.raises(TemplateError) as refused:
        _model(tmp_path, f"  Thing:\n    Type: {kind}\n    Properties: {{}}\n")

    assert f"Thing ({kind})" in str(refused.value) and hint in str(refused.value)


def test_resources_without_local_meaning_are_listed_not_run(tmp_path: Path) -> None:
    model = _model(
        tmp_path,
        "  Net:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\n"
        "  Alarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties: {}\n",
    )

    assert set(model.ignored) == {"Net", "Alarm"}


def test_a_websocket_api_is_read_from_its_parts(tmp_path: Path) -> None:
    resources = _function(
        "        Noop:\n          Type: SQS\n          Properties: {Queue: !GetAtt Q.Arn}\n"
    )
    resources += (
        "  Q:\n    Type: AWS::SQS::Queue\n"
        "  Ws:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n"
        "      ProtocolType: WEBSOCKET\n      RouteSelectionExpression: $request.body.kind.name\n"
        "  Stage:\n    Type: AWS::ApiGatewayV2::Stage\n"
        "    Properties: {ApiId: !Ref Ws, StageName: prod}\n"
        "  Integration:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n"
        "      ApiId: !Ref Ws\n      IntegrationType: AWS_PROXY\n"
        '      IntegrationUri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/'
        '2015-03-31/functions/${Fn.Arn}/invocations"\n'
        "  Send:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n"
        "      ApiId: !Ref Ws\n      RouteKey: send\n"
        "      Target: !Join [/, [integrations, !Ref Integration]]\n"
    )

    (api,) = _model(tmp_path, resources).websocket_apis

    assert api.selection == ("kind", "name")
    assert api.stage == "prod"
    assert [(r.route_key, r.function) for r in api.routes] == [("send", "Fn")]


def test_a_websocket_authorizer_outside_connect_is_refused(tmp_path: Path) -> None:
    resources = _function(
        "        Noop:\n          Type: SQS\n          Properties: {Queue: !GetAtt Q.Arn}\n"
    )
    resources += (
        "  Q:\n    Type: AWS::SQS::Queue\n"
        "  Ws:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n"
        "      ProtocolType: WEBSOCKET\n      RouteSelectionExpression: $request.body.action\n"
        "  Auth:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties:\n"
        "      ApiId: !Ref Ws\n      AuthorizerType: REQUEST\n"
        "      IdentitySource: [route.request.querystring.token]\n"
        "      AuthorizerUri: !GetAtt Fn.Arn\n"
        "  Send:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n"
        "      ApiId: !Ref Ws\n      RouteKey: send\n"
        "      AuthorizationType: CUSTOM\n      AuthorizerId: !Ref Auth\n"
    )

    with pytest.raises(TemplateError, match=r"Send \(AWS::ApiGatewayV2::Route\).*\$connect only"):
        _model(tmp_path, resources)


def test_parameter_overrides_take_both_spellings_of_sam() -> None:
    assert parse_overrides(["Stage=prod", 'ParameterKey=A,ParameterValue="b c"']) == {
        "Stage": "prod",
        "A": "b c",
    }
    assert parse_overrides(["Stage=prod Limit=5"]) == {"Stage": "prod", "Limit": "5"}


def test_parameters_are_checked_as_cloudformation_checks_them() -> None:
    declared = {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Limit": {"Type": "Number", "Default": 5, "MinValue": 1},
    }

    assert resolve_parameters(declared, {"Stage": "prod"}) == {"Stage": "prod", "Limit": 5}
    for bad in ({"Stage": "qa"}, {"Limit": "0"}, {"Limit": "many"}):
        with pytest.raises(TemplateError):
            resolve_parameters(declared, bad)
