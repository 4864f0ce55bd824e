"""The events API Gateway hands to functions: HTTP API payload format 2.0 and its
REQUEST authorizer event; WebSocket CONNECT, MESSAGE and DISCONNECT events and the
WebSocket REQUEST authorizer event.

Shapes follow AWS's documentation and events captured from AWS, field for field
(docs/decisions.md lists the sources); the tests compare against them, so a
handler that works here reads the same keys on AWS.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from relay_local import ids
from relay_local.gateways.http11 import Request
from relay_local.template.loader import ACCOUNT_ID, REGION

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_request_id() -> str:
    return ids.request_id()


_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def gateway_id() -> str:
    """API Gateway's 16-character ids (connection, request, message), ending in "=".

    Letters and digits only: an id travels in URL paths (`@connections/{id}`)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


def request_time(epoch: float) -> str:
    tm = time.gmtime(epoch)
    return (
        f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000"
    )


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{ids.hex_id(24)}"


# --- HTTP API ---------------------------------------------------------------------------


@dataclass(slots=True)
class HttpRequest:
    """What the HTTP gateway read off the wire, in API Gateway's terms."""

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]  # lower-case names, repeats comma-joined, Cookie removed
    cookies: list[str]
    body: bytes
    source_ip: str

    @classmethod
    def of(cls, request: Request) -> HttpRequest:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_name, value in request.headers:
            name = raw_name.lower()
            if name == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        # Headers API Gateway adds on its way to the integration. The TCP peer is the
        # source IP: a client's own X-Forwarded-For must not change it (it would dodge
        # every per-IP rate limit), so it is only extended.
        forwarded = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {request.peer}" if forwarded else request.peer
        headers["x-forwarded-port"] = str(request.port)
        headers["x-forwarded-proto"] = "https" if request.tls else "http"
        headers["x-amzn-trace-id"] = trace_id()
        return cls(
            method=request.method,
            raw_path=request.raw_path,
            raw_query=request.raw_query,
            headers=headers,
            cookies=cookies,
            body=request.body,
            source_ip=request.peer,
        )

    @property
    def path(self) -> str:
        """The path as an HTTP API hands it to the integration: percent-decoded, UTF-8
        (`rawPath` and `requestContext.http.path` both; routing uses the raw one)."""
        return unquote(self.raw_path) if "%" in self.raw_path else self.raw_path

    def query_parameters(self) -> dict[str, str] | None:
        if not self.raw_query:
            return None
        params: dict[str, str] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        return params


def http_context(
    request: HttpRequest, api_id: str, route_key: str, request_id: str
) -> dict[str, Any]:
    now = time.time()
    host = request.headers.get("host", "localhost")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(":", 1)[0].split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": request_time(now),
        "timeEpoch": int(now * 1000),
    }


def http_event(
    request: HttpRequest,
    route_key: str,
    path_parameters: dict[str, str] | None,
    context: dict[str, Any],
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event; `authorizer` is what the route's
    authorizer passes on (`{"lambda": context}` or `{"jwt": {"claims", "scopes"}}`)."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": request.headers,
    }
    if request.cookies:
        event["cookies"] = request.cookies
    query = request.query_parameters()
    if query is not None:
        event["queryStringParameters"] = query
    if authorizer is not None:
        context = {**context, "authorizer": authorizer}
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


def route_arn(api_id: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/$default/{method}{path}"


def http_authorizer_event(
    request: HttpRequest,
    api_id: str,
    route_key: str,
    path_parameters: dict[str, str] | None,
    context: dict[str, Any],
    identity_source: list[str],
) -> dict[str, Any]:
    """The HTTP API REQUEST authorizer event, payload format 2.0."""
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn(api_id, request.method, request.raw_path),
        "identitySource": identity_source,
        "routeKey": route_key,
        "rawPath": request.path,
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


# --- WebSocket API ----------------------------------------------------------------------


@dataclass(slots=True)
class SocketInfo:
    """What API Gateway knows of a WebSocket connection, for every event on it."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
    source_ip: str
    user_agent: str | None
    connected_at: int  # epoch ms
    authorizer: dict[str, Any] | None = None  # principalId and context, once authorized

    def identity(self) -> dict[str, str]:
        identity = {"sourceIp": self.source_ip}
        if self.user_agent is not None:
            identity["userAgent"] = self.user_agent
        return identity


def websocket_context(
    info: SocketInfo, route_key: str, event_type: str, request_id: str
) -> dict[str, Any]:
    now = time.time()
    context: dict[str, Any] = {"routeKey": route_key}
    if event_type == "MESSAGE":
        context["messageId"] = gateway_id()
    context.update(
        {
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": info.stage,
            "connectedAt": info.connected_at,
            "requestTimeEpoch": int(now * 1000),
            "identity": info.identity(),
            "requestId": request_id,
            "domainName": info.domain_name,
            "connectionId": info.connection_id,
            "apiId": info.api_id,
        }
    )
    return context


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return single, multi


def connect_headers(request: Request, for_authorizer: bool) -> list[tuple[str, str]]:
    """The upgrade request's headers as API Gateway passes them on, original case kept."""
    hidden = () if for_authorizer else ("connection", "upgrade", "content-length")
    headers = [(n, v) for n, v in request.headers if n.lower() not in hidden]
    forwarded = [v for n, v in request.headers if n.lower() == "x-forwarded-for"]
    headers = [(n, v) for n, v in headers if n.lower() not in _ADDED]
    headers += [
        ("X-Amzn-Trace-Id", trace_id()),
        ("X-Forwarded-For", ", ".join([*forwarded, request.peer])),
        ("X-Forwarded-Port", str(request.port)),
        ("X-Forwarded-Proto", "https" if request.tls else "http"),
    ]
    return headers


_ADDED = ("x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")


def connect_event(
    info: SocketInfo, request: Request, request_id: str, authorizer: dict[str, Any] | None
) -> dict[str, Any]:
    headers, multi_headers = _multi(connect_headers(request, for_authorizer=False))
    context = websocket_context(info, "$connect", "CONNECT", request_id)
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi_headers}
    if request.raw_query:
        query, multi_query = _multi(parse_qsl(request.raw_query, keep_blank_values=True))
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    event["requestContext"] = context
    event["isBase64Encoded"] = False
    return event


def message_event(info: SocketInfo, route_key: str, body: str, request_id: str) -> dict[str, Any]:
    context = websocket_context(info, route_key, "MESSAGE", request_id)
    if info.authorizer is not None:
        context["authorizer"] = info.authorizer
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(info: SocketInfo, code: int, reason: str, request_id: str) -> dict[str, Any]:
    # API Gateway sends this fixed header set, not the client's.
    headers = {
        "Host": info.domain_name,
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    context = websocket_context(info, "$disconnect", "DISCONNECT", request_id)
    context = {"routeKey": "$disconnect", "disconnectStatusCode": code, **context}
    context["disconnectReason"] = reason
    if info.authorizer is not None:
        context["authorizer"] = {
            k: v for k, v in info.authorizer.items() if k != "integrationLatency"
        }
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def websocket_method_arn(info: SocketInfo) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{info.api_id}/{info.stage}/$connect"


def websocket_authorizer_event(
    info: SocketInfo, request: Request, request_id: str
) -> dict[str, Any]:
    headers, multi_headers = _multi(connect_headers(request, for_authorizer=True))
    query, multi_query = _multi(parse_qsl(request.raw_query, keep_blank_values=True))
    return {
        "type": "REQUEST",
        "methodArn": websocket_method_arn(info),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "stageVariables": {},
        "requestContext": websocket_context(info, "$connect", "CONNECT", request_id),
    }
