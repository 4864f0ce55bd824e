"""What `relay` prints: the start-up summary and one line per invocation, as sam local does.

A CLI's output, written with plain stream writes (this is not logging: the
lines are the product). Function log lines are indented under the invocation
that produced them.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from relay_local.runtime.invoker import Invocation

_lock = threading.Lock()


class Output:
    def __init__(self, stream: TextIO | None = None, show_logs: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.show_logs = show_logs

    def line(self, text: str = "") -> None:
        with _lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def section(self, title: str, items: list[str]) -> None:
        self.line(title)
        for item in items or ["(none)"]:
            self.line(f"  {item}")

    def invocation(self, source: str, invocation: Invocation, status: str) -> None:
        clock = time.strftime("%H:%M:%S", time.localtime(invocation.finished_at or time.time()))
        temperature = f"cold (init {invocation.init_ms:.1f} ms)" if invocation.cold else "warm"
        lines = [
            f"{clock} {source} -> {invocation.function} {status} "
            f"{invocation.duration_ms:.1f} ms {temperature}"
        ]
        if self.show_logs:
            lines.extend(f"    {log}" for log in invocation.logs)
            if invocation.error is not None:
                error = invocation.error
                lines.append(f"    [ERROR] {error.get('errorType')}: {error.get('errorMessage')}")
                lines.extend(f"    {frame.rstrip()}" for frame in error.get("stackTrace", []) or [])
        self.line("\n".join(lines))
