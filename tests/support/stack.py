"""Starting the local stack as a user does (`relay run` in a subprocess), on free
ports, with a temporary state dir; used by the local stack's own tests and by e2e.

A subprocess, not an in-process stack: moto keeps its state in module globals,
and the restart tests need a process that can be stopped and SIGKILLed.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import httpx

START_TIMEOUT_S = 30
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 10.0, what: str = "") -> T:
    """Poll `probe` until it returns something truthy; fail at the deadline.

    The pause grows from 20 ms to half a second: quick when the answer is near, and
    gentle on rate-limited routes when it is not."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(pause)  # waiting on another process: there is no event to wait on
        pause = min(0.5, pause * 1.5)


def relay(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay_local.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


class Stack:
    """A running `relay run`, its output, and clients for what it serves."""

    def __init__(
        self,
        project: Path,
        state_dir: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
        template: str = "template.yaml",
    ) -> None:
        self.project = project
        self.template = project / template
        self.state_dir = state_dir
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "relay_local.cli", "run"),
                *("--http-port", "0", "--ws-port", "0", "--cognito-port", "0"),
                *("--template", str(self.template), "--state-dir", str(state_dir)),
                *extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # The stack's functions keep the deployed Redis timeout (tests/conftest.py
            # lengthens it only for functions run in the test process).
            env={
                **{k: v for k, v in os.environ.items() if k != "REDIS_TIMEOUT_MS"},
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            },
            cwd=project,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for_output("Ready:", timeout=START_TIMEOUT_S)
        self.info: dict[str, Any] = json.loads((state_dir / "stack.json").read_text())
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.info['http_port']}", timeout=30)

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def output(self) -> list[str]:
        """Every line printed so far."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return self.lines
            if line is None:
                self._queue.put(None)  # the process ended: wait_for_output must see it too
                return self.lines
            self.lines.append(line)

    def wait_for_output(self, text: str, timeout: float = 10.0) -> str:
        for known in self.lines:
            if text in known:
                return known
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {text!r} in output:\n" + "\n".join(self.lines))
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("stack exited:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                return line

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.info["moto_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def ws_url(self, query: str = "", api: str | None = None) -> str:
        ports: dict[str, int] = self.info["ws_ports"]
        port = ports[api] if api is not None else next(iter(ports.values()))
        return f"ws://127.0.0.1:{port}/{'?' + query if query else ''}"

    def ws(self, query: str = "", **options: Any) -> Any:
        """A WebSocket client connected to the stack (websockets' sync client)."""
        from websockets.sync.client import connect

        return connect(self.ws_url(query), open_timeout=20, **options)

    def queue_url(self, name: str) -> str:
        return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)

    def kill(self) -> None:
        self.http.close()
        self.process.kill()
        self.process.wait(timeout=15)
