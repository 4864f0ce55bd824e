"""What operators rely on in template.yaml: alarms that reach a topic, Redis with AUTH, logs."""

from __future__ import annotations

import json
import re

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


@pytest.mark.parametrize("queue", ["ClickDeadLetterQueue", "NotificationDeadLetterQueue"])
def test_the_dead_letter_queue_alarms_on_one_message_to_the_output_topic(template, queue):
    (alarm,) = [
        alarm
        for alarm in _alarms_on(template, "ApproximateNumberOfMessagesVisible")
        if alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}
    ]

    assert (
        alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    )
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


def test_notification_events_reach_their_dead_letter_queue_after_five_receives(template):
    from relay.notify.rules import MAX_RECEIVES

    redrive = template["Resources"]["NotificationQueue"]["Properties"]["RedrivePolicy"]

    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }


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


# ---------------------------------------------------------------- least privilege
# Each function's role allows what its code calls and nothing else. What the code calls
# is read from it (tests/support/code_reach.py): boto3 methods of the services it makes
# clients of, in the code its app.py reaches; DynamoDB's table by table (each table has
# its own store module). SAM adds what event sources need (stream and queue reads,
# OnFailure destinations) and logs/X-Ray itself; `Policies` is ours.

# The IAM action that authorizes an API operation, where the names differ.
_AUTHORIZED_BY = {
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("sns", "PublishBatch"): "sns:Publish",
}
_PREFIX = {"apigatewaymanagementapi": "execute-api"}
# TransactWriteItems has no action of its own: IAM checks each entry as its operation.
_TRANSACTION_ENTRY = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# Policy templates that grant exactly one action on the resource named; every other
# template grants more than any code here calls, and is refused.
_EXACT_TEMPLATES = {
    "AWSSecretsManagerGetSecretValuePolicy": ("secretsmanager:GetSecretValue", "SecretArn")
}
# Where reading the code sees a call a function cannot make: the reading follows a
# method by name to every class that has one, unless the code says which class it is.
# Each entry must still be seen (else it goes) and must not be granted.
_NEVER_CALLED = {
    # Messaging holds the large-group queue sender (a callable object: any stored
    # callable's call may reach it); only sending to a group of more than INLINE_MAX does.
    ("ChatConnect", "sqs:SendMessage"): "connects send to no group",
    ("ChatDisconnect", "sqs:SendMessage"): "disconnects send to no group",
    ("ChatPresenceSweep", "sqs:SendMessage"): "presence goes to contacts, inline",
    ("ChatDelivery", "sqs:SendMessage"): "it delivers the queue's chunks, never queues",
    # Attachments.check (HeadObject) is reached through every `.check` of the rate limiter.
    ("Conversations", "s3:GetObject"): "only sending a message checks an attachment",
}


def _iam_action(service: str, operation: str) -> str:
    if service == "apigatewaymanagementapi":
        return "execute-api:ManageConnections"
    return _AUTHORIZED_BY.get((service, operation), f"{_PREFIX.get(service, service)}:{operation}")


def needed_actions(code_dir: str) -> set[str]:
    """The IAM actions, but DynamoDB's, that the function's code calls."""
    from tests.support import code_reach

    return {
        _iam_action(c.service, c.operation)
        for c in code_reach.aws_calls(code_dir)
        if c.service != "dynamodb"
    }


def _functions(template) -> dict[str, dict]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _code_dir(props) -> str:
    return str(props["CodeUri"]).removeprefix("functions/").strip("/")


def _env(template, props) -> dict:
    return {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **((props.get("Environment") or {}).get("Variables") or {}),
    }


def _target(template, resource) -> tuple[str, str]:
    """(logical id, what follows its ARN) of a policy's Resource entry."""
    if "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0], ""
    if "Ref" in resource:
        return resource["Ref"], ""
    text = resource["Fn::Sub"]
    for match in re.finditer(r"\$\{([A-Za-z0-9]+)(\.Arn)?\}", text):
        if match.group(1) in template["Resources"]:
            return match.group(1), text[match.end() :]
    raise AssertionError(f"no resource of the template in {text}")


def _setting_target(template, props, setting: str) -> str | None:
    """The logical id a setting's environment variable names (`LINKS_TABLE: !Ref LinksTable`)."""
    from tests.support import code_reach

    value = _env(template, props).get(code_reach.settings_env().get(setting, ""))
    if isinstance(value, dict) and ({"Ref", "Fn::GetAtt"} & set(value)):
        return _target(template, value)[0]
    return None


def granted(template, props) -> set[tuple[str, tuple[str, str]]]:
    """(action, target) for every action each policy allows on each resource."""
    pairs = set()
    for policy in props.get("Policies") or []:
        if "Statement" in policy:
            for statement in policy["Statement"]:
                assert statement["Effect"] == "Allow"
                actions = statement["Action"]
                resources = statement["Resource"]
                for action in [actions] if isinstance(actions, str) else actions:
                    for resource in [resources] if isinstance(resources, dict) else resources:
                        pairs.add((action, _target(template, resource)))
            continue
        (name,) = policy
        assert name in _EXACT_TEMPLATES, f"{name} grants more than the code calls: a Statement"
        action, key = _EXACT_TEMPLATES[name]
        pairs.add((action, _target(template, policy[name][key])))
    return pairs


