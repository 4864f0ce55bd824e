"""The local stack's view of a SAM template: functions, routes, queues, filters.

`build_model` reads the template once, at start, and resolves everything the
local stack needs into plain dataclasses, so that nothing on the request path
looks at YAML again. Names follow CloudFormation: a resource's own name
property when the template gives one (resolved), else its logical id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay_local.template.loader import (
    ACCOUNT_ID,
    REGION,
    Resolver,
    Unresolved,
    load_template,
    ref_target,
)

FUNCTION = "AWS::Serverless::Function"
TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
LAYER = "AWS::Serverless::LayerVersion"
HTTP_API = "AWS::Serverless::HttpApi"
LOG_GROUP = "AWS::Logs::LogGroup"
SUBSCRIPTION = "AWS::Logs::SubscriptionFilter"
IMPLICIT_HTTP_API = "ServerlessHttpApi"


class TemplateError(Exception):
    """The template asks for something the local stack cannot serve faithfully."""


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    url: str
    arn: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class OnFailure:
    queue: str  # logical id of an SQS queue


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: float
    env: dict[str, str]
    layer_dirs: list[Path]
    log_group: str
    on_failure: OnFailure | None = None
    max_async_retries: int = 2

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    api_id: str
    function: str
    identity_headers: tuple[str, ...]
    identity_query: tuple[str, ...]
    simple_responses: bool
    payload_version: str


@dataclass(frozen=True)
class RouteSpec:
    method: str  # upper case, or ANY
    path: str  # as written: /api/links/{code}, /{proxy+}, $default
    function: str
    api_id: str
    authorizer: AuthorizerSpec | None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSourceSpec:
    function: str
    queue: str  # logical id
    batch_size: int
    window_s: float
    report_failures: bool


@dataclass(frozen=True)
class SubscriptionSpec:
    name: str
    log_group: str
    source_function: str
    destination_function: str
    pattern: str


@dataclass
class StackModel:
    root: Path
    moto_url: str
    tables: dict[str, TableSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    authorizers: list[AuthorizerSpec] = field(default_factory=list)
    sqs_sources: list[SqsSourceSpec] = field(default_factory=list)
    subscriptions: list[SubscriptionSpec] = field(default_factory=list)
    websocket_apis: list[str] = field(default_factory=list)


class _Names:
    """Local names and ARNs of resources, for the resolver's Ref/GetAtt hooks."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        self.resolver: Resolver | None = None

    def name(self, logical_id: str, resource: Any) -> str:
        kind = resource.get("Type", "")
        props = resource.get("Properties", {}) or {}
        key = {
            TABLE: "TableName",
            QUEUE: "QueueName",
            FUNCTION: "FunctionName",
            LOG_GROUP: "LogGroupName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::SecretsManager::Secret": "Name",
        }.get(kind)
        if key and key in props:
            assert self.resolver is not None
            return str(self.resolver.resolve(props[key]))
        if kind == QUEUE and props.get("FifoQueue") in (True, "true"):
            return f"{logical_id}.fifo"
        if kind == LOG_GROUP:
            raise Unresolved(f"log group {logical_id} has no LogGroupName")
        return logical_id

    def ref(self, logical_id: str, resource: Any) -> Any:
        kind = resource.get("Type", "")
        name = self.name(logical_id, resource)
        if kind == QUEUE:
            return f"{self.moto_url}/{ACCOUNT_ID}/{name}"
        if kind in (TABLE, FUNCTION, LOG_GROUP, "AWS::S3::Bucket"):
            return name
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}"
        if kind == HTTP_API:
            return logical_id
        raise Unresolved(f"Ref {logical_id} ({kind})")

    def get_att(self, logical_id: str, resource: Any, attribute: str) -> Any:
        kind = resource.get("Type", "")
        name = self.name(logical_id, resource)
        arns = {
            TABLE: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            QUEUE: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            FUNCTION: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            LOG_GROUP: f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if kind == QUEUE and attribute == "QueueName":
            return name
        if kind == QUEUE and attribute == "QueueUrl":
            return f"{self.moto_url}/{ACCOUNT_ID}/{name}"
        if kind == TABLE and attribute == "StreamArn":
            return f"{arns[TABLE]}/stream/local"
        raise Unresolved(f"GetAtt {logical_id}.{attribute} ({kind})")


def _merge(base: Any, override: Any) -> Any:
    """SAM's Globals merge: maps merge key by key, everything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


def build_model(template_path: Path, moto_url: str) -> StackModel:
    """Read the template and resolve what the local stack serves."""
    if not template_path.is_file():
        raise TemplateError(f"no template at {template_path} (use --template)")
    template = load_template(template_path)
    root = template_path.resolve().parent
    names = _Names(moto_url)
    resolver = Resolver(template, names.ref, names.get_att)
    names.resolver = resolver
    model = StackModel(root=root, moto_url=moto_url)
    resources: dict[str, Any] = template["Resources"]
    globals_ = template.get("Globals", {}) or {}

    for logical_id, resource in resources.items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        kind = resource.get("Type")
        props = resource.get("Properties", {}) or {}
        if kind == TABLE:
            model.tables[logical_id] = _table(logical_id, props, names, resource, resolver)
        elif kind == QUEUE:
            model.queues[logical_id] = _queue(logical_id, props, names, resource, resolver)
        elif kind == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET":
            model.websocket_apis.append(logical_id)

    authorizers = _authorizers(resources, globals_, resolver)
    model.authorizers = [a for by_name in authorizers.values() for a in by_name.values()]
    default_authorizer = _default_authorizers(resources, globals_)

    for logical_id, resource in resources.items():
        if resource.get("Type") != FUNCTION:
            continue
        props = _merge(globals_.get("Function", {}) or {}, resource.get("Properties", {}) or {})
        function = _function(logical_id, props, names, resource, resolver, resources, root)
        model.functions[logical_id] = function
        for event in (props.get("Events") or {}).values():
            _event(model, logical_id, event, resolver, authorizers, default_authorizer)

    model.subscriptions = _subscriptions(resources, model, names, resolver)
    return model


def _table(
    logical_id: str, props: dict[str, Any], names: _Names, resource: Any, resolver: Resolver
) -> TableSpec:
    resolved = resolver.resolve(props)
    return TableSpec(logical_id, names.name(logical_id, resource), resolved)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def _queue(
    logical_id: str, props: dict[str, Any], names: _Names, resource: Any, resolver: Resolver
) -> QueueSpec:
    name = names.name(logical_id, resource)
    attributes: dict[str, str] = {}
    for key in _QUEUE_ATTRIBUTES:
        if key in props:
            value = resolver.try_resolve(props[key], placeholder="")
            if value == "" or key == "KmsMasterKeyId":
                continue
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = json.dumps(resolver.resolve(props[key]))
    return QueueSpec(
        logical_id,
        name,
        url=names.ref(logical_id, resource),
        arn=names.get_att(logical_id, resource, "Arn"),
        attributes=attributes,
    )


def _function(
    logical_id: str,
    props: dict[str, Any],
    names: _Names,
    resource: Any,
    resolver: Resolver,
    resources: dict[str, Any],
    root: Path,
) -> FunctionSpec:
    code_uri = props.get("CodeUri", ".")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local directory")
    env: dict[str, str] = {}
    variables = (props.get("Environment") or {}).get("Variables") or {}
    for key, value in variables.items():
        resolved = resolver.try_resolve(value)
        if resolved is None:
            continue
        env[key] = json.dumps(resolved) if isinstance(resolved, (dict, list)) else str(resolved)
        if isinstance(resolved, bool):
            env[key] = str(resolved).lower()
    layer_dirs: list[Path] = []
    for layer in props.get("Layers") or []:
        target = ref_target(layer)
        if target and resources.get(target, {}).get("Type") == LAYER:
            content = resources[target].get("Properties", {}).get("ContentUri", ".")
            layer_dirs.append((root / str(content)).resolve())
    name = names.name(logical_id, resource)
    log_group = f"/aws/lambda/{name}"
    logging_config = props.get("LoggingConfig") or {}
    if "LogGroup" in logging_config:
        log_group = str(resolver.try_resolve(logging_config["LogGroup"], placeholder=log_group))
    on_failure: OnFailure | None = None
    invoke_config = props.get("EventInvokeConfig") or {}
    failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
    target = ref_target(failure.get("Destination"))
    if failure.get("Type") == "SQS" and target:
        on_failure = OnFailure(queue=target)
    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        code_dir=(root / code_uri).resolve(),
        handler=str(props.get("Handler", "app.lambda_handler")),
        runtime=str(props.get("Runtime", "python3.12")),
        memory_mb=int(resolver.try_resolve(props.get("MemorySize", 128), placeholder="128")),
        timeout_s=float(resolver.try_resolve(props.get("Timeout", 3), placeholder="3")),
        env=env,
        layer_dirs=layer_dirs,
        log_group=log_group,
        on_failure=on_failure,
        max_async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
    )


def _authorizers(
    resources: dict[str, Any], globals_: dict[str, Any], resolver: Resolver
) -> dict[str, dict[str, AuthorizerSpec]]:
    """Authorizers per HttpApi logical id (the implicit API takes Globals.HttpApi)."""
    apis: dict[str, dict[str, Any]] = {
        IMPLICIT_HTTP_API: (globals_.get("HttpApi") or {}).get("Auth") or {}
    }
    for logical_id, resource in resources.items():
        if resource.get("Type") == HTTP_API:
            props = _merge(globals_.get("HttpApi") or {}, resource.get("Properties") or {})
            apis[logical_id] = props.get("Auth") or {}
    result: dict[str, dict[str, AuthorizerSpec]] = {}
    for api_id, auth in apis.items():
        result[api_id] = {}
        for name, config in (auth.get("Authorizers") or {}).items():
            function = ref_target(config.get("FunctionArn"))
            if function is None:
                # JWT authorizers (Cognito) have no local function to run.
                continue
            identity = config.get("Identity") or {}
            result[api_id][name] = AuthorizerSpec(
                name=name,
                api_id=api_id,
                function=function,
                identity_headers=tuple(str(h).lower() for h in identity.get("Headers") or []),
                identity_query=tuple(str(q) for q in identity.get("QueryStrings") or []),
                simple_responses=bool(config.get("EnableSimpleResponses", False)),
                payload_version=str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
            )
    return result


def _default_authorizers(resources: dict[str, Any], globals_: dict[str, Any]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    implicit = ((globals_.get("HttpApi") or {}).get("Auth") or {}).get("DefaultAuthorizer")
    if implicit:
        defaults[IMPLICIT_HTTP_API] = str(implicit)
    for logical_id, resource in resources.items():
        if resource.get("Type") == HTTP_API:
            props = _merge(globals_.get("HttpApi") or {}, resource.get("Properties") or {})
            default = (props.get("Auth") or {}).get("DefaultAuthorizer")
            if default:
                defaults[logical_id] = str(default)
    return defaults


def _event(
    model: StackModel,
    function: str,
    event: dict[str, Any],
    resolver: Resolver,
    authorizers: dict[str, dict[str, AuthorizerSpec]],
    default_authorizer: dict[str, str],
) -> None:
    kind = event.get("Type")
    props = event.get("Properties") or {}
    if kind == "HttpApi":
        api_id = ref_target(props.get("ApiId")) or IMPLICIT_HTTP_API
        method = str(props.get("Method", "ANY")).upper()
        path = str(props.get("Path", "$default"))
        if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
            method = "ANY"
        if str(props.get("PayloadFormatVersion", "2.0")) != "2.0":
            raise TemplateError(f"{function}: only HTTP API payload format 2.0 is served locally")
        auth_name = (props.get("Auth") or {}).get("Authorizer") or default_authorizer.get(api_id)
        authorizer = None
        if auth_name and auth_name != "NONE":
            authorizer = authorizers.get(api_id, {}).get(str(auth_name))
            if authorizer is None:
                raise TemplateError(f"{function}: unknown authorizer {auth_name} on {api_id}")
        model.routes.append(RouteSpec(method, path, function, api_id, authorizer))
    elif kind == "SQS":
        queue = ref_target(props.get("Queue"))
        if queue is None or queue not in model.queues:
            raise TemplateError(f"{function}: SQS event source must name a queue of the template")
        response_types = props.get("FunctionResponseTypes") or []
        model.sqs_sources.append(
            SqsSourceSpec(
                function=function,
                queue=queue,
                batch_size=int(resolver.resolve(props.get("BatchSize", 10))),
                window_s=float(resolver.resolve(props.get("MaximumBatchingWindowInSeconds", 0))),
                report_failures="ReportBatchItemFailures" in response_types,
            )
        )


def _subscriptions(
    resources: dict[str, Any], model: StackModel, names: _Names, resolver: Resolver
) -> list[SubscriptionSpec]:
    by_group: dict[str, str] = {}
    for function in model.functions.values():
        by_group[function.log_group] = function.logical_id
    result: list[SubscriptionSpec] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != SUBSCRIPTION:
            continue
        props = resource.get("Properties") or {}
        group = str(resolver.try_resolve(props.get("LogGroupName"), placeholder=""))
        source = by_group.get(group)
        destination = ref_target(props.get("DestinationArn"))
        if source is None:
            raise TemplateError(f"{logical_id}: log group {group!r} is used by no function")
        if destination not in model.functions:
            raise TemplateError(f"{logical_id}: DestinationArn must be !GetAtt SomeFunction.Arn")
        filter_name = str(resolver.try_resolve(props.get("FilterName", logical_id)))
        result.append(
            SubscriptionSpec(
                name=filter_name,
                log_group=group,
                source_function=source,
                destination_function=str(destination),
                pattern=str(props.get("FilterPattern", "")),
            )
        )
    return result
