"""Shared test set-up: configuration, a real Redis, and AWS (moto) built from template.yaml.

The environment is set before any Relay module is imported, the way the template
sets it for a function. Redis is real: REDIS_URL (loopback only) or the local
6379, else a `redis-server` from PATH, else an in-process fake server; the header
of the run says which. Each xdist worker gets its own Redis database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

os.environ.update(
    STAGE="test",
    LINKS_TABLE="LinksTable",
    CLICKS_TABLE="ClicksTable",
    # moto's URL for the template's ClickQueue; the aws fixture checks it is so.
    CLICK_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/ClickQueue",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="relay",
    POWERTOOLS_METRICS_NAMESPACE="Relay",
    # ---- Chat (tables keep their logical ids in moto, as LINKS_TABLE does)
    CHAT_ATTACHMENTS_BUCKET="relay-chat-attachments",
    CHAT_DELIVERY_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/ChatDeliveryQueue",
    # ---- Accounts (the user pool's id is moto's: tests that need it make the pool)
    AVATARS_BUCKET="relay-avatars",
)
# Running stacks leave their records here (`relay token` finds them), not in the user's own.
os.environ["RELAY_STACKS_DIR"] = str(ROOT / ".relay" / "test-stacks")
for unwanted in (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "SHORT_BASE_URL",
    "USER_POOL_ID",
    "USER_POOL_CLIENT_ID",
    "COGNITO_JWKS_URL",
):
    os.environ.pop(unwanted, None)


def _worker_number() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def _loopback(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


_redis_server: Any = None
REDIS_DESCRIPTION = ""
IN_PROCESS_REDIS_TIMEOUT_MS = 3000


def pytest_configure(config: pytest.Config) -> None:
    """Pick the Redis every test in this process uses, before anything imports a client."""
    global _redis_server, REDIS_DESCRIPTION
    # Functions run in process wait this long for Redis before the gate shuts and they
    # serve without it. Deployed, 250 ms; here a loaded 2-core CI machine can stall a
    # worker longer than that, and a session mark silently not kept fails a test that
    # is about something else. Tests of a dead or hanging Redis inject their own gate
    # and clock; stacks started by tests get the deployed default (tests.support.stack).
    os.environ.setdefault("REDIS_TIMEOUT_MS", str(IN_PROCESS_REDIS_TIMEOUT_MS))
    from relay_local.state.redis_choice import choose_redis

    configured = os.environ.get("REDIS_URL", "")
    if configured and not _loopback(configured):
        os.environ.pop("REDIS_URL")  # tests talk to this machine only
    choice = choose_redis(ROOT / ".relay" / "test-redis")
    _redis_server = choice
    base = (
        choice.url.rsplit("/", 1)[0] if urlsplit(choice.url).path not in ("", "/") else choice.url
    )
    # Database 0 belongs to `make run`; the tests take 1.. per worker, e2e stacks 8.. per worker.
    os.environ["REDIS_URL"] = f"{base.rstrip('/')}/{1 + _worker_number()}"
    os.environ["RELAY_E2E_REDIS_URL"] = f"{base.rstrip('/')}/{8 + _worker_number()}"
    REDIS_DESCRIPTION = choice.description


def pytest_report_header(config: pytest.Config) -> str:
    return f"redis: {REDIS_DESCRIPTION} (one database per worker)"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _redis_server is not None:
        _redis_server.stop()


@pytest.fixture
def redis_client() -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    queue_urls: dict[str, str]


@pytest.fixture
def aws(redis_client: Any) -> Iterator[Aws]:
    """moto with every table and queue of template.yaml, built by the local stack's own code."""
    import boto3
    from moto import mock_aws

    from relay_local.state.provision import create_with_clients
    from relay_local.template.build import build_model

    model = build_model(TEMPLATE, moto_url="http://127.0.0.1:1")
    with mock_aws():
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        urls = create_with_clients(model, dynamodb, sqs)
        assert urls["ClickQueue"] == os.environ["CLICK_QUEUE_URL"]
        yield Aws(dynamodb, sqs, urls)


@pytest.fixture(autouse=True)
def cognito_keys(monkeypatch: pytest.MonkeyPatch) -> Any:
    """In-process functions verify tokens against the template's user pool and moto's
    public key set (what local pools sign with: tests.support.accounts.mint), never a
    fetch. Yields the key set, whose `fetches` a test may count."""
    from relay.platform import auth
    from relay_local.tokens import moto_key_set
    from tests.support.lambdas import user_pool

    pool_id, client_id = user_pool()
    keys = auth.KeySet(lambda: moto_key_set().document)
    monkeypatch.setattr(auth, "pool", lambda: auth.Pool("us-east-1", pool_id, client_id))
    monkeypatch.setattr(auth, "keys", lambda: keys)
    return keys


@pytest.fixture
def clock():
    from tests.support.clock import FrozenClock

    return FrozenClock()


sys.path.insert(0, str(ROOT))
