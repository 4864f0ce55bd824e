"""Builders of the events AWS hands to functions: API Gateway HTTP API payload 2.0,
its REQUEST authorizer event, and SQS event source records.

Shapes follow the AWS documentation field for field; tests compare against
them, so a handler that works here reads the same keys on AWS.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from relay_local.template.loader import ACCOUNT_ID, REGION

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LOCAL_API_ID = "relaylocal"


@dataclass
class HttpRequest:
    """What the gateway read off the wire, before routing."""

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]  # lower-case names, duplicates comma-joined, Cookie removed
    cookies: list[str]
    body: bytes
    source_ip: str

    @classmethod
    def from_asgi(cls, scope: dict[str, Any], body: bytes) -> HttpRequest:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            if name == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        client = scope.get("client")
        source_ip = client[0] if client else "127.0.0.1"
        # Headers API Gateway adds on its way to the integration.
        forwarded = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {source_ip}" if forwarded else source_ip
        server = scope.get("server")
        headers["x-forwarded-port"] = str(server[1]) if server else "80"
        headers["x-forwarded-proto"] = scope.get("scheme", "http")
        headers["x-amzn-trace-id"] = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        return cls(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0],
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            cookies=cookies,
            body=body,
            source_ip=source_ip,
        )

    def query_parameters(self) -> dict[str, str] | None:
        if not self.raw_query:
            return None
        params: dict[str, str] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        return params


def _request_time(epoch: float) -> str:
    tm = time.gmtime(epoch)
    return (
        f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000"
    )


def request_context(request: HttpRequest, route_key: str, request_id: str) -> dict[str, Any]:
    now = time.time()
    host = request.headers.get("host", "localhost")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": host,
        "domainPrefix": host.split(":", 1)[0].split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _request_time(now),
        "timeEpoch": int(now * 1000),
    }


def new_request_id() -> str:
    return str(uuid.uuid4())


def http_event(
    request: HttpRequest,
    route_key: str,
    path_parameters: dict[str, str] | None,
    context: dict[str, Any],
    authorizer_context: dict[str, Any] | None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": request.headers,
    }
    if request.cookies:
        event["cookies"] = request.cookies
    query = request.query_parameters()
    if query is not None:
        event["queryStringParameters"] = query
    if authorizer_context is not None:
        context = {**context, "authorizer": {"lambda": authorizer_context}}
    event["requestContext"] = context
    if path_parameters:
        event["pathParameters"] = path_parameters
    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
            event["isBase64Encoded"] = False
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def route_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{LOCAL_API_ID}/$default/{method}{path}"


def authorizer_event(
    request: HttpRequest,
    route_key: str,
    path_parameters: dict[str, str] | None,
    context: dict[str, Any],
    identity_source: list[str],
) -> dict[str, Any]:
    """The REQUEST authorizer event, payload format 2.0."""
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn(request.method, request.raw_path),
        "identitySource": identity_source,
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": request.headers,
        "requestContext": context,
    }
    if request.cookies:
        event["cookies"] = request.cookies
    query = request.query_parameters()
    if query is not None:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def sqs_event(messages: Iterable[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event source mapping's event, from ReceiveMessage (JSON protocol) messages."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message.get("Body", ""),
                "attributes": {
                    key: attributes[key]
                    for key in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SenderId",
                        "ApproximateFirstReceiveTimestamp",
                        "SequenceNumber",
                        "MessageGroupId",
                        "MessageDeduplicationId",
                        "AWSTraceHeader",
                    )
                    if key in attributes
                },
                "messageAttributes": {
                    name: _message_attribute(value)
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = value["BinaryValue"]
    attribute["stringListValues"] = value.get("StringListValues", [])
    attribute["binaryListValues"] = value.get("BinaryListValues", [])
    attribute["dataType"] = value.get("DataType")
    return attribute
