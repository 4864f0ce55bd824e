"""The template's data resources made in moto: tables, queues, topics, buckets, secrets.

`create_resources` runs at every start and for every edit of the template, so
each step is idempotent: what exists already is left as it is. `table_requests`
and `create_with_clients` build the same tables and queues through boto3 for the
tests and the benchmark, so nothing re-declares a table the template declares.
"""

from __future__ import annotations

import json
from typing import Any

from relay_local.state.wire import (
    DYNAMODB,
    SECRETS,
    SQS,
    AwsError,
    WsgiApp,
    call,
    query_call,
    rest_call,
)
from relay_local.template.model import (
    BucketSpec,
    QueueSpec,
    SecretSpec,
    StackModel,
    TableSpec,
    TopicSpec,
)


def table_requests(table: TableSpec) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The CreateTable request for a template table, and its UpdateTimeToLive request if any.

    Pure, so the tests build their moto tables from the template through the same code.
    """
    props = table.properties
    request: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props.get("AttributeDefinitions", []),
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    throughput = props.get("ProvisionedThroughput")
    if request["BillingMode"] == "PROVISIONED":
        # Template parameters are strings; DynamoDB takes numbers.
        throughput = throughput or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        request["ProvisionedThroughput"] = {name: int(units) for name, units in throughput.items()}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            request[key] = props[key]
    if table.stream_view is not None:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": table.stream_view,
        }
    ttl = props.get("TimeToLiveSpecification")
    ttl_request = None
    if ttl and ttl.get("Enabled") in (True, "true"):
        ttl_request = {
            "TableName": table.name,
            "TimeToLiveSpecification": {"AttributeName": ttl["AttributeName"], "Enabled": True},
        }
    return request, ttl_request


def create_with_clients(model: StackModel, dynamodb: Any, sqs: Any) -> dict[str, str]:
    """The template's tables and queues through boto3 clients (moto's mock or a moto
    server): for the tests and the benchmark. Returns queue URLs by logical id."""
    for table in model.tables.values():
        create, ttl = table_requests(table)
        dynamodb.create_table(**create)
        if ttl is not None:
            dynamodb.update_time_to_live(**ttl)
    urls: dict[str, str] = {}
    for queue in model.queues.values():  # redrive targets must exist before the policy
        plain = {k: v for k, v in queue.attributes.items() if k != "RedrivePolicy"}
        urls[queue.logical_id] = sqs.create_queue(QueueName=queue.name, Attributes=plain)[
            "QueueUrl"
        ]
    for queue in model.queues.values():
        if "RedrivePolicy" in queue.attributes:
            sqs.set_queue_attributes(
                QueueUrl=urls[queue.logical_id],
                Attributes={"RedrivePolicy": queue.attributes["RedrivePolicy"]},
            )
    return urls


def create_resources(app: WsgiApp, model: StackModel) -> None:
    """Tables, queues, topics and buckets of the template that moto lacks (idempotent)."""
    for table in model.tables.values():
        create_table(app, table)
    # A queue's redrive policy names its DLQ, which must exist first.
    for queue in sorted(model.queues.values(), key=lambda q: "RedrivePolicy" in q.attributes):
        create_queue(app, queue)
    for topic in model.topics.values():
        create_topic(app, topic)
    for bucket in model.buckets.values():
        create_bucket(app, bucket)


def _exists(app: WsgiApp, target: str, request: dict[str, Any], *missing: str) -> bool:
    """Whether a describe call finds the resource; an error other than `missing` is raised."""
    try:
        call(app, target, request)
    except AwsError as exc:
        if not any(code in exc.code for code in missing):
            raise
        return False
    return True


def create_table(app: WsgiApp, table: TableSpec) -> None:
    describe = {"TableName": table.name}
    if _exists(app, DYNAMODB + "DescribeTable", describe, "ResourceNotFoundException"):
        return
    request, ttl_request = table_requests(table)
    call(app, DYNAMODB + "CreateTable", request)
    if ttl_request is not None:
        call(app, DYNAMODB + "UpdateTimeToLive", ttl_request)


def create_queue(app: WsgiApp, queue: QueueSpec) -> None:
    missing = ("NonExistentQueue", "QueueDoesNotExist")
    if _exists(app, SQS + "GetQueueUrl", {"QueueName": queue.name}, *missing):
        return
    call(app, SQS + "CreateQueue", {"QueueName": queue.name, "Attributes": queue.attributes})


def create_topic(app: WsgiApp, topic: TopicSpec) -> None:
    # CreateTopic is idempotent for the same name and attributes.
    params = {"Name": topic.name}
    for index, (key, value) in enumerate(sorted(topic.attributes.items()), start=1):
        params[f"Attributes.entry.{index}.key"] = key
        params[f"Attributes.entry.{index}.value"] = value
    query_call(app, "sns", "CreateTopic", params)


def create_bucket(app: WsgiApp, bucket: BucketSpec) -> None:
    rest_call(app, "PUT", f"/{bucket.name}")
    rules_declared = json.loads(bucket.cors) if bucket.cors else []
    if rules_declared:  # a bucket without CorsConfiguration has none to put
        rules = "".join(_cors_rule(rule) for rule in rules_declared)
        document = f"<CORSConfiguration>{rules}</CORSConfiguration>".encode()
        rest_call(app, "PUT", f"/{bucket.name}", [("cors", "")], {}, document)


def _cors_rule(rule: dict[str, Any]) -> str:
    parts: list[str] = []
    for key in ("AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposeHeaders"):
        tag = {"ExposeHeaders": "ExposeHeader"}.get(key, key[:-1])
        parts.extend(f"<{tag}>{_escape(str(value))}</{tag}>" for value in rule.get(key) or [])
    if "MaxAgeSeconds" in rule:
        parts.append(f"<MaxAgeSeconds>{int(rule['MaxAgeSeconds'])}</MaxAgeSeconds>")
    return f"<CORSRule>{''.join(parts)}</CORSRule>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def create_secret(app: WsgiApp, secret: SecretSpec) -> None:
    describe = {"SecretId": secret.name}
    if _exists(app, SECRETS + "DescribeSecret", describe, "ResourceNotFoundException"):
        return
    value = secret.value if secret.value is not None else _generated(secret.generate)
    call(app, SECRETS + "CreateSecret", {"Name": secret.name, "SecretString": value})


def _generated(spec: str) -> str:
    """A value as CloudFormation's GenerateSecretString makes it."""
    import secrets as random
    import string

    options: dict[str, Any] = json.loads(spec) if spec else {}
    length = int(options.get("PasswordLength", 32))
    alphabet = string.ascii_letters + string.digits
    if not options.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    excluded = str(options.get("ExcludeCharacters", ""))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    password = "".join(random.choice(alphabet) for _ in range(length))
    template = options.get("SecretStringTemplate")
    key = options.get("GenerateStringKey")
    if template and key:
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return password
