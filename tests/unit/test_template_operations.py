"""What operators rely on in template.yaml: alarms that reach a topic, Redis with AUTH, logs."""

from __future__ import annotations

import pytest

from relay_local.template.loader import load_template
from tests.conftest import TEMPLATE


@pytest.fixture(scope="module")
def template():
    return load_template(TEMPLATE)


def _alarms_on(template, metric: str) -> list[dict]:
    return [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == metric
    ]


def test_the_dead_letter_queue_alarms_on_one_message_to_the_output_topic(template):
    (alarm,) = _alarms_on(template, "ApproximateNumberOfMessagesVisible")

    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ClickDeadLetterQueue", "QueueName"]}
    assert (
        alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    )
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


@pytest.mark.parametrize(
    "metric",
    ["ApproximateAgeOfOldestMessage", "ClicksSetAside", "RedirectRedisFailOpen", "5xx"],
)
def test_each_operational_alarm_reaches_the_topic(template, metric):
    (alarm,) = _alarms_on(template, metric)

    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_shipped_dead_letter_path_lands_in_the_alarmed_queue(template):
    resources = template["Resources"]
    redrive = resources["ClickQueue"]["Properties"]["RedrivePolicy"]
    on_failure = resources["ClickShipper"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]

    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ClickDeadLetterQueue", "Arn"]}
    assert on_failure["OnFailure"]["Destination"] == {"Fn::GetAtt": ["ClickDeadLetterQueue", "Arn"]}


def test_redis_has_tls_and_an_auth_token_from_a_generated_secret(template):
    resources = template["Resources"]
    redis = resources["RedisReplicationGroup"]["Properties"]
    url = template["Globals"]["Function"]["Environment"]["Variables"]["REDIS_URL"]["Fn::Sub"]

    assert redis["TransitEncryptionEnabled"] is True
    assert "{{resolve:secretsmanager:${RedisAuthToken}}}" in redis["AuthToken"]["Fn::Sub"]
    assert url.startswith("rediss://:{{resolve:secretsmanager:${RedisAuthToken}}}@")
    assert "GenerateSecretString" in resources["RedisAuthToken"]["Properties"]


def test_every_function_logs_json_without_lambdas_own_info_lines(template):
    functions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]

    assert functions
    for function in functions:
        logging = function["LoggingConfig"]
        assert (logging["LogFormat"], logging["SystemLogLevel"]) == ("JSON", "WARN")


def test_the_consumer_caps_its_writers(template):
    consumer = template["Resources"]["ClickConsumer"]["Properties"]["Events"]["Clicks"]

    scaling = consumer["Properties"]["ScalingConfig"]
    assert scaling["MaximumConcurrency"] == {"Ref": "ClickConsumerConcurrency"}
    assert template["Parameters"]["ClickConsumerConcurrency"]["MinValue"] == 2