def needed_table_grants(template, props) -> set[tuple[str, tuple[str, str]]]:
    """(action, table or index) for what the code does to each table it uses: the
    operations called on its store, the entries of its transactions, Query on each
    index it names."""
    from tests.support import code_reach

    resources = template["Resources"]
    indexes = {
        index["IndexName"]
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
        for index in r["Properties"].get("GlobalSecondaryIndexes", [])
    }
    uses = code_reach.table_uses(_code_dir(props), indexes)
    calls = code_reach.aws_calls(_code_dir(props))
    transacts = any(c.operation == "TransactWriteItems" for c in calls)
    pairs = set()
    for setting, use in uses.items():
        table = _setting_target(template, props, setting)
        assert table is not None, f"{setting} names no table in the function's environment"
        actions = {f"dynamodb:{op}" for op in use.operations - {"TransactWriteItems"}}
        if transacts:
            actions |= {_TRANSACTION_ENTRY[kind] for kind in use.entries}
        pairs |= {(action, (table, "")) for action in actions}
        own = {
            i["IndexName"] for i in resources[table]["Properties"].get("GlobalSecondaryIndexes", [])
        }
        assert use.indexes <= own, (table, use.indexes - own)
        if "dynamodb:Query" in actions:
            pairs |= {("dynamodb:Query", (table, f"/index/{index}")) for index in use.indexes}
    return pairs


_SERVICE_OF_TYPE = {
    "AWS::Cognito::UserPool": "cognito-idp",
    "AWS::SQS::Queue": "sqs",
    "AWS::SNS::Topic": "sns",
    "AWS::S3::Bucket": "s3",
    "AWS::SecretsManager::Secret": "secretsmanager",
}
_SUFFIX = {"s3": "/*"}


def needed_targets(template, props) -> dict[str, set[tuple[str, str]]]:
    """Per action prefix but DynamoDB's, the resources the function's code names through
    its settings (a queue's, topic's, bucket's, secret's environment variable), and the
    chat's @connections API."""
    from tests.support import code_reach

    targets: dict[str, set[tuple[str, str]]] = {
        "execute-api": {("ChatApi", "/${Stage}/*/@connections/*")}
    }
    for setting in code_reach.settings_fields(_code_dir(props)):
        logical = _setting_target(template, props, setting)
        service = _SERVICE_OF_TYPE.get(template["Resources"].get(logical, {}).get("Type", ""))
        if service is not None:
            targets.setdefault(service, set()).add((logical, _SUFFIX.get(service, "")))
    return targets


def test_each_role_allows_the_calls_its_code_makes_and_no_other(template):
    wrong = {}
    for name, props in _functions(template).items():
        needed = needed_actions(_code_dir(props))
        never = {action for (function, action) in _NEVER_CALLED if function == name}
        allowed = {a for a, _ in granted(template, props) if not a.startswith("dynamodb:")}
        extra, missing = allowed - needed, needed - never - allowed
        if extra or missing or (never & allowed):
            wrong[name] = {"granted, never called": extra, "called, not granted": missing}

    assert not wrong


def test_each_role_allows_on_each_table_what_its_code_does_there_and_no_more(template):
    wrong = {}
    for name, props in _functions(template).items():
        needed = needed_table_grants(template, props)
        allowed = {(a, t) for a, t in granted(template, props) if a.startswith("dynamodb:")}
        if needed != allowed:
            wrong[name] = {
                "granted, never called": allowed - needed,
                "not granted": needed - allowed,
            }

    assert not wrong


def test_what_the_code_is_thought_to_call_in_vain_is_still_seen(template):
    functions = _functions(template)
    for name, action in _NEVER_CALLED:
        assert action in needed_actions(_code_dir(functions[name])), (name, action)


def test_each_role_names_only_the_resources_its_code_uses(template):
    wrong = {}
    for name, props in _functions(template).items():
        expected = needed_targets(template, props)
        by_service: dict[str, set[tuple[str, str]]] = {}
        for action, target in granted(template, props):
            if not action.startswith("dynamodb:"):
                by_service.setdefault(action.split(":")[0], set()).add(target)
        for service, targets in by_service.items():
            allowed = expected.get(service, set())
            if service == "s3":
                # A bucket (ListBucket) or objects under any prefix of it.
                buckets = {bucket for bucket, _ in allowed}
                outside = {t for t in targets if t[0] not in buckets}
                outside |= {t for t in targets if t[1] and not t[1].startswith("/")}
            else:
                outside = targets - allowed
            if outside:
                wrong[name, service] = outside

    assert not wrong


def test_the_reading_is_narrow_where_the_code_is(template):
    """Anchors: if the reading of the code grew coarse, every grant would grow with it
    and the tests above would still pass. The redirect reads one item; $connect writes
    its connection and only reads conversations; the click shipper touches no table."""
    functions = _functions(template)

    assert needed_table_grants(template, functions["Redirect"]) == {
        ("dynamodb:GetItem", ("LinksTable", ""))
    }
    connect = needed_table_grants(template, functions["ChatConnect"])
    assert {a for a, (table, _) in connect if table == "ConversationsTable"} <= {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    }
    assert needed_table_grants(template, functions["ClickShipper"]) == set()
