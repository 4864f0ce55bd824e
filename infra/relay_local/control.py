"""The running stack's control port: how `relay invoke` reuses a `relay run`.

`relay run` listens on a loopback port of its own, written to `stack.json` with
a random token (the file is the user's, like the rest of `.relay/`). `relay
invoke` then sends its event there and the stack invokes the function on its own
workers, warm when they are: no moto to load, no journal to replay, no process
to start. The invocation shows in `relay run`'s output too, as any other.

The client half imports only the standard library: it is the whole of `relay
invoke`'s start-up when a stack is running.
"""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path
from typing import Any

TOKEN_HEADER = "x-relay-token"  # noqa: S105 - a header name
STACK_FILE = "stack.json"


def running_stack(state_dir: Path) -> dict[str, Any] | None:
    """The `stack.json` of a live `relay run` on this state dir, if there is one."""
    path = state_dir / STACK_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return info


def invoke_remote(
    port: int, token: str, function: str, event: bytes, timeout_s: float
) -> dict[str, Any] | None:
    """The outcome from a running stack; None when it has no such function."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request(
            "POST",
            f"/invoke/{function}",
            body=event,
            headers={TOKEN_HEADER: token, "content-type": "application/json"},
        )
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status == 404:
        return None
    if response.status != 200:
        raise ConnectionError(f"the running stack answered {response.status}")
    outcome: dict[str, Any] = json.loads(payload)
    return outcome
