"""Local AWS: moto served on a loopback port, behind a write-ahead journal that survives kill -9.

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

The middleware is also where the local stack adds what moto lacks, through
its hooks: S3 presigned URLs and POST policies are verified as S3 verifies them
(`s3.S3Guard`), an SNS Publish is delivered to the template's subscriptions
before its answer returns (the hook the AWS process is handed, `sources.sns`),
so a published message is as durable as the queue or invocation it became, and
Cognito's API runs triggers, sends codes and journals users (`cognito`; its
records, kept as state rather than calls, are `cognito_store`'s). The calls
themselves are `wire`'s; the template's resources are `provision`'s.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from werkzeug.serving import BaseWSGIServer, make_server

from relay_local.state import cognito_store, s3
from relay_local.state.journal import Journal, read_journal
from relay_local.state.provision import create_resources, create_secret
from relay_local.state.wire import (
    DYNAMODB,
    SECRETS,
    SQS,
    Answer,
    AwsCall,
    AwsError,
    WsgiApp,
    answer,
    call,
    classify,
)
from relay_local.template.loader import ACCOUNT_ID
from relay_local.template.model import SecretSpec, StackModel

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
_QUEUE_URL_PREFIX = re.compile(r"^https?://[^/]+/" + ACCOUNT_ID + "/")


class Hook(Protocol):
    """Middleware extensions: refuse a call before moto sees it, or act on its success
    before the answer returns (a delivery made here is as durable as the call)."""

    def before(self, call: AwsCall) -> Answer | None: ...

    def after(self, call: AwsCall, status: str, response: bytes) -> None: ...


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
                status, headers, chunks = answer(self.app, environ)
                if status.startswith("2") and target not in self.skip:
                    self._record(call, status, headers, chunks)
        else:
            status, headers, chunks = answer(self.app, environ)
        for hook in self.hooks:
            hook.after(call, status, chunks)
        start_response(status, headers)
        return [chunks]

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
            sent = json.loads(response)
            record["ids"] = {ok["Id"]: ok["MessageId"] for ok in sent.get("Successful", [])}
        self.journal.append(record)


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
        self.cognito = cognito_store.CognitoStore()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._cognito_server: BaseWSGIServer | None = None

    def bind(self, fd: int | None = None) -> str:
        """Bind the port now (the model needs the URL for queue URLs); serve later.

        With `fd`, serve on a socket the stack bound already, so that its workers know
        the URL before this process has even loaded moto."""
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        class KeepAlive(MotoRequestHandler):
            # HTTP/1.1: a client's connection is reused, not reopened for every call.
            protocol_version = "HTTP/1.1"

        self._handler = KeepAlive
        self._server = make_server(
            "127.0.0.1",
            0,
            self._dispatch,
            threaded=True,
            request_handler=KeepAlive,
            fd=fd,
        )
        return self.url

    def bind_cognito(self, fd: int) -> None:
        """Serve the Cognito endpoint too, on the socket the stack bound for it: the same
        app, told that the request came there (CORS preflights, nothing but Cognito)."""
        from relay_local.state.cognito import COGNITO_PORT

        def cognito(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            environ[COGNITO_PORT] = True
            return self._dispatch(environ, start_response)

        self._cognito_server = make_server(
            "127.0.0.1", 0, cognito, threaded=True, request_handler=self._handler, fd=fd
        )

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
        cognito_store.install()
        cognito_store.ensure_pools(model)
        replayed = self._replay([pool.id for pool in model.user_pools.values()])
        self.create_secrets(model.secrets.values())
        return replayed

    def create_secrets(self, secrets: Iterable[SecretSpec]) -> None:
        """Secrets go through the journal: a generated value must be the same after a restart."""
        assert self.app is not None
        for secret in secrets:
            create_secret(self.app, secret)

    def _replay(self, pool_ids: list[str]) -> int:
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
            if record.get("t") in cognito_store.RECORDS:
                self.cognito.restore(record)
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
        for cognito_record in self.cognito.snapshot(pool_ids):
            journal.append(cognito_record)
        journal.close()
        os.replace(fresh_path, self.journal_path)
        self.blobs.keep_only(s3.blobs_named(read_journal(self.journal_path)))
        self.journal = Journal(self.journal_path)
        self.cognito.journal = self.journal
        self.app = JournalingApp(self.moto, self.journal, self.blobs, hooks=self.hooks)
        return replayed

    def serve(self) -> None:
        assert self._server is not None and self.app is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        if self._cognito_server is not None:
            name = "cognito"
            threading.Thread(
                target=self._cognito_server.serve_forever, name=name, daemon=True
            ).start()

    def record_consumed(self, message_ids: list[str]) -> None:
        """Journal that the poller deleted these messages, so replay does not resend them."""
        if message_ids and self.journal is not None:
            self.journal.append({"t": SQS_DELETED, "ids": message_ids})

    def stop(self) -> None:
        if self._cognito_server is not None:
            self._cognito_server.server_close()
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
