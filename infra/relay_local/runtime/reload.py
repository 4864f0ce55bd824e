"""Hot reload: a file change under a function's code or one of its layers makes
that function's worker stale, so its next invocation is a cold start on the new
code; every other function stays warm.

watchfiles runs in a thread (its watch loop blocks); staleness is handed to the
event loop, which owns the invoker.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from watchfiles import watch

from relay_local.output import Output
from relay_local.runtime.invoker import Invoker
from relay_local.template.model import StackModel


def affected_functions(model: StackModel, changed: Path) -> set[str]:
    """Functions whose code dir or one of whose layer dirs contains `changed`."""
    hit: set[str] = set()
    for function in model.functions.values():
        for root in (function.code_dir, *function.layer_dirs):
            if changed == root or root in changed.parents:
                hit.add(function.logical_id)
                break
    return hit


class Reloader:
    def __init__(
        self, model: StackModel, invoker: Invoker, loop: asyncio.AbstractEventLoop, output: Output
    ) -> None:
        self.model = model
        self.invoker = invoker
        self.loop = loop
        self.output = output
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        roots: set[Path] = set()
        for function in model.functions.values():
            roots.update((function.code_dir, *function.layer_dirs))
        # Watching a parent and its child twice would report every change twice.
        self.roots = sorted(
            r for r in roots if r.is_dir() and not any(o in r.parents for o in roots)
        )

    def start(self) -> None:
        if not self.roots:
            return
        self._thread = threading.Thread(target=self._watch, name="relay-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _watch(self) -> None:
        for changes in watch(*self.roots, stop_event=self._stop, debounce=50, step=20):
            stale: dict[str, Path] = {}
            for _, raw_path in changes:
                path = Path(raw_path)
                for function in affected_functions(self.model, path):
                    stale.setdefault(function, path)
            if stale:
                self.loop.call_soon_threadsafe(self._mark, stale)

    def _mark(self, stale: dict[str, Path]) -> None:
        by_path: dict[Path, list[str]] = {}
        for function, path in sorted(stale.items()):
            self.invoker.mark_stale(function)
            by_path.setdefault(path, []).append(function)
        for path, functions in by_path.items():
            where = _relative(path, self.model.root)
            self.output.line(
                f"[relay] {where} changed: next invocation of {', '.join(functions)} is cold"
            )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
