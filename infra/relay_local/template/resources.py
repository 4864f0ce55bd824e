"""The resource kinds of a template, each with its parser, registered in one table.

`DATA` kinds hold state and are created in moto at start (tables, queues,
topics, buckets, secrets); `WIRING` kinds connect things once the functions
are known (subscriptions, schedules, the WebSocket API). `INERT` kinds have no
local meaning and say why; they are listed at start. A kind in none of these
fails at start, naming the resource and its kind: the stack never skips what it
cannot run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from relay_local.template import user_pools, websocket
from relay_local.template.context import Context, as_json
from relay_local.template.languages.log_patterns import compile_pattern
from relay_local.template.loader import ref_target
from relay_local.template.model import (
    BucketSpec,
    QueueSpec,
    ScheduleSpec,
    SecretSpec,
    SubscriptionSpec,
    TableSpec,
    TemplateError,
    TopicSpec,
    TopicSubscriptionSpec,
)
from relay_local.template.names import (
    API_V2,
    BUCKET,
    EVENT_RULE,
    FUNCTION,
    HTTP_API,
    LAYER,
    LOG_SUBSCRIPTION,
    QUEUE,
    SCHEDULE,
    SECRET,
    TABLE,
    TOPIC,
    TOPIC_SUBSCRIPTION,
    USER_POOL,
    USER_POOL_CLIENT,
    USER_POOL_GROUP,
)

ResourceParser = Callable[[Context, str, dict[str, Any]], None]


def _table(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = ctx.resolve(resource.get("Properties") or {})
    stream = props.get("StreamSpecification") or {}
    view = stream.get("StreamViewType") if stream.get("StreamEnabled", True) else None
    name = ctx.names.name(logical_id, resource)
    ctx.model.tables[logical_id] = TableSpec(logical_id, name, props, view)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def _attributes(ctx: Context, props: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key in keys:
        if key in props:
            value = ctx.resolver.try_resolve(props[key], placeholder="")
            if value == "":
                continue
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return attributes


def _queue(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    attributes = _attributes(ctx, props, _QUEUE_ATTRIBUTES)
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = json.dumps(ctx.resolve(props[key]))
    name = ctx.names.name(logical_id, resource)
    arn = ctx.names.arn(logical_id, resource)
    assert arn is not None
    ctx.model.queues[logical_id] = QueueSpec(
        logical_id, name, ctx.names.queue_url(name), arn, attributes
    )


def _topic(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    attributes = _attributes(ctx, props, ("FifoTopic", "ContentBasedDeduplication", "DisplayName"))
    arn = ctx.names.arn(logical_id, resource)
    assert arn is not None
    ctx.model.topics[logical_id] = TopicSpec(
        logical_id, ctx.names.name(logical_id, resource), arn, attributes
    )


def _bucket(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = ctx.resolve(resource.get("Properties") or {})
    for unsupported in ("NotificationConfiguration", "ReplicationConfiguration"):
        if props.get(unsupported):
            raise TemplateError(
                f"{logical_id} (AWS::S3::Bucket): {unsupported} is not run by the local stack"
            )
    rules = (props.get("CorsConfiguration") or {}).get("CorsRules") or []
    cors = [
        {
            key: value
            for key, value in {
                "AllowedHeaders": rule.get("AllowedHeaders"),
                "AllowedMethods": rule.get("AllowedMethods"),
                "AllowedOrigins": rule.get("AllowedOrigins"),
                "ExposeHeaders": rule.get("ExposedHeaders"),
                "MaxAgeSeconds": rule.get("MaxAge"),
            }.items()
            if value is not None
        }
        for rule in rules
    ]
    ctx.model.buckets[logical_id] = BucketSpec(
        logical_id, ctx.names.name(logical_id, resource), as_json(cors)
    )


def _secret(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    arn = ctx.names.arn(logical_id, resource)
    assert arn is not None
    value = props.get("SecretString")
    ctx.model.secrets[logical_id] = SecretSpec(
        logical_id,
        ctx.names.name(logical_id, resource),
        arn,
        None if value is None else str(ctx.resolve(value)),
        as_json(ctx.resolve(props.get("GenerateSecretString") or {})),
    )


def _endpoint(ctx: Context, where: str, protocol: str, endpoint: Any) -> str:
    if protocol in PRINTED_PROTOCOLS:
        return str(ctx.resolver.try_resolve(endpoint, placeholder="(unresolved address)"))
    target = ctx.target(endpoint)
    wanted = {"sqs": QUEUE, "lambda": FUNCTION}.get(protocol)
    if wanted is None:
        raise TemplateError(
            f"{where}: the local stack delivers SNS to sqs and lambda subscriptions, and"
            f" prints what email and sms ones would get; not {protocol!r}"
        )
    if target is None or ctx.resources.get(target, {}).get("Type") != wanted:
        raise TemplateError(f"{where}: Endpoint must name a {wanted} of the template")
    return target


# Subscriptions to people: locally, each delivery is a line of `relay run`'s output.
PRINTED_PROTOCOLS = frozenset({"email", "email-json", "sms"})


def _topic_subscription(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    where = f"{logical_id} ({TOPIC_SUBSCRIPTION})"
    topic = ctx.target(props.get("TopicArn"))
    if topic not in ctx.model.topics:
        raise TemplateError(f"{where}: TopicArn must name a topic of the template")
    protocol = str(ctx.resolve(props.get("Protocol", ""))).lower()
    ctx.model.topic_subscriptions.append(
        TopicSubscriptionSpec(
            logical_id=logical_id,
            topic=str(topic),
            protocol=protocol,
            endpoint=_endpoint(ctx, where, protocol, props.get("Endpoint")),
            filter_policy=as_json(ctx.resolve(props.get("FilterPolicy"))),
            filter_scope=str(ctx.resolve(props.get("FilterPolicyScope", "MessageAttributes"))),
            raw=ctx.flag(props.get("RawMessageDelivery", False)),
        )
    )


def _inline_topic_subscriptions(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    """A topic's own `Subscription` list: endpoint and protocol only, as CloudFormation allows."""
    for index, entry in enumerate((resource.get("Properties") or {}).get("Subscription") or []):
        protocol = str(ctx.resolve(entry.get("Protocol", ""))).lower()
        where = f"{logical_id} (AWS::SNS::Topic) Subscription {index}"
        ctx.model.topic_subscriptions.append(
            TopicSubscriptionSpec(
                logical_id=f"{logical_id}Subscription{index}",
                topic=logical_id,
                protocol=protocol,
                endpoint=_endpoint(ctx, where, protocol, entry.get("Endpoint")),
            )
        )


