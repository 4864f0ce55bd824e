"""Speaking to moto as AWS clients do: the three protocols, in process or over HTTP.

The AWS process calls moto's WSGI app directly, with no socket in between: a
JSON-protocol call (`call`: DynamoDB, SQS, Secrets Manager), a query-protocol
call (`query_call`: SNS) and an S3 REST request (`rest_call`), each signed only
as far as moto routes on it (the credential scope). The stack's pollers reach
the running moto over HTTP with `AsyncAws`. `classify` reads an incoming request
back into an `AwsCall`: the service and operation the journal and the hooks act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from werkzeug.test import EnvironBuilder, run_wsgi_app

from relay_local.template.loader import REGION

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[str, list[tuple[str, str]], bytes]  # WSGI status, headers, body

DYNAMODB = "DynamoDB_20120810."
SQS = "AmazonSQS."
SECRETS = "secretsmanager."
COGNITO_IDP = "AWSCognitoIdentityProviderService."

_SERVICE_OF_PREFIX = {
    DYNAMODB: "dynamodb",
    SQS: "sqs",
    SECRETS: "secretsmanager",
    COGNITO_IDP: "cognito-idp",
}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class AwsError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("__type", body.get("code", ""))).rsplit("#", 1)[-1]
        super().__init__(f"{status} {self.code}: {body.get('message', body.get('Message', ''))}")


def _authorization(service: str) -> str:
    # Moto routes on the credential scope; it does not check the signature.
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=local"
    )


def _headers(service: str, target: str) -> dict[str, str]:
    json_version = "1.1" if service == "cognito-idp" else "1.0"
    return {
        "X-Amz-Target": target,
        "Content-Type": f"application/x-amz-json-{json_version}",
        "Authorization": _authorization(service),
    }


def service_of(target: str) -> str:
    for prefix, service in _SERVICE_OF_PREFIX.items():
        if target.startswith(prefix):
            return service
    raise ValueError(f"no service for {target}")


@dataclass
class AwsCall:
    """One request to local AWS, as the middleware sees it."""

    service: str  # dynamodb, sqs, sns, s3, secretsmanager ... ("" when unknown)
    operation: str  # the JSON target, the query Action, or "METHOD" for S3
    environ: dict[str, Any]
    body: bytes
    form: dict[str, list[str]] = field(default_factory=dict)  # query-protocol parameters

    @property
    def method(self) -> str:
        return str(self.environ.get("REQUEST_METHOD", "GET"))

    def param(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


def is_signed_v2(query: str) -> bool:
    return "Signature=" in query and "AWSAccessKeyId=" in query


def looks_like_browser_upload(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and str(
        environ.get("CONTENT_TYPE", "")
    ).startswith("multipart/form-data")


def classify(environ: dict[str, Any], body: bytes) -> AwsCall:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        service = next((s for p, s in _SERVICE_OF_PREFIX.items() if target.startswith(p)), "")
        return AwsCall(service, target, environ, body)
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    query = str(environ.get("QUERY_STRING", ""))
    scope = _SCOPE.search(authorization) or _SCOPE.search(query.replace("%2F", "/"))
    service = scope.group(1) if scope else ""
    if not service and (authorization.startswith("AWS ") or is_signed_v2(query)):
        service = "s3"
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if content_type.startswith("application/x-www-form-urlencoded") and service not in ("s3", ""):
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        action = (form.get("Action") or [""])[0]
        return AwsCall(service, action, environ, body, form)
    if not service and looks_like_browser_upload(environ):
        service = "s3"
    return AwsCall(service, str(environ.get("REQUEST_METHOD", "GET")), environ, body)


def answer(app: WsgiApp, environ: dict[str, Any]) -> Answer:
    """Run one request through a WSGI app and take its whole answer."""
    app_iter, status, headers = run_wsgi_app(app, environ)
    body = b"".join(app_iter)
    if hasattr(app_iter, "close"):
        app_iter.close()
    return status, list(headers.items()), body


def _post(app: WsgiApp, headers: list[tuple[str, str]], data: Any) -> Answer:
    builder = EnvironBuilder(
        method="POST", path="/", base_url="http://localhost/", headers=headers, data=data
    )
    return answer(app, builder.get_environ())


def call(app: WsgiApp, target: str, body: dict[str, Any]) -> dict[str, Any]:
    """One AWS JSON-protocol call straight into a WSGI app (no network)."""
    headers = list(_headers(service_of(target), target).items())
    status, _, payload = _post(app, headers, json.dumps(body))
    data = json.loads(payload) if payload else {}
    code = int(status.split(" ", 1)[0])
    if code != 200:
        raise AwsError(code, data)
    return data if isinstance(data, dict) else {}


def query_call(app: WsgiApp, service: str, action: str, params: dict[str, str]) -> bytes:
    """One query-protocol call (SNS) straight into a WSGI app; returns the XML answer."""
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", _authorization(service)),
    ]
    status, _, payload = _post(app, headers, {"Action": action, "Version": "2010-03-31", **params})
    if not status.startswith("200"):
        raise AwsError(int(status.split(" ", 1)[0]), {"message": payload.decode(errors="replace")})
    return payload


def rest_call(
    app: WsgiApp,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """One S3 REST request straight into a WSGI app: status, lower-cased headers, body."""
    builder = EnvironBuilder(
        method=method,
        path=path,
        base_url="http://localhost/",
        query_string=urlencode(query or []),
        headers=[*(headers or {}).items(), ("Authorization", _authorization("s3"))],
        data=body,
    )
    status, response_headers, payload = answer(app, builder.get_environ())
    lower = {name.lower(): value for name, value in response_headers}
    return int(status.split(" ", 1)[0]), lower, payload


class AsyncAws:
    """AWS calls to the running moto, for the pollers (no boto3 threads)."""

    def __init__(self, moto_url: str) -> None:
        self._client = httpx.AsyncClient(base_url=moto_url, timeout=30.0)

    async def call(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(
            "/", content=json.dumps(body), headers=_headers(service_of(target), target)
        )
        data = response.json() if response.content else {}
        if response.status_code != 200:
            raise AwsError(response.status_code, data)
        return data if isinstance(data, dict) else {}

    async def query(self, service: str, action: str, params: dict[str, str]) -> bytes:
        response = await self._client.post(
            "/",
            data={"Action": action, "Version": "2010-03-31", **params},
            headers={"Authorization": _authorization(service)},
        )
        if response.status_code != 200:
            raise AwsError(response.status_code, {"message": response.text})
        return response.content

    async def get(self, path: str) -> dict[str, Any]:
        """A JSON document local AWS serves (a user pool's key set)."""
        response = await self._client.get(path)
        data = response.json() if response.content else {}
        if response.status_code != 200:
            raise AwsError(response.status_code, data if isinstance(data, dict) else {})
        return data if isinstance(data, dict) else {}

    async def close(self) -> None:
        await self._client.aclose()
