"""The local stack's view of a SAM template: plain, comparable dataclasses.

`relay_local.template.build.build_model` fills a `StackModel` once per template
version, so that nothing on a request path looks at YAML again. Every spec is
frozen and compares by value: after a template edit the stack keeps whatever
is unchanged (warm workers, running pollers) and replaces only what differs.
Names follow CloudFormation: a resource's own name property when the template
gives one, else one derived from its logical id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay_local.template.errors import TemplateError
from relay_local.template.loader import ACCOUNT_ID, REGION

# An event source's FilterCriteria, compiled: whether a record reaches the function.
RecordFilter = Callable[[dict[str, Any]], bool]

__all__ = ["TemplateError"]


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: dict[str, Any] = field(hash=False)
    stream_view: str | None = None  # StreamSpecification.StreamViewType when streams are on

    @property
    def arn(self) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.name}"

    @property
    def stream_arn(self) -> str:
        return f"{self.arn}/stream/local"


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    url: str
    arn: str
    attributes: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class TopicSpec:
    logical_id: str
    name: str
    arn: str
    attributes: dict[str, str] = field(hash=False)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoTopic") == "true"


@dataclass(frozen=True)
class TopicSubscriptionSpec:
    """A subscription of the template: to a queue (`sqs`), a function (`lambda`), or a
    person (`email`, `email-json`, `sms`: printed locally)."""

    logical_id: str
    topic: str  # logical id of the topic
    protocol: str  # "sqs" | "lambda" | "email" | "email-json" | "sms"
    endpoint: str  # logical id of the queue or the function; the address of a person
    filter_policy: str = ""  # JSON, "" for none
    filter_scope: str = "MessageAttributes"
    raw: bool = False

    @property
    def arn(self) -> str:
        # Stable across restarts: a subscription's ARN ends with an id of its own.
        return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{self.topic}:{self.logical_id}"


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str
    cors: str = ""  # CorsConfiguration as JSON, "" for none


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    name: str
    arn: str
    value: str | None  # SecretString, or None to generate one
    generate: str = ""  # GenerateSecretString as JSON


@dataclass(frozen=True)
class Destination:
    """Where a failed asynchronous invocation (or stream batch) goes."""

    kind: str  # "SQS" | "SNS"
    target: str  # logical id of the queue or topic


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: float
    env: tuple[tuple[str, str], ...]
    layer_dirs: tuple[Path, ...]
    log_group: str
    on_failure: Destination | None = None
    max_async_retries: int = 2
    max_event_age_s: int = 21600

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer of an HTTP API (simple or IAM answers) or of a WebSocket API."""

    name: str
    api_id: str
    function: str
    identity_headers: tuple[str, ...]  # lower case
    identity_query: tuple[str, ...]
    simple_responses: bool
    payload_version: str  # "2.0" or "1.0" (HTTP APIs); WebSocket authorizers use REQUEST v1


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    """An HTTP API's JWT authorizer: API Gateway checks the token itself, no function runs."""

    name: str
    api_id: str
    issuer: str
    audience: tuple[str, ...]
    identity_header: str | None  # lower case, from `$request.header.<name>`
    identity_query: str | None  # from `$request.querystring.<name>`
    scopes: tuple[str, ...] = ()  # the authorizer's own AuthorizationScopes (SAM), a default

    @property
    def identity(self) -> str:
        if self.identity_header is not None:
            return f"$request.header.{self.identity_header}"
        return f"$request.querystring.{self.identity_query}"


@dataclass(frozen=True)
class CorsSpec:
    """An HTTP API's `CorsConfiguration`: API Gateway answers preflights itself and adds
    these headers to the integration's answers (names and methods as the template
    writes them; `*` allows any)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class RouteSpec:
    method: str  # upper case, or ANY
    path: str  # as written: /api/links/{code}, /{proxy+}, $default
    function: str
    api_id: str
    authorizer: AuthorizerSpec | JwtAuthorizerSpec | None
    scopes: tuple[str, ...] = ()  # AuthorizationScopes: one of them must be in the token

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class WebSocketRouteSpec:
    route_key: str  # $connect, $disconnect, $default, or a selection value
    function: str | None  # None: a route with no Lambda integration (accepted, nothing runs)
    authorizer: AuthorizerSpec | None = None  # only on $connect
    two_way: bool = False  # a $default route response sends the function's body back


@dataclass(frozen=True)
class WebSocketApiSpec:
    logical_id: str
    api_id: str  # the local stand-in for API Gateway's 10-character id
    name: str
    selection: tuple[str, ...]  # `$request.body.action` -> ("action",)
    stage: str
    routes: tuple[WebSocketRouteSpec, ...]

    def route(self, key: str) -> WebSocketRouteSpec | None:
        for route in self.routes:
            if route.route_key == key:
                return route
        return None


@dataclass(frozen=True)
class SqsSourceSpec:
    function: str
    queue: str  # logical id
    batch_size: int
    window_s: float
    report_failures: bool
    enabled: bool = True
    # FilterCriteria: the records the function is given (None: all of them).
    record_filter: RecordFilter | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class SubscriptionSpec:
    """A CloudWatch Logs subscription filter from a function's log group to another function."""

    name: str
    log_group: str
    source_function: str
    destination_function: str
    pattern: str


