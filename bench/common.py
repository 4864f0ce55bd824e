"""Shared pieces: paths, statistics, result rows, machine info, a moto server, free ports."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LAYER_DIR = ROOT / "layers" / "relay"
EVENTS = ROOT / "events"
PYTHON = sys.executable
# RELAY_BENCH_REDIS_URL: another server (several checkouts benchmarking on one machine).
REDIS_URL = os.environ.get("RELAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

# What tests/conftest.py sets; the AWS values only matter when something reaches moto.
BASE_ENV = {
    "STAGE": "bench",
    "LINKS_TABLE": "LinksTable",
    "CLICKS_TABLE": "ClicksTable",
    "CLICK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/ClickQueue",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "relay",
    "POWERTOOLS_METRICS_NAMESPACE": "Relay",
    "REDIS_URL": REDIS_URL,
}
UNWANTED_ENV = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "COGNITO_JWKS_URL", "SHORT_BASE_URL")


@dataclass
class Row:
    """One line of the table: a figure, its floor, and the verdict against DESIGN's target."""

    part: str
    figure: str
    value: str
    floor: str = ""
    ratio: float | None = None
    target: str = ""
    verdict: str = ""  # PASS, MISS, or "" for information only
    note: str = ""


@dataclass
class PartResult:
    part: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # markdown paragraphs for the docs
    measured_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "rows": [asdict(row) for row in self.rows],
            "details": self.details,
            "measured_at": self.measured_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartResult:
        return cls(
            part=data["part"],
            rows=[Row(**row) for row in data["rows"]],
            details=list(data.get("details", [])),
            measured_at=str(data.get("measured_at", "")),
        )


def verdict(ratio: float, limit: float) -> str:
    return "PASS" if ratio <= limit else "MISS"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def us(ns: float) -> str:
    return f"{ns / 1000:.1f} us"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine_info() -> dict[str, str]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    redis_version = "unknown"
    with contextlib.suppress(Exception):
        import redis

        info = redis.Redis.from_url(REDIS_URL).info("server")
        redis_version = str(info.get("redis_version", "unknown"))
    return {
        "date": now_utc(),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis": redis_version,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(**extra: str) -> dict[str, str]:
    """A child's environment: this process's, minus anything pointing at real AWS."""
    env = {k: v for k, v in os.environ.items() if k not in UNWANTED_ENV}
    env.update(BASE_ENV)
    env.update(extra)
    return env


def flush_bench_db() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port; yields its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def create_template_resources(moto_url: str) -> dict[str, str]:
    """The template's tables and queues in moto, built by the local stack's own code.

    Returns queue URLs by logical id.
    """
    import boto3

    from relay_local.state.provision import create_with_clients
    from relay_local.template.build import build_model

    model = build_model(TEMPLATE, moto_url=moto_url)
    kwargs: dict[str, Any] = {
        "endpoint_url": moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return create_with_clients(
        model, boto3.client("dynamodb", **kwargs), boto3.client("sqs", **kwargs)
    )


def run_python(
    code: str, env: dict[str, str], *, args: Sequence[str] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, *args, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


@contextlib.contextmanager
def key_set_server() -> Iterator[str]:
    """The user pool's JWKS endpoint on a free loopback port: the public keys local pools
    sign with (moto's). Yields the key set's URL."""
    import http.server
    import json
    import threading

    from relay_local.tokens import moto_key_set

    document = json.dumps(moto_key_set().document).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/pool/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def access_token(pool_id: str, client_id: str, sub: str = "alice", ttl_s: int = 3600) -> str:
    """A Cognito access token of that pool and client, signed with the key local pools
    sign with (relay_local.tokens.moto_private_jwk)."""
    import json
    import time

    import jwt
    from jwt.algorithms import RSAAlgorithm

    from relay_local.tokens import moto_private_jwk

    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
        "sub": sub,
        "token_use": "access",
        "client_id": client_id,
        "scope": "aws.cognito.signin.user.admin",
        "username": sub,
        "iat": now,
        "auth_time": now,
        "exp": now + ttl_s,
        "jti": f"bench-{now}",
    }
    key: Any = RSAAlgorithm.from_jwk(json.dumps(moto_private_jwk()))
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def template_pool() -> tuple[str, str]:
    """template.yaml's user pool id and app client id, as the local stack names them."""
    from relay_local.template.build import build_model

    model = build_model(TEMPLATE, moto_url="http://127.0.0.1:1")
    (pool,) = model.user_pools.values()
    (client,) = (c for c in model.user_pool_clients.values() if c.pool == pool.logical_id)
    return pool.id, client.id
