"""Local AWS: a moto server in-process, with a write-ahead journal that survives kill -9.

Moto keeps everything in memory. To make what a user creates survive a
restart (including a crash), every successful mutating call (DynamoDB, SQS,
Secrets Manager, S3) is appended to `<state-dir>/journal.jsonl` before the
answer leaves the server, and replayed into a fresh moto at start. Replay goes
through the same middleware into a new journal that then replaces the old one,
compacted: item writes become one PutItem per item that exists at the end and
objects one PUT per object (so the journal grows with the data, not with its
history), messages consumed since are dropped, and replayed messages are
recorded with the MessageIds they got this time, so later deletes match. S3
bodies live beside the journal in `blobs/`, named by their SHA-256.

The middleware is also where the local stack adds what moto lacks: S3
presigned URLs and POST policies are verified as S3 verifies them (`s3_auth`),
and an SNS Publish is delivered to the template's subscriptions before its
answer returns (`relay_local.sources.sns`), so a published message is as
durable as the queue or invocation it became.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from relay_local.state import s3
from relay_local.state.journal import Journal, read_journal
from relay_local.template.loader import ACCOUNT_ID, REGION
from relay_local.template.model import (
    QueueSpec,
    SecretSpec,
    StackModel,
    TableSpec,
    TopicSpec,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DYNAMODB = "DynamoDB_20120810."
SQS = "AmazonSQS."
SECRETS = "secretsmanager."
SQS_DELETED = "relay.SqsDeleted"  # our own record: the poller consumed these messages

_JOURNALED = frozenset(
    [DYNAMODB + op for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")]
    + [DYNAMODB + op for op in ("TransactWriteItems", "CreateTable", "DeleteTable")]
    + [DYNAMODB + op for op in ("UpdateTable", "UpdateTimeToLive")]
    + [SQS + op for op in ("SendMessage", "SendMessageBatch", "CreateQueue", "DeleteQueue")]
    + [SQS + op for op in ("PurgeQueue", "SetQueueAttributes")]
    + [SECRETS + op for op in ("CreateSecret", "PutSecretValue", "UpdateSecret")]
    + [SECRETS + op for op in ("DeleteSecret", "RestoreSecret", "UpdateSecretVersionStage")]
)
_ITEM_WRITES = frozenset(
    DYNAMODB + op
    for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)
_SERVICE_OF_PREFIX = {DYNAMODB: "dynamodb", SQS: "sqs", SECRETS: "secretsmanager"}
_QUEUE_URL_PREFIX = re.compile(r"^https?://[^/]+/" + ACCOUNT_ID + "/")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class AwsError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("__type", body.get("code", ""))).rsplit("#", 1)[-1]
        super().__init__(f"{status} {self.code}: {body.get('message', body.get('Message', ''))}")


def _headers(service: str, target: str) -> dict[str, str]:
    return {
        "X-Amz-Target": target,
        "Content-Type": "application/x-amz-json-1.0",
        # Moto routes on the credential scope; it does not check the signature.
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=local"
        ),
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


Answer = tuple[str, list[tuple[str, str]], bytes]  # WSGI status, headers, body


class Hook(Protocol):
    """Middleware extensions: refuse a call before moto sees it, or act on its success
    before the answer returns (a delivery made here is as durable as the call)."""

    def before(self, call: AwsCall) -> Answer | None: ...

    def after(self, call: AwsCall, status: str, response: bytes) -> None: ...


def classify(environ: dict[str, Any], body: bytes) -> AwsCall:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        service = next((s for p, s in _SERVICE_OF_PREFIX.items() if target.startswith(p)), "")
        return AwsCall(service, target, environ, body)
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    query = str(environ.get("QUERY_STRING", ""))
    scope = _SCOPE.search(authorization) or _SCOPE.search(query.replace("%2F", "/"))
    service = scope.group(1) if scope else ""
    if not service and (authorization.startswith("AWS ") or s3.is_signed_v2(query)):
        service = "s3"
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if content_type.startswith("application/x-www-form-urlencoded") and service not in ("s3", ""):
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        action = (form.get("Action") or [""])[0]
        return AwsCall(service, action, environ, body, form)
    if not service and s3.looks_like_browser_upload(environ):
        service = "s3"
    return AwsCall(service, str(environ.get("REQUEST_METHOD", "GET")), environ, body)


class JournalingApp:
    """WSGI middleware around moto: hooks, and a journal of successful mutating calls."""

    def __init__(
        self,
        app: WsgiApp,
        journal: Journal,
        blobs: s3.Blobs,
        skip: frozenset[str] = frozenset(),
        hooks: list[Hook] | None = None,
    ) -> None:
        self.app = app
        self.journal = journal
        self.blobs = blobs
        self.skip = skip  # targets applied but not journaled (compaction writes them later)
        self.hooks = hooks if hooks is not None else []
        self.journal_s3 = True
        # One mutating call at a time, so the journal's order is the order moto applied them.
        self._lock = threading.RLock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target and target not in _JOURNALED and not self.hooks:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        call = classify(environ, body)
        for hook in self.hooks:
            refusal = hook.before(call)
            if refusal is not None:
                status, headers, payload = refusal
                start_response(status, headers)
                return [payload]
        mutating = target in _JOURNALED or (call.service == "s3" and s3.mutates(call.method))
        if mutating:
            with self._lock:
                status, headers, chunks = self._run(environ)
                if status.startswith("2") and target not in self.skip:
                    self._record(call, status, headers, chunks)
        else:
            status, headers, chunks = self._run(environ)
        for hook in self.hooks:
            hook.after(call, status, chunks)
        start_response(status, headers)
        return [chunks]

    def _run(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        app_iter, status, headers = run_wsgi_app(self.app, environ)
        chunks = b"".join(app_iter)
        if hasattr(app_iter, "close"):
            app_iter.close()
        return status, list(headers.items()), chunks

    def _record(
        self, call: AwsCall, status: str, headers: list[tuple[str, str]], response: bytes
    ) -> None:
        if call.service == "s3":
            if self.journal_s3:
                self.journal.append(s3.record(call.environ, call.body, response, self.blobs))
            return
        target = call.operation
        record: dict[str, Any] = {"t": target, "b": json.loads(call.body or b"{}")}
        if target == SQS + "SendMessage":
            record["ids"] = [json.loads(response)["MessageId"]]
        elif target == SQS + "SendMessageBatch":
            answer = json.loads(response)
            record["ids"] = {ok["Id"]: ok["MessageId"] for ok in answer.get("Successful", [])}
        self.journal.append(record)


def call(app: WsgiApp, target: str, body: dict[str, Any]) -> dict[str, Any]:
    """One AWS JSON-protocol call straight into a WSGI app (no network)."""
    builder = EnvironBuilder(
        method="POST",
        path="/",
        base_url="http://localhost/",
        headers=list(_headers(service_of(target), target).items()),
        data=json.dumps(body),
    )
    environ = builder.get_environ()
    app_iter, status, _ = run_wsgi_app(app, environ)
    payload = b"".join(app_iter)
    if hasattr(app_iter, "close"):
        app_iter.close()
    data = json.loads(payload) if payload else {}
    code = int(status.split(" ", 1)[0])
    if code != 200:
        raise AwsError(code, data)
    return data if isinstance(data, dict) else {}


def query_call(app: WsgiApp, service: str, action: str, params: dict[str, str]) -> bytes:
    """One query-protocol call (SNS) straight into a WSGI app; returns the XML answer."""
    builder = EnvironBuilder(
        method="POST",
        path="/",
        base_url="http://localhost/",
        headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", _headers(service, "")["Authorization"]),
        ],
        data={"Action": action, "Version": "2010-03-31", **params},
    )
    app_iter, status, _ = run_wsgi_app(app, builder.get_environ())
    payload = b"".join(app_iter)
    if hasattr(app_iter, "close"):
        app_iter.close()
    if not status.startswith("200"):
        raise AwsError(int(status.split(" ", 1)[0]), {"message": payload.decode(errors="replace")})
    return payload


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
            headers={"Authorization": _headers(service, "")["Authorization"]},
        )
        if response.status_code != 200:
            raise AwsError(response.status_code, {"message": response.text})
        return response.content

    async def close(self) -> None:
        await self._client.aclose()


class LocalAws:
    """Moto served on a free loopback port, with the journal and the template's resources."""

    def __init__(self, state_dir: Path) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from relay_local.state import moto_speed

        moto_speed.install()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.state_dir = state_dir
        self.journal_path = state_dir / "journal.jsonl"
        self.blobs = s3.Blobs(state_dir / "blobs")
        self.moto: WsgiApp = moto_speed.ServiceDispatch(
            DomainDispatcherApplication(create_backend_app), create_backend_app
        )
        self.hooks: list[Hook] = []
        self.journal: Journal | None = None
        self.app: JournalingApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def bind(self, fd: int | None = None) -> str:
        """Bind the port now (the model needs the URL for queue URLs); serve later.

        With `fd`, serve on a socket the stack bound already, so that its workers know
        the URL before this process has even loaded moto."""
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        class KeepAlive(MotoRequestHandler):
            # HTTP/1.1: a client's connection is reused, not reopened for every call.
            protocol_version = "HTTP/1.1"

        self._server = make_server(
            "127.0.0.1",
            0,
            self._dispatch,
            threaded=True,
            request_handler=KeepAlive,
            fd=fd,
        )
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def prepare(self, model: StackModel) -> int:
        """Create the template's resources and replay the journal. Returns records replayed."""
        create_resources(self.moto, model)
        replayed = self._replay()
        self.create_secrets(model.secrets.values())
        return replayed

    def create_secrets(self, secrets: Iterable[SecretSpec]) -> None:
        """Secrets go through the journal: a generated value must be the same after a restart."""
        assert self.app is not None
        for secret in secrets:
            create_secret(self.app, secret)

    def _replay(self) -> int:
        records = list(read_journal(self.journal_path))
        deleted = {i for r in records if r.get("t") == SQS_DELETED for i in r.get("ids", [])}
        fresh_path = self.journal_path.with_suffix(".jsonl.new")
        fresh_path.unlink(missing_ok=True)
        journal = Journal(fresh_path)
        app = JournalingApp(self.moto, journal, self.blobs, skip=_ITEM_WRITES)
        app.journal_s3 = False  # compaction writes each object once, below
        replayed = 0
        uploads: dict[str, str] = {}
        for record in records:
            if record.get("t") == s3.RECORD:
                if s3.replay(app, record, self.blobs, uploads):
                    replayed += 1
                continue
            body = _replayable(record, deleted, self.url)
            if body is None:
                continue
            try:
                call(app, record["t"], body)
                replayed += 1
            except AwsError:
                # A table/queue the template already created, or a condition that no longer
                # holds: the state it describes is there already.
                continue
        _snapshot_items(self.moto, journal)
        s3.snapshot(journal, self.blobs, self.moto)
        journal.close()
        os.replace(fresh_path, self.journal_path)
        self.blobs.keep_only(s3.blobs_named(read_journal(self.journal_path)))
        self.journal = Journal(self.journal_path)
        self.app = JournalingApp(self.moto, self.journal, self.blobs, hooks=self.hooks)
        return replayed

    def serve(self) -> None:
        assert self._server is not None and self.app is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def record_consumed(self, message_ids: list[str]) -> None:
        """Journal that the poller deleted these messages, so replay does not resend them."""
        if message_ids and self.journal is not None:
            self.journal.append({"t": SQS_DELETED, "ids": message_ids})

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
            self._server.server_close()
        if self.journal is not None:
            self.journal.close()