@dataclass(frozen=True)
class ScheduleSpec:
    name: str  # the rule's or schedule's name
    function: str
    expression: str
    timezone: str = "UTC"
    input: str | None = None  # JSON text sent instead of the scheduled event
    scheduler: bool = False  # EventBridge Scheduler (ScheduleV2), else an EventBridge rule
    enabled: bool = True
    start: str | None = None  # ISO-8601, Scheduler only
    end: str | None = None

    @property
    def arn(self) -> str:
        if self.scheduler:
            return f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{self.name}"
        return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{self.name}"


@dataclass(frozen=True)
class StreamSourceSpec:
    """A DynamoDB Streams event source mapping."""

    function: str
    table: str  # logical id
    starting_position: str  # TRIM_HORIZON | LATEST
    batch_size: int = 100
    window_s: float = 0.0
    max_retries: int = -1  # -1: until the record expires, as on AWS
    bisect: bool = False
    report_failures: bool = False
    on_failure: Destination | None = None
    enabled: bool = True
    record_filter: RecordFilter | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class UserPoolSpec:
    """A Cognito user pool: made in moto under its stable id, its triggers run locally."""

    logical_id: str
    id: str
    name: str
    # The CloudFormation properties, resolved, without LambdaConfig (see CognitoTriggerSpec):
    # the same names CreateUserPool takes.
    properties: dict[str, Any] = field(hash=False, compare=False)
    config: str = ""  # the properties as JSON, what compares

    @property
    def arn(self) -> str:
        return f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{self.id}"

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.id}"

    @property
    def case_sensitive(self) -> bool:
        configuration = self.properties.get("UsernameConfiguration") or {}
        return configuration.get("CaseSensitive", True) not in (False, "false")

    @property
    def username_attributes(self) -> tuple[str, ...]:
        return tuple(str(a) for a in self.properties.get("UsernameAttributes") or [])


@dataclass(frozen=True)
class UserPoolClientSpec:
    logical_id: str
    id: str
    pool: str  # logical id
    name: str
    properties: dict[str, Any] = field(hash=False, compare=False)
    config: str = ""

    @property
    def auth_flows(self) -> frozenset[str]:
        """ExplicitAuthFlows as ALLOW_ names (the legacy spellings mapped to theirs)."""
        legacy = {
            "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
            "CUSTOM_AUTH_FLOW_ONLY": "ALLOW_CUSTOM_AUTH",
        }
        flows = self.properties.get("ExplicitAuthFlows")
        if not flows:
            # Cognito's default for a client made without ExplicitAuthFlows.
            return frozenset(
                {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH"}
            )
        return frozenset(legacy.get(str(flow), str(flow)) for flow in flows)


@dataclass(frozen=True)
class UserPoolGroupSpec:
    logical_id: str
    pool: str  # logical id
    name: str
    description: str = ""
    precedence: int | None = None


@dataclass(frozen=True)
class CognitoTriggerSpec:
    """A function a user pool invokes synchronously at one point of its flows."""

    pool: str  # logical id
    trigger: str  # LambdaConfig's name: PreSignUp, PostConfirmation
    function: str


@dataclass
class StackModel:
    root: Path
    moto_url: str
    parameters: dict[str, str] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    topics: dict[str, TopicSpec] = field(default_factory=dict)
    topic_subscriptions: list[TopicSubscriptionSpec] = field(default_factory=list)
    buckets: dict[str, BucketSpec] = field(default_factory=dict)
    secrets: dict[str, SecretSpec] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    cors: dict[str, CorsSpec] = field(default_factory=dict)  # by HttpApi logical id
    authorizers: list[AuthorizerSpec] = field(default_factory=list)
    websocket_apis: list[WebSocketApiSpec] = field(default_factory=list)
    sqs_sources: list[SqsSourceSpec] = field(default_factory=list)
    subscriptions: list[SubscriptionSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    stream_sources: list[StreamSourceSpec] = field(default_factory=list)
    jwt_authorizers: list[JwtAuthorizerSpec] = field(default_factory=list)
    user_pools: dict[str, UserPoolSpec] = field(default_factory=dict)
    user_pool_clients: dict[str, UserPoolClientSpec] = field(default_factory=dict)
    user_pool_groups: dict[str, UserPoolGroupSpec] = field(default_factory=dict)
    cognito_triggers: list[CognitoTriggerSpec] = field(default_factory=list)
    # What the template holds that has no local meaning, for the start-up summary.
    ignored: dict[str, str] = field(default_factory=dict)

    def queue_by_arn(self, arn: str) -> QueueSpec | None:
        return next((q for q in self.queues.values() if q.arn == arn), None)

    def trigger(self, pool: str, trigger: str) -> str | None:
        """The function a pool (logical id) runs as `trigger`, if any."""
        return next(
            (t.function for t in self.cognito_triggers if t.pool == pool and t.trigger == trigger),
            None,
        )