def _log_subscription(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    group = str(ctx.resolver.try_resolve(props.get("LogGroupName"), placeholder=""))
    destination = ref_target(props.get("DestinationArn"))
    if destination not in ctx.model.functions:
        raise TemplateError(
            f"{logical_id} ({LOG_SUBSCRIPTION}): DestinationArn must be !GetAtt SomeFunction.Arn"
        )
    add_log_subscription(
        ctx,
        logical_id,
        str(ctx.resolver.try_resolve(props.get("FilterName", logical_id))),
        group,
        str(destination),
        str(props.get("FilterPattern", "")),
    )


def add_log_subscription(
    ctx: Context, where: str, name: str, group: str, destination: str, pattern: str
) -> None:
    """A subscription from the log group of one of the template's functions."""
    source = next(
        (f.logical_id for f in ctx.model.functions.values() if f.log_group == group), None
    )
    if source is None:
        raise TemplateError(f"{where}: log group {group!r} is written by no function")
    compile_pattern(pattern)  # refuse a pattern we would match wrongly, at start
    ctx.model.subscriptions.append(SubscriptionSpec(name, group, source, destination, pattern))


def _event_rule(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    where = f"{logical_id} ({EVENT_RULE})"
    if "ScheduleExpression" not in props:
        raise TemplateError(f"{where}: only scheduled rules are run locally (no EventPattern)")
    name = ctx.names.name(logical_id, resource)
    state = str(ctx.resolve(props.get("State", "ENABLED")))
    for target in props.get("Targets") or []:
        function = ctx.target(target.get("Arn"))
        if function not in ctx.model.functions:
            raise TemplateError(f"{where}: target {target.get('Id')} must be a template function")
        ctx.model.schedules.append(
            ScheduleSpec(
                name=name,
                function=str(function),
                expression=str(ctx.resolve(props["ScheduleExpression"])),
                input=_optional(ctx, target.get("Input")),
                enabled=state != "DISABLED",
            )
        )


def _schedule(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    where = f"{logical_id} ({SCHEDULE})"
    target = props.get("Target") or {}
    function = ctx.target(target.get("Arn"))
    if function not in ctx.model.functions:
        raise TemplateError(f"{where}: Target.Arn must be a template function")
    ctx.model.schedules.append(
        ScheduleSpec(
            name=ctx.names.name(logical_id, resource),
            function=str(function),
            expression=str(ctx.resolve(props.get("ScheduleExpression"))),
            timezone=str(ctx.resolve(props.get("ScheduleExpressionTimezone", "UTC"))),
            input=_optional(ctx, target.get("Input")),
            scheduler=True,
            enabled=str(ctx.resolve(props.get("State", "ENABLED"))) != "DISABLED",
            start=_optional(ctx, props.get("StartDate")),
            end=_optional(ctx, props.get("EndDate")),
        )
    )


def _optional(ctx: Context, value: Any) -> str | None:
    return None if value is None else str(ctx.resolve(value))


DATA: dict[str, ResourceParser] = {
    TABLE: _table,
    QUEUE: _queue,
    TOPIC: _topic,
    BUCKET: _bucket,
    SECRET: _secret,
    USER_POOL: user_pools.parse_pool,
    USER_POOL_CLIENT: user_pools.parse_client,
    USER_POOL_GROUP: user_pools.parse_group,
}

WIRING: dict[str, ResourceParser] = {
    TOPIC: _inline_topic_subscriptions,
    TOPIC_SUBSCRIPTION: _topic_subscription,
    LOG_SUBSCRIPTION: _log_subscription,
    EVENT_RULE: _event_rule,
    SCHEDULE: _schedule,
    API_V2: websocket.parse_api,
    USER_POOL: user_pools.parse_lambda_config,
}

# Read by the functions' and APIs' own parsers.
HANDLED: frozenset[str] = frozenset({FUNCTION, LAYER, HTTP_API, *websocket.PARTS})

_NETWORK = "networking: local functions reach local services directly"
_ACCESS = "access control is not enforced locally"
_MONITORING = "monitoring runs on AWS only"
INERT: dict[str, str] = {
    **{
        f"AWS::EC2::{kind}": _NETWORK
        for kind in (
            "VPC",
            "Subnet",
            "RouteTable",
            "Route",
            "SubnetRouteTableAssociation",
            "VPCEndpoint",
            "SecurityGroup",
            "SecurityGroupEgress",
            "SecurityGroupIngress",
            "InternetGateway",
            "VPCGatewayAttachment",
            "NatGateway",
            "EIP",
            "EgressOnlyInternetGateway",
            "VPCCidrBlock",
        )
    },
    **{
        f"AWS::ElastiCache::{kind}": "Redis: the local stack's own Redis stands in"
        for kind in ("ReplicationGroup", "CacheCluster", "SubnetGroup", "ParameterGroup", "User")
    },
    "AWS::Logs::LogGroup": "log groups: function output is printed and fed to subscriptions",
    "AWS::Logs::MetricFilter": _MONITORING,
    "AWS::CloudWatch::Alarm": _MONITORING,
    "AWS::CloudWatch::CompositeAlarm": _MONITORING,
    "AWS::CloudWatch::Dashboard": _MONITORING,
    "AWS::Lambda::Permission": _ACCESS,
    "AWS::IAM::Role": _ACCESS,
    "AWS::IAM::Policy": _ACCESS,
    "AWS::IAM::ManagedPolicy": _ACCESS,
    "AWS::SQS::QueuePolicy": _ACCESS,
    "AWS::SNS::TopicPolicy": _ACCESS,
    "AWS::S3::BucketPolicy": _ACCESS,
    "AWS::ApplicationAutoScaling::ScalableTarget": "capacity: local tables have no limits",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "capacity: local tables have no limits",
    "AWS::Cognito::UserPoolDomain": "the hosted sign-in pages: clients call the local endpoint",
    "AWS::Cognito::UserPoolUICustomizationAttachment": "the hosted sign-in pages",
    "AWS::Cognito::UserPoolRiskConfigurationAttachment": "threat protection runs on AWS only",
    "AWS::Cognito::LogDeliveryConfiguration": _MONITORING,
    **{
        f"AWS::CloudFront::{kind}": "the browser client: relay run serves web/ at /app/ itself"
        for kind in ("Distribution", "OriginAccessControl", "ResponseHeadersPolicy", "Function")
    },
    "AWS::KMS::Key": "encryption at rest: local data is not encrypted",
    "AWS::KMS::Alias": "encryption at rest: local data is not encrypted",
}

_HINTS = {
    "AWS::Serverless::Api": "REST APIs are not served locally; use AWS::Serverless::HttpApi",
    "AWS::Lambda::Function": "declare functions as AWS::Serverless::Function",
    "AWS::Lambda::EventSourceMapping": "declare event sources as Events of the function",
}


def unsupported(logical_id: str, kind: str) -> TemplateError:
    hint = _HINTS.get(kind, "the local stack cannot run this kind of resource")
    return TemplateError(f"{logical_id} ({kind}): {hint}")