def _replayable(record: dict[str, Any], deleted: set[str], moto_url: str) -> dict[str, Any] | None:
    target = record.get("t")
    body = record.get("b")
    if target not in _JOURNALED or not isinstance(body, dict):
        return None
    if "QueueUrl" in body:
        # The port changes between runs; moto only cares about the account and name.
        body["QueueUrl"] = _QUEUE_URL_PREFIX.sub(f"{moto_url}/{ACCOUNT_ID}/", body["QueueUrl"])
    if target == SQS + "SendMessage":
        if set(record.get("ids", [])) & deleted:
            return None
    elif target == SQS + "SendMessageBatch":
        ids: dict[str, str] = record.get("ids", {})
        entries = [
            e for e in body.get("Entries", []) if e["Id"] in ids and ids[e["Id"]] not in deleted
        ]
        if not entries:
            return None
        body["Entries"] = entries
    return body


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


def _snapshot_items(app: WsgiApp, journal: Journal) -> None:
    """Journal every item of every table as one PutItem: the compacted item history."""
    tables: list[str] = []
    request: dict[str, Any] = {}
    while True:
        page = call(app, DYNAMODB + "ListTables", request)
        tables.extend(page.get("TableNames", []))
        if not page.get("LastEvaluatedTableName"):
            break
        request = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}
    for table in tables:
        scan: dict[str, Any] = {"TableName": table}
        while True:
            page = call(app, DYNAMODB + "Scan", scan)
            for item in page.get("Items", []):
                journal.append({"t": DYNAMODB + "PutItem", "b": {"TableName": table, "Item": item}})
            if not page.get("LastEvaluatedKey"):
                break
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


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
        s3.create_bucket(app, bucket.name, bucket.cors)


