"""The running stack's control port, and how commands find a running stack.

`relay run` listens on a loopback port of its own, written to `stack.json` with
a random token (the file is the user's, like the rest of `.relay/`). `relay
invoke` then sends its event there and the stack invokes the function on its own
workers, warm when they are: no moto to load, no journal to replay, no process
to start. The invocation shows in `relay run`'s output too, as any other.

A running stack also leaves a record in a directory of the user's own
(`stacks_dir`: `$RELAY_STACKS_DIR`, else `$XDG_RUNTIME_DIR/relay/stacks`, else
`~/.cache/relay/stacks`), naming its template and state dir, and removes it when
it stops; `relay token` reads these to find the stack whatever `--state-dir` it
was started with. A record left by a stack that was killed is recognised (its
process is gone, or its control port no longer answers with its token) and
removed.

The client half imports only the standard library: it is the whole of `relay
invoke`'s start-up when a stack is running.
"""

from __future__ import annotations

import contextlib
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


def answers(info: dict[str, Any], timeout_s: float = 2.0) -> bool:
    """Whether the stack `info` describes answers on its control port with its token: a
    process of the same id that is not the stack (after a kill -9) does not."""
    connection = http.client.HTTPConnection("127.0.0.1", int(info["control_port"]), timeout_s)
    try:
        connection.request("GET", "/ping", headers={TOKEN_HEADER: str(info["control_token"])})
        return connection.getresponse().status == 200
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def stacks_dir() -> Path:
    override = os.environ.get("RELAY_STACKS_DIR")
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "relay" / "stacks"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "relay" / "stacks"


def register(state_dir: Path, template: Path) -> Path:
    """Leave the record of this running stack; returns its path (for `unregister`)."""
    folder = stacks_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{os.getpid()}.json"
    record = {"pid": os.getpid(), "state_dir": str(state_dir), "template": str(template)}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, path)
    return path


def unregister(path: Path) -> None:
    path.unlink(missing_ok=True)


def live_stacks() -> list[dict[str, Any]]:
    """Every running stack's `stack.json` (with its `state_dir`), stale records removed."""
    stacks: list[dict[str, Any]] = []
    folder = stacks_dir()
    if not folder.is_dir():
        return stacks
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            state_dir = Path(record["state_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        info = running_stack(state_dir)
        if (
            info is None
            or int(info.get("pid", -1)) != int(record.get("pid", -2))
            or not answers(info)
        ):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        stacks.append({**info, "state_dir": str(state_dir)})
    return stacks


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
