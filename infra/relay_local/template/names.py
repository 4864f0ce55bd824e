"""Local names, ARNs and URLs of a template's resources: what `Ref` and `Fn::GetAtt` mean here.

The resolver asks these hooks for every `Ref`/`GetAtt` it meets. A queue's
`Ref` is its moto URL, a table's its name, a function's `Arn` a local ARN, an
API's `ApiEndpoint` the host API Gateway would give it
(`{apiId}.execute-api.{region}.amazonaws.com`); `localize` later points such
hosts at the local gateways, so an environment variable built with `!Sub`
reaches `relay run`'s ports. What has no local counterpart (a VPC id, an
ElastiCache endpoint) raises `Unresolved`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from relay_local.template.loader import ACCOUNT_ID, REGION, STACK_NAME, Resolver, Unresolved

FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
TOPIC_SUBSCRIPTION = "AWS::SNS::Subscription"
BUCKET = "AWS::S3::Bucket"
SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a password
LAYER = "AWS::Serverless::LayerVersion"
HTTP_API = "AWS::Serverless::HttpApi"
API_V2 = "AWS::ApiGatewayV2::Api"
LOG_GROUP = "AWS::Logs::LogGroup"
LOG_SUBSCRIPTION = "AWS::Logs::SubscriptionFilter"
EVENT_RULE = "AWS::Events::Rule"
SCHEDULE = "AWS::Scheduler::Schedule"
USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP = "AWS::Cognito::UserPoolGroup"
IMPLICIT_HTTP_API = "ServerlessHttpApi"

_NAME_PROPERTY = {
    TABLE: "TableName",
    QUEUE: "QueueName",
    TOPIC: "TopicName",
    BUCKET: "BucketName",
    SECRET: "Name",
    FUNCTION: "FunctionName",
    LAMBDA_FUNCTION: "FunctionName",
    LOG_GROUP: "LogGroupName",
    EVENT_RULE: "Name",
    SCHEDULE: "Name",
    API_V2: "Name",
    USER_POOL: "UserPoolName",
    USER_POOL_CLIENT: "ClientName",
    USER_POOL_GROUP: "GroupName",
}

_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def api_id(logical_id: str) -> str:
    """A stand-in for API Gateway's generated id: lower-case letters and digits, at most 10."""
    return re.sub(r"[^a-z0-9]", "", logical_id.lower())[:10] or "api"