def create_table(app: WsgiApp, table: TableSpec) -> None:
    try:
        call(app, DYNAMODB + "DescribeTable", {"TableName": table.name})
        return
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
    request, ttl_request = table_requests(table)
    call(app, DYNAMODB + "CreateTable", request)
    if ttl_request is not None:
        call(app, DYNAMODB + "UpdateTimeToLive", ttl_request)


def create_queue(app: WsgiApp, queue: QueueSpec) -> None:
    try:
        call(app, SQS + "GetQueueUrl", {"QueueName": queue.name})
        return
    except AwsError as exc:
        if "NonExistentQueue" not in exc.code and "QueueDoesNotExist" not in exc.code:
            raise
    call(app, SQS + "CreateQueue", {"QueueName": queue.name, "Attributes": queue.attributes})


def create_topic(app: WsgiApp, topic: TopicSpec) -> None:
    # CreateTopic is idempotent for the same name and attributes.
    params = {"Name": topic.name}
    for index, (key, value) in enumerate(sorted(topic.attributes.items()), start=1):
        params[f"Attributes.entry.{index}.key"] = key
        params[f"Attributes.entry.{index}.value"] = value
    query_call(app, "sns", "CreateTopic", params)


def create_secret(app: WsgiApp, secret: SecretSpec) -> None:
    try:
        call(app, SECRETS + "DescribeSecret", {"SecretId": secret.name})
        return
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
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
