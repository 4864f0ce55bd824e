"""What operators rely on in template.yaml: alarms that reach a topic, Redis with AUTH, logs."""

from __future__ import annotations

import json

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
    # The redirect's copy; test_function_secrets holds every function's to the same one.
    url = resources["Redirect"]["Properties"]["Environment"]["Variables"]["REDIS_URL"]["Fn::Sub"]

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


def _clicks(overrides: dict[str, str]):
    from relay_local.state.provision import table_requests
    from relay_local.template.build import build_model

    model = build_model(TEMPLATE, moto_url="http://127.0.0.1:1", overrides=overrides)
    (table,) = [t for t in model.tables.values() if t.logical_id == "ClicksTable"]
    request, _ = table_requests(table)
    redrive = json.loads(model.queues["ClickQueue"].attributes["RedrivePolicy"])
    return request, redrive["maxReceiveCount"], model.ignored


def test_click_counters_are_billed_per_request_by_default():
    request, receives, ignored = _clicks({})

    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in request
    assert int(receives) == 5
    assert not any(name.startswith("Clicks") and "Scaling" in name for name in ignored)


def test_provisioned_click_counters_scale_and_give_throttled_deliveries_more_tries():
    request, receives, ignored = _clicks(
        {
            "ClicksWriteCapacity": "20000",
            "ClicksMaxWriteCapacity": "60000",
            "ClicksReadCapacity": "5000",
            "ClicksMaxReadCapacity": "20000",
        }
    )

    assert request["BillingMode"] == "PROVISIONED"
    assert request["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 5000,
        "WriteCapacityUnits": 20000,
    }
    assert int(receives) == 20
    # The scaling resources run on AWS only; the local stack lists them and goes on.
    assert {"ClicksWriteScaling", "ClicksReadScaling"} <= set(ignored)