def _stable_id(seed: str, alphabet: str, length: int) -> str:
    digest = int.from_bytes(hashlib.sha256(f"{STACK_NAME}/{seed}".encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def user_pool_id(logical_id: str) -> str:
    """A user pool's id as Cognito shapes it (`us-east-1_` and 9 letters or digits), derived
    from the logical id: the same at every start, so `!Ref`, the token issuer and the
    users stored under it survive restarts without being looked up."""
    return f"{REGION}_{_stable_id(logical_id, _ALPHANUMERIC, 9)}"


def user_pool_client_id(logical_id: str) -> str:
    """An app client's id as Cognito shapes it: 26 lower-case letters and digits."""
    return _stable_id(f"client/{logical_id}", "abcdefghijklmnopqrstuvwxyz0123456789", 26)


def cognito_issuer(pool_id: str) -> str:
    """The `iss` of the pool's tokens, on AWS and locally alike."""
    return f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"


def execute_api_host(api: str) -> str:
    return f"{api}.execute-api.{REGION}.amazonaws.com"


def localize(value: str, hosts: Mapping[str, str]) -> str:
    """Point API Gateway URLs of the template's APIs at the local gateways.

    `hosts` maps a URL prefix as AWS would write it to the local one, for example
    `https://httpapi.execute-api.us-east-1.amazonaws.com` -> `http://127.0.0.1:3000`.
    """
    if "execute-api" not in value:
        return value
    for remote in sorted(hosts, key=len, reverse=True):
        value = value.replace(remote, hosts[remote])
    return value


def _bucket_name(logical_id: str) -> str:
    # CloudFormation generates `stack-logicalid-random` in lower case; S3 refuses capitals.
    name = re.sub(r"[^a-z0-9-]", "", f"{STACK_NAME}-{logical_id}".lower())
    return name[:63]


class LocalNames:
    """The resolver's Ref/GetAtt hooks: local names, ARNs and URLs of resources."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        self.resolver: Resolver | None = None

    def name(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        kind = resource.get("Type", "")
        props = resource.get("Properties", {}) or {}
        key = _NAME_PROPERTY.get(kind)
        if key and key in props:
            assert self.resolver is not None
            return str(self.resolver.resolve(props[key]))
        if kind == QUEUE and props.get("FifoQueue") in (True, "true"):
            return f"{logical_id}.fifo"
        if kind == TOPIC and props.get("FifoTopic") in (True, "true"):
            return f"{logical_id}.fifo"
        if kind == BUCKET:
            return _bucket_name(logical_id)
        if kind == LOG_GROUP:
            raise Unresolved(f"log group {logical_id} has no LogGroupName")
        return logical_id

    def queue_url(self, name: str) -> str:
        return f"{self.moto_url}/{ACCOUNT_ID}/{name}"

    def arn(self, logical_id: str, resource: Mapping[str, Any]) -> str | None:
        kind = resource.get("Type", "")
        name = self.name(logical_id, resource)
        return {
            TABLE: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            QUEUE: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            TOPIC: f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}",
            BUCKET: f"arn:aws:s3:::{name}",
            SECRET: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}",
            FUNCTION: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            LAMBDA_FUNCTION: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            LOG_GROUP: f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
            EVENT_RULE: f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}",
            SCHEDULE: f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{name}",
            USER_POOL: (
                f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{user_pool_id(logical_id)}"
            ),
        }.get(kind)

    def ref(self, logical_id: str, resource: Mapping[str, Any]) -> Any:
        kind = resource.get("Type", "")
        if kind == QUEUE:
            return self.queue_url(self.name(logical_id, resource))
        if kind in (TOPIC, SECRET):
            return self.arn(logical_id, resource)
        if kind in (HTTP_API, API_V2):
            return api_id(logical_id)
        if kind == USER_POOL:
            return user_pool_id(logical_id)
        if kind == USER_POOL_CLIENT:
            return user_pool_client_id(logical_id)
        if kind == TOPIC_SUBSCRIPTION:
            return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:subscription:{logical_id}"
        if kind.startswith("AWS::ApiGatewayV2::"):
            props = resource.get("Properties", {}) or {}
            if kind.endswith("::Stage") and "StageName" in props:
                assert self.resolver is not None
                return str(self.resolver.resolve(props["StageName"]))
            return logical_id
        if kind in _NAME_PROPERTY or kind in (LAYER,):
            return self.name(logical_id, resource)
        raise Unresolved(f"Ref {logical_id} ({kind})")

    def get_att(self, logical_id: str, resource: Mapping[str, Any], attribute: str) -> Any:
        kind = resource.get("Type", "")
        if attribute == "Arn":
            arn = self.arn(logical_id, resource)
            if arn is not None:
                return arn
        name = self.name(logical_id, resource)
        if kind == QUEUE and attribute == "QueueName":
            return name
        if kind == QUEUE and attribute == "QueueUrl":
            return self.queue_url(name)
        if kind == TOPIC and attribute == "TopicName":
            return name
        if kind == TOPIC and attribute == "TopicArn":
            return self.arn(logical_id, resource)
        if kind == TABLE and attribute == "StreamArn":
            return f"{self.arn(logical_id, resource)}/stream/local"
        if kind == BUCKET and attribute in ("DomainName", "RegionalDomainName"):
            return f"{name}.s3.{REGION}.amazonaws.com"
        if kind in (HTTP_API, API_V2) and attribute == "ApiEndpoint":
            props = resource.get("Properties", {}) or {}
            scheme = "wss" if props.get("ProtocolType") == "WEBSOCKET" else "https"
            return f"{scheme}://{execute_api_host(api_id(logical_id))}"
        if kind in (HTTP_API, API_V2) and attribute == "ApiId":
            return api_id(logical_id)
        if kind == USER_POOL and attribute == "UserPoolId":
            return user_pool_id(logical_id)
        if kind == USER_POOL and attribute in ("ProviderName", "ProviderURL"):
            url = cognito_issuer(user_pool_id(logical_id))
            return url if attribute == "ProviderURL" else url.removeprefix("https://")
        if kind == USER_POOL_CLIENT and attribute == "ClientId":
            return user_pool_client_id(logical_id)
        if kind == USER_POOL_CLIENT and attribute == "Name":
            return name
        raise Unresolved(f"GetAtt {logical_id}.{attribute} ({kind})")
