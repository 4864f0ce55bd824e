"""What `relay` prints: the start-up summary and one line per invocation, as sam local does.

A CLI's output, written with plain stream writes (this is not logging: the
lines are the product). Function log lines are indented under the invocation
that produced them. Invocation lines are kept off the request path: they are
formatted and written together a few milliseconds later, after the answers have
gone, instead of one write and flush per request.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from relay_local.runtime.invoker import Invocation

FLUSH_AFTER_S = 0.02


class Output:
    def __init__(self, stream: TextIO | None = None, show_logs: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.show_logs = show_logs
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Invocation, str]] = []
        self._flush_scheduled = False

    def line(self, text: str = "") -> None:
        with self._lock:
            self._write_pending()
            self.stream.write(text + "\n")
            self.stream.flush()

    def section(self, title: str, items: list[str]) -> None:
        self.line(title)
        for item in items or ["(none)"]:
            self.line(f"  {item}")

    def invocation(self, source: str, invocation: Invocation, status: str) -> None:
        with self._lock:
            self._pending.append((source, invocation, status))
            if self._flush_scheduled:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._write_pending()
                self.stream.flush()
                return
            self._flush_scheduled = True
        loop.call_later(FLUSH_AFTER_S, self.flush)

    def flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
            self._write_pending()
            self.stream.flush()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self.stream.write("".join(self._format(*entry) for entry in pending))

    def _format(self, source: str, invocation: Invocation, status: str) -> str:
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
        return "\n".join(lines) + "\n"
