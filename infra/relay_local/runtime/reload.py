"""Hot reload: a file change under a function's code or one of its layers makes
that function's workers stale, so its next invocation is a cold start on the new
code; every other function stays warm. A change to the template itself is handed
to the stack (`on_template_change`), which rebuilds its model and applies it.

watchfiles runs in threads (its watch loop blocks); what changed is handed to
the event loop, which owns the invoker.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
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


def _roots(model: StackModel) -> list[Path]:
    roots: set[Path] = set()
    for function in model.functions.values():
        roots.update((function.code_dir, *function.layer_dirs))
    # Watching a parent and its child twice would report every change twice.
    return sorted(r for r in roots if r.is_dir() and not any(o in r.parents for o in roots))


class Reloader:
    def __init__(
        self,
        model: StackModel,
        invoker: Invoker,
        loop: asyncio.AbstractEventLoop,
        output: Output,
        template: Path | None = None,
    ) -> None:
        self.model = model
        self.invoker = invoker
        self.loop = loop
        self.output = output
        self.template = template.resolve() if template is not None else None
        self.on_template_change: Callable[[], None] | None = None
        self.roots = _roots(model)
        self._stop = threading.Event()
        self._code_stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._watch_code()
        if self.template is not None:
            thread = threading.Thread(
                target=self._watch_template, name="relay-template", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def apply(self, model: StackModel) -> None:
        """A new model: watch its functions' folders from now on."""
        self.model = model
        roots = _roots(model)
        if roots != self.roots:
            self.roots = roots
            self._code_stop.set()
            self._code_stop = threading.Event()
            self._watch_code()

    def stop(self) -> None:
        self._stop.set()
        self._code_stop.set()
        for thread in self._threads:
            thread.join(timeout=2)

    def _watch_code(self) -> None:
        if not self.roots:
            return
        stop = self._code_stop
        thread = threading.Thread(
            target=self._watch, args=(list(self.roots), stop), name="relay-reload", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _watch(self, roots: list[Path], stop: threading.Event) -> None:
        for changes in watch(*roots, stop_event=_either(stop, self._stop), debounce=50, step=20):
            stale: dict[str, Path] = {}
            for _, raw_path in changes:
                path = Path(raw_path)
                for function in affected_functions(self.model, path):
                    stale.setdefault(function, path)
            if stale:
                self.loop.call_soon_threadsafe(self._mark, stale)

    def _watch_template(self) -> None:
        assert self.template is not None
        template = self.template

        def is_template(_: object, path: str) -> bool:
            return Path(path) == template

        for _ in watch(
            template.parent,
            watch_filter=is_template,
            recursive=False,
            stop_event=self._stop,
            debounce=200,
            step=50,
        ):
            if self.on_template_change is not None:
                self.loop.call_soon_threadsafe(self.on_template_change)

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


class _Either:
    """A stop event for watchfiles that is set when either of two events is."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self.first = first
        self.second = second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


def _either(first: threading.Event, second: threading.Event) -> threading.Event:
    return _Either(first, second)  # type: ignore[return-value]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
