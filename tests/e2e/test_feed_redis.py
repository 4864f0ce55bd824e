"""The feed end to end with a Redis that misbehaves: `relay run` (a celebrity threshold of
2 followers) on a `redis-server` of this module's own, which the tests stop (SIGSTOP)
at the moment a follow makes someone a celebrity, and restart empty. Redis is only a
cache: whatever it did, every follower's feed shows what DynamoDB says, read through
the cache again once it answers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.e2e.test_feed import User
from tests.support.stack import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server that saves nothing, which a test can stop, resume and restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.client = redis.Redis(port=port, decode_responses=True, socket_timeout=5)
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        eventually(lambda: self._answers(), what="redis-server to answer")

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart_empty(self) -> None:
        self.stop()
        self.start()
        assert self.client.dbsize() == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    running = RedisServer(_free_port())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, server: RedisServer) -> Iterator[Stack]:
    running = Stack(
        ROOT,
        tmp_path_factory.mktemp("relay-feed-redis-state"),
        "--parameter-overrides",
        "CelebrityThreshold=2",
        env={"REDIS_URL": server.url, "PATH": os.environ.get("PATH", "")},
    )
    try:
        yield running
    finally:
        running.stop()


def cached_feed(reader: User, server: RedisServer) -> list[str]:
    """The reader's feed as the cache serves it: read until a read went through Redis
    (read.lua renews the timeline's time to live, so a shortened one grows back), since
    for a few seconds after a failure a function serves straight from DynamoDB."""
    key = f"feed:tl:{reader.id}"

    def through_the_cache() -> tuple[list[str]] | None:
        server.client.expire(key, 1_000)
        ids = reader.feed_ids()
        return (ids,) if server.client.ttl(key) > 1_000 else None

    return eventually(through_the_cache, timeout=20, what=f"a cached read of {reader.handle}")[0]


def posted_everywhere(post_id: str, readers: list[User], server: RedisServer) -> None:
    for reader in readers:
        eventually(
            lambda reader=reader: cached_feed(reader, server)[:1] == [post_id],
            timeout=20,
            what=f"{post_id} in {reader.handle}'s cached feed",
        )


def test_a_celebrity_made_while_redis_hangs_reaches_every_follower_and_survives_a_restart(
    stack: Stack, server: RedisServer
) -> None:
    run = uuid.uuid4().hex[:6]
    star, early, late = (User(stack, f"{name}_{run}") for name in ("star", "early", "late"))
    early.follow(star)
    for reader in (early, late, star):
        assert cached_feed(reader, server) == []

    server.pause()  # Redis hangs at the moment the second follow makes a celebrity
    try:
        followed: dict[str, Any] = late.follow(star)
    finally:
        server.resume()

    assert (followed["followers"], followed["followedByMe"]) == (2, True)
    post_id = star.post("now a celebrity")
    posted_everywhere(post_id, [early, late, star], server)

    server.restart_empty()

    after = star.post("after Redis came back empty")
    posted_everywhere(after, [early, late, star], server)
    assert server.client.sismember("feed:celebs", star.id)
