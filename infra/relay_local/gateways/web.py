"""The browser client's files, served by `relay run` at /app/ beside the HTTP API.

Local only: on AWS the same files are in S3 behind CloudFront. Each request reads
the file afresh and says `Cache-Control: no-store`, so an edit under `web/` shows
on the next reload. `/app/` and any directory answer their `index.html`. Nothing
outside the web root is served: a path with `..` or `.` segments (also
percent-encoded), a backslash or a NUL, a hidden file, or a symlink that leads out
of the root is a 404, in DESIGN's error shape like any missing file.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from urllib.parse import unquote

from relay_local.gateways.http11 import Request, Response

PREFIX = "/app"

# Types a browser must get right (a module script with the wrong one does not run);
# the rest from the platform's table.
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


def _not_found(path: str) -> Response:
    body = {"error": {"code": "not_found", "message": f"No file at {path} in the app"}}
    headers = [(b"content-type", b"application/json"), *_HEADERS]
    return Response(404, headers, json.dumps(body).encode())


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _TYPES:
        return _TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class WebFiles:
    """GET and HEAD of /app and below, from one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @staticmethod
    def wants(request: Request) -> bool:
        path = request.raw_path
        return (path == PREFIX or path.startswith(PREFIX + "/")) and request.method in (
            "GET",
            "HEAD",
        )

    def answer(self, request: Request) -> Response:
        raw = request.raw_path
        if raw == PREFIX:
            location = (
                PREFIX + "/" + ("?" + request.raw_query if request.raw_query else "")
            ).encode("latin-1", "replace")
            return Response(301, [(b"location", location), *_HEADERS])
        file = self._file(raw[len(PREFIX) + 1 :])
        if file is None:
            return _not_found(unquote(raw))
        try:
            body = file.read_bytes()
        except OSError:
            return _not_found(unquote(raw))
        kind = content_type(file).encode()
        return Response(200, [(b"content-type", kind), *_HEADERS], body)

    def _file(self, relative: str) -> Path | None:
        """The file a path below /app/ names, or None when it names none inside the root."""
        try:
            parts = [unquote(part, errors="strict") for part in relative.split("/")]
        except UnicodeDecodeError:
            return None
        if parts and parts[-1] == "":
            parts[-1] = "index.html"  # /app/ and any directory path ending in a slash
        for part in parts:
            if (
                not part
                or part.startswith(".")
                or "\\" in part
                or "\0" in part
                or "/" in part  # an encoded %2f
            ):
                return None
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.root):
            return None  # a symlink out of the web root
        if resolved.is_dir():
            index = resolved / "index.html"
            if not index.resolve().is_relative_to(self.root) or not index.is_file():
                return None
            return index
        return resolved if resolved.is_file() else None
