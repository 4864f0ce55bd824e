"""Choosing the Redis the local stack uses, and starting one when none is running.

In order: `REDIS_URL` when set and answering PING; the default local Redis;
a `redis-server` from PATH on a free port (no persistence: Redis is a cache
here, DESIGN says it is never the only copy of anything); else fakeredis's TCP
server in a thread, which speaks the protocol and runs Lua through lupa.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RedisChoice:
    url: str
    description: str
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _server: Any = field(default=None, repr=False)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(url: str, timeout: float = 0.5) -> bool:
    """Whether a Redis answers at `url`: a PING in RESP over a plain socket, so that
    choosing a Redis does not import a client (`relay invoke` starts with this)."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        return _ping_with_client(url, timeout)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout
        ) as sock:
            if parts.password:
                user = parts.username or "default"
                sock.sendall(_command("AUTH", user, unquote(parts.password)))
                if not sock.recv(64).startswith(b"+OK"):
                    return False
            sock.sendall(_command("PING"))
            return sock.recv(64).startswith(b"+PONG")
    except (OSError, ValueError):
        return False


def _command(*words: str) -> bytes:
    encoded = [word.encode() for word in words]
    return b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded
    )


def _ping_with_client(url: str, timeout: float) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def choose_redis(state_dir: Path, allow_existing: bool = True) -> RedisChoice:
    """Find or start a Redis; the caller stops it with `RedisChoice.stop`."""
    configured = os.environ.get("REDIS_URL")
    if allow_existing and configured and ping(configured):
        return RedisChoice(configured, f"REDIS_URL {configured}")
    if allow_existing and ping(DEFAULT_URL):
        return RedisChoice(DEFAULT_URL, f"local redis at {DEFAULT_URL}")
    binary = shutil.which("redis-server")
    if binary:
        started = _start_redis_server(binary, state_dir)
        if started is not None:
            return started
    return _start_fake_server()


def _start_redis_server(binary: str, state_dir: Path) -> RedisChoice | None:
    port = free_port()
    workdir = state_dir / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # relay starts Redis before any thread
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and process.poll() is None:
        if ping(url, timeout=0.2):
            return RedisChoice(url, f"redis-server {binary} on port {port}", _process=process)
        time.sleep(0.02)  # waiting for a child process to listen; there is no event to wait on
    process.kill()
    return None


def _die_with_parent() -> None:
    """In the child: have Linux stop it when `relay` dies, even by kill -9; and leave the
    terminal's process group, so that Ctrl-C reaches `relay`, which stops Redis after the
    functions. (A process group, not a session: a session of its own would also be a
    scheduling group of its own, which costs the stack's throughput on a busy machine.)"""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _start_fake_server() -> RedisChoice:
    from fakeredis import TcpFakeServer

    port = free_port()
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True)
    thread.start()
    url = f"redis://127.0.0.1:{port}/0"
    return RedisChoice(url, f"in-process fakeredis on port {port}", _server=server)
