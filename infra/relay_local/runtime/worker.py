"""One Lambda execution environment: `python -m relay_local.runtime.worker MODULE.FUNC`.

Like Lambda, the worker imports the handler once (the cold start, timed as
init) and then serves invocations one at a time, for as long as it lives. It
talks to the invoker over a Unix socket (its file descriptor is the second
argument): length-prefixed JSON messages, an invocation's header then its
event, and back its outcome then its result. The handler's own stdout and
stderr (print, logging, Powertools' Logger, which binds `sys.stdout` when
constructed) go to a capture object
installed before the import, and come back as the invocation's log lines.
A handler exception becomes an error result and the worker stays up.

This module imports only the standard library: its import time is part of
every cold start the local stack reports.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any

from relay_local.framing import frame, receive_frame

REQUEST_ID_KEY = "request_id"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response payload quota


class LogCapture(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr and collects complete lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if "\n" not in text:
            self._partial += text
            return len(text)
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        self.lines.extend(pieces)
        return len(text)

    def take(self) -> list[str]:
        if self._partial:
            self.lines.append(self._partial)
            self._partial = ""
        lines, self.lines = self.lines, []
        return lines

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def isatty(self) -> bool:
        return False


class LambdaContext:
    """The context object Lambda passes to a handler."""

    def __init__(self, request_id: str, deadline_ms: float) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = env.get("RELAY_FUNCTION_ARN", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    # Lambda's stack trace starts in the handler: this module's own frame is not the user's.
    frames = traceback.extract_tb(exc.__traceback__)
    own = sum(1 for frame in frames if frame.filename == __file__)
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_list(frames[own:]),
    }


def _json_default(value: object) -> object:
    # The Python runtime's marshaller accepts Decimal (boto3's numbers) and nothing else.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Channel:
    """The worker's end of the socket pair: length-prefixed messages, blocking."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)
        self._sock.setblocking(True)

    def receive(self) -> bytes | None:
        return receive_frame(self._sock)

    def send(self, message: dict[str, Any], result: bytes | None = None) -> None:
        """One message; an answer also carries the result's JSON, encoded once, as a second."""
        frames = frame(json.dumps(message, separators=(",", ":")).encode())
        if result is not None:
            frames += frame(result)
        self._sock.sendall(frames)


def main() -> None:
    # The terminal's Ctrl-C reaches every process of `relay run`; the stack stops its workers
    # itself, so a worker takes no KeyboardInterrupt (and prints no traceback) of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handler_name = sys.argv[1]
    channel = Channel(int(sys.argv[2]))
    # Output written below Python (a C extension, a subprocess) goes to the stack's stderr.
    os.dup2(2, 1)
    capture = LogCapture()
    sys.stdout = capture
    sys.stderr = capture

    started = time.perf_counter()
    init_error: dict[str, Any] | None = None
    handler: Any = None
    try:
        module_name, _, function_name = handler_name.rpartition(".")
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the function's init error
        error_type = (
            "Runtime.HandlerNotFound"
            if isinstance(exc, AttributeError)
            else "Runtime.ImportModuleError"
        )
        init_error = _error(exc, error_type)
    init_ms = (time.perf_counter() - started) * 1000
    channel.send({"ready": init_error is None, "init_ms": init_ms})

    cold = True
    while True:
        header = channel.receive()
        payload = channel.receive()
        if header is None or payload is None:
            return
        request = json.loads(header)
        started = time.perf_counter()
        response: dict[str, Any]
        if init_error is not None:
            response = {"error": init_error}
        else:
            context = LambdaContext(request[REQUEST_ID_KEY], request["deadline_ms"])
            try:
                response = {"result": handler(json.loads(payload), context)}
            except Exception as exc:  # noqa: BLE001 - Lambda reports any handler exception
                response = {"error": _error(exc)}
        response["duration_ms"] = (time.perf_counter() - started) * 1000
        response["logs"] = capture.take()
        response["cold"] = cold
        response["init_ms"] = init_ms if cold else 0.0
        cold = False
        result = b""
        if "result" in response:
            try:
                result = json.dumps(
                    response.pop("result"), default=_json_default, separators=(",", ":")
                ).encode()
            except (TypeError, ValueError) as exc:
                # A result JSON cannot carry: Lambda fails the invocation the same way.
                response["error"] = _error(exc, "Runtime.MarshalError")
        if len(result) > MAX_RESPONSE_BYTES:
            result = b""
            response["error"] = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": "Response payload size exceeded maximum allowed payload size"
                f" ({MAX_RESPONSE_BYTES} bytes).",
            }
        channel.send(response, result)
        if init_error is not None:
            # Lambda retries a failed init on the next invocation, in a fresh environment.
            return


if __name__ == "__main__":
    main()
