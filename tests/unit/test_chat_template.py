"""What a real deploy of the chat relies on in template.yaml: route changes that reach
the stage on every update, and a delivery queue whose dead letters someone hears of."""

from __future__ import annotations

from typing import Any

import pytest

from relay_local.template.loader import load_template
from tests.conftest import TEMPLATE


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(load_template(TEMPLATE)["Resources"])


def test_route_and_integration_changes_reach_the_chat_stage_on_every_update(
    resources: dict[str, Any],
) -> None:
    # A Deployment with a fixed logical id is made once: CloudFormation never makes it
    # again, so a route or integration changed later would never reach the stage.
    stage = resources["ChatStage"]["Properties"]
    deployments = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Deployment"
        and r["Properties"]["ApiId"] == {"Ref": "ChatApi"}
    ]

    assert stage["AutoDeploy"] is True
    assert "DeploymentId" not in stage and deployments == []
    routes = {name for name, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes <= set(resources["ChatStage"]["DependsOn"])


def test_a_delivery_chunk_goes_to_the_dead_letter_queue_after_five_receives(
    resources: dict[str, Any],
) -> None:
    redrive = resources["ChatDeliveryQueue"]["Properties"]["RedrivePolicy"]

    assert redrive["maxReceiveCount"] >= 5
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ChatDeliveryDeadLetterQueue", "Arn"]}


def test_the_delivery_dead_letter_queue_alarms_on_one_message_to_the_alarm_topic(
    resources: dict[str, Any],
) -> None:
    (alarm,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("Dimensions", [{}])[0].get("Value")
        == {"Fn::GetAtt": ["ChatDeliveryDeadLetterQueue", "QueueName"]}
    ]

    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
