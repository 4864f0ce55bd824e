"""S3 in the local stack: buckets from the template, objects kept across restarts, and
presigned requests checked as S3 checks them.

Moto speaks S3 but keeps objects in memory and accepts any presigned URL. Here a
successful S3 write is journaled as the HTTP request it was (its body in
`blobs/`, named by its SHA-256) and replayed at start; compaction then keeps one
PUT per object. `S3Guard` refuses presigned URLs and browser POST uploads whose
signature, expiry or policy conditions S3 would refuse (`s3_auth`), so a client
that uploads locally uploads on AWS.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.etree import ElementTree

from relay_local.state import s3_auth
from relay_local.state.journal import Journal
from relay_local.state.wire import Answer, AwsCall, WsgiApp, looks_like_browser_upload, rest_call

RECORD = "s3"
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# What a replayed request must not carry: transport, signature and tracing headers.
_DROPPED_HEADERS = frozenset(
    {
        "authorization",
        "host",
        "content-length",
        "connection",
        "user-agent",
        "x-amz-date",
        "x-amz-security-token",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "expect",
        "accept-encoding",
    }
)
_AUTH_QUERY = frozenset(
    {
        "AWSAccessKeyId",
        "Signature",
        "Expires",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
# Object properties a GET answers with, which a PUT sets again.
_KEPT_ON_SNAPSHOT = (
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)


class Blobs:
    """Request bodies by SHA-256, beside the journal."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.folder / digest
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(path)
        return digest

    def get(self, digest: str) -> bytes | None:
        try:
            return (self.folder / digest).read_bytes()
        except OSError:
            return None

    def keep_only(self, digests: set[str]) -> None:
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name not in digests:
                path.unlink(missing_ok=True)


def mutates(method: str) -> bool:
    return method in ("PUT", "POST", "DELETE")


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """A WSGI request's headers, lower-cased, with Content-Type and Content-Length."""
    headers = {
        name[5:].replace("_", "-").lower(): str(value)
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = str(environ[name])
    return headers


def record(environ: dict[str, Any], body: bytes, response: bytes, blobs: Blobs) -> dict[str, Any]:
    """A successful S3 write as a journal record: the request, its body in `blobs`."""
    query = [
        (k, v)
        for k, v in parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        if k not in _AUTH_QUERY
    ]
    headers = request_headers(environ)
    entry: dict[str, Any] = {
        "t": RECORD,
        "m": environ.get("REQUEST_METHOD", "PUT"),
        "p": environ.get("PATH_INFO", "/"),
        "q": query,
        "h": {k: v for k, v in headers.items() if k not in _DROPPED_HEADERS},
    }
    if body:
        entry["blob"] = blobs.put(body)
    upload = re.search(rb"<UploadId>([^<]+)</UploadId>", response)
    if upload and ("uploads", "") in query:
        entry["upload"] = upload.group(1).decode()
    return entry


def replay(app: WsgiApp, entry: dict[str, Any], blobs: Blobs, uploads: dict[str, str]) -> bool:
    """Apply one journaled S3 write again; multipart upload ids are mapped to the new ones."""
    body = b""
    if "blob" in entry:
        found = blobs.get(str(entry["blob"]))
        if found is None:
            return False
        body = found
    query = [(k, uploads.get(v, v) if k == "uploadId" else v) for k, v in entry.get("q", [])]
    status, _, payload = rest_call(
        app, str(entry["m"]), str(entry["p"]), query, dict(entry.get("h", {})), body
    )
    if "upload" in entry:
        fresh = re.search(rb"<UploadId>([^<]+)</UploadId>", payload)
        if fresh:
            uploads[str(entry["upload"])] = fresh.group(1).decode()
    return 200 <= status < 300


def _objects(app: WsgiApp) -> Iterator[tuple[str, str]]:
    _, _, listing = rest_call(app, "GET", "/")
    buckets = ElementTree.fromstring(listing)  # noqa: S314 - moto's own answer, in process
    for bucket in buckets.iter(f"{_NS}Bucket"):
        name = bucket.findtext(f"{_NS}Name") or ""
        token: str | None = None
        while True:
            query = [("list-type", "2")] + ([("continuation-token", token)] if token else [])
            _, _, page = rest_call(app, "GET", f"/{name}", query)
            root = ElementTree.fromstring(page)  # noqa: S314
            for item in root.iter(f"{_NS}Contents"):
                yield name, item.findtext(f"{_NS}Key") or ""
            token = root.findtext(f"{_NS}NextContinuationToken")
            if not token:
                break


def snapshot(journal: Journal, blobs: Blobs, app: WsgiApp | None = None) -> None:
    """Journal every object as one PUT: the compacted history of every bucket."""
    if app is None:
        return
    for bucket, key in _objects(app):
        path = f"/{bucket}/{key}"
        status, headers, body = rest_call(app, "GET", path)
        if status != 200:
            continue
        kept = {name: headers[name] for name in _KEPT_ON_SNAPSHOT if name in headers}
        kept.update({k: v for k, v in headers.items() if k.startswith("x-amz-meta-")})
        entry: dict[str, Any] = {"t": RECORD, "m": "PUT", "p": path, "q": [], "h": kept}
        if body:
            entry["blob"] = blobs.put(body)
        journal.append(entry)


def blobs_named(records: Iterable[dict[str, Any]]) -> set[str]:
    return {str(r["blob"]) for r in records if r.get("t") == RECORD and "blob" in r}


def _path_quote(path: str) -> str:
    return quote(path, safe="/~")


class S3Guard:
    """The middleware hook that checks presigned S3 requests before moto sees them."""

    def __init__(
        self,
        secret_for: Callable[[str], str | None] | None = None,
        now: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.secret_for = secret_for or (lambda key: "testing")
        self.now = now or (lambda: datetime.datetime.now(datetime.UTC))

    def before(self, call: AwsCall) -> Answer | None:
        if call.service != "s3":
            return None
        environ = call.environ
        query = str(environ.get("QUERY_STRING", ""))
        refusal: s3_auth.S3Refusal | None = None
        if s3_auth.is_presigned(query):
            headers = request_headers(environ)
            raw_path = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
            raw_path = raw_path.split("?", 1)[0] or _path_quote(str(environ.get("PATH_INFO", "/")))
            refusal = s3_auth.check_presigned(
                call.method, raw_path, query, headers, self.secret_for, self.now()
            )
        elif looks_like_browser_upload(environ):
            form, size = _form(environ, call.body)
            if form is None:
                refusal = s3_auth.S3Refusal(400, "MalformedPOSTRequest", _MALFORMED)
            else:
                bucket = str(environ.get("PATH_INFO", "/")).strip("/").split("/")[0]
                refusal = s3_auth.check_post_policy(form, size, bucket, self.secret_for, self.now())
        if refusal is None:
            return None
        status = f"{refusal.status} {'Forbidden' if refusal.status == 403 else 'Bad Request'}"
        return status, [("Content-Type", "application/xml")], refusal.xml()

    def after(self, call: AwsCall, status: str, response: bytes) -> None:
        return None


_MALFORMED = "The body of your POST request is not well-formed multipart/form-data."


def _form(environ: dict[str, Any], body: bytes) -> tuple[dict[str, str] | None, int]:
    """The text fields of a browser upload and the size of its file."""
    from werkzeug.formparser import parse_form_data

    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    try:
        _, fields, files = parse_form_data(copy)
    except ValueError:
        return None, 0
    upload = files.get("file")
    if upload is None:
        return None, 0
    size = len(upload.read())
    return {key: str(value) for key, value in fields.items()}, size
