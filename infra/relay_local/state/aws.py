"""Local AWS: a moto server in-process, with a write-ahead journal that survives kill -9.

Moto keeps everything in memory. To make what a user creates survive a
restart (including a crash), every successful mutating DynamoDB and SQS call
is appended to `<state-dir>/journal.jsonl` as one JSON line before the answer
leaves the server, and replayed into a fresh moto at start. Replay goes
through the same middleware into a new journal that then replaces the old
one, compacted: item writes are replaced by one PutItem per item that exists
at the end (so the journal grows with the data, not with its history),
messages consumed since are dropped, and replayed messages are recorded with
the MessageIds they got this time, so later deletes match.

Calls speak the AWS JSON protocol (DynamoDB, and SQS since botocore moved it
to JSON); moto picks the service from the credential scope of the
Authorization header, so `call` only needs a service name and a target.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from relay_local.template.loader import ACCOUNT_ID, REGION
from relay_local.template.model import QueueSpec, StackModel, TableSpec

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DYNAMODB = "DynamoDB_20120810."
SQS = "AmazonSQS."
SQS_DELETED = "relay.SqsDeleted"  # our own record: the poller consumed these messages

_JOURNALED = frozenset(
    [DYNAMODB + op for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")]
    + [DYNAMODB + op for op in ("TransactWriteItems", "CreateTable", "DeleteTable")]
    + [DYNAMODB + op for op in ("UpdateTable", "UpdateTimeToLive")]
    + [SQS + op for op in ("SendMessage", "SendMessageBatch", "CreateQueue", "DeleteQueue")]
    + [SQS + op for op in ("PurgeQueue", "SetQueueAttributes")]
)
_ITEM_WRITES = frozenset(
    DYNAMODB + op
    for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)
_SERVICE_OF_PREFIX = {DYNAMODB: "dynamodb", SQS: "sqs"}
_QUEUE_URL_PREFIX = re.compile(r"^https?://[^/]+/" + ACCOUNT_ID + "/")


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


class Journal:
    """An append-only JSON-lines file; each record is flushed before the call returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            # write+flush reaches the kernel, which keeps it across a kill -9 of this process.
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a journal; a torn last line (a crash mid-write) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


class JournalingApp:
    """WSGI middleware around moto: journals successful mutating calls, in apply order."""

    def __init__(self, app: WsgiApp, journal: Journal, skip: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.journal = journal
        self.skip = skip  # targets applied but not journaled (compaction writes them later)
        # One mutating call at a time, so the journal's order is the order moto applied them.
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target not in _JOURNALED:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            app_iter, status, headers = run_wsgi_app(self.app, environ)
            chunks = b"".join(app_iter)
            if hasattr(app_iter, "close"):
                app_iter.close()
            if status.startswith("200") and target not in self.skip:
                self._record(target, body, chunks)
        start_response(status, list(headers.items()))
        return [chunks]

    def _record(self, target: str, body: bytes, response: bytes) -> None:
        record: dict[str, Any] = {"t": target, "b": json.loads(body or b"{}")}
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


class AsyncAws:
    """AWS JSON-protocol calls to the running moto, for the pollers (no boto3 threads)."""

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
        self.moto: WsgiApp = DomainDispatcherApplication(create_backend_app)
        self.journal: Journal | None = None
        self.app: JournalingApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> str:
        """Bind the port now (the model needs the URL for queue URLs); serve later."""
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        self._server = make_server(
            "127.0.0.1",
            0,
            self._dispatch,
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def prepare(self, model: StackModel) -> int:
        """Create the template's tables and queues, then replay the journal. Returns records."""
        for table in model.tables.values():
            create_table(self.moto, table)
        # A queue's redrive policy names its DLQ, which must exist first.
        for queue in sorted(model.queues.values(), key=lambda q: "RedrivePolicy" in q.attributes):
            create_queue(self.moto, queue)
        return self._replay()

    def _replay(self) -> int:
        records = list(read_journal(self.journal_path))
        deleted = {i for r in records if r.get("t") == SQS_DELETED for i in r.get("ids", [])}
        fresh_path = self.journal_path.with_suffix(".jsonl.new")
        fresh_path.unlink(missing_ok=True)
        journal = Journal(fresh_path)
        app = JournalingApp(self.moto, journal, skip=_ITEM_WRITES)
        replayed = 0
        for record in records:
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
        journal.close()
        os.replace(fresh_path, self.journal_path)
        self.journal = Journal(self.journal_path)
        self.app = JournalingApp(self.moto, self.journal)
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
        request["ProvisionedThroughput"] = throughput or {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
        if key in props:
            request[key] = props[key]
    if "StreamSpecification" in request:
        request["StreamSpecification"] = {"StreamEnabled": True, **request["StreamSpecification"]}
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
