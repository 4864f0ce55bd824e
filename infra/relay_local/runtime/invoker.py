"""Invoking functions in worker processes, started on demand and kept warm.

`Invoker.invoke` is what the HTTP gateway, the SQS pollers and the log
subscriptions call. Each function has a `FunctionRuntime`, a small pool of
execution environments (one by default, `relay run --concurrency N` for more):
a worker serves one invocation at a time, and is replaced when it died, timed
out, or its code changed (hot reload makes it stale; the next invocation is a
cold start), as Lambda replaces an execution environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from relay_local.template.loader import REGION
from relay_local.template.model import FunctionSpec, StackModel

_PIPE_LIMIT = 64 * 1024 * 1024  # one JSON line carries a whole event or result


@dataclass
class Invocation:
    function: str
    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    logs: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    cold: bool = False
    init_ms: float = 0.0
    finished_at: float = 0.0  # epoch seconds

    @property
    def failed(self) -> bool:
        return self.error is not None


InvocationListener = Callable[[FunctionSpec, Invocation], None]


class Worker:
    """A `relay_local.runtime.worker` process and its pipes."""

    def __init__(
        self, process: asyncio.subprocess.Process, init_ms: float, ready: bool, generation: int
    ) -> None:
        self.process = process
        self.init_ms = init_ms
        self.ready = ready
        self.generation = generation  # the code version it imported (see FunctionRuntime)

    @classmethod
    async def start(cls, spec: FunctionSpec, env: dict[str, str], generation: int = 0) -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relay_local.runtime.worker",
            spec.handler,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=spec.code_dir,
            env=env,
            limit=_PIPE_LIMIT,
        )
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise WorkerDied(f"worker for {spec.logical_id} exited during init")
        hello = json.loads(line)
        return cls(process, float(hello["init_ms"]), bool(hello["ready"]), generation)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def invoke(self, message: bytes, timeout_s: float) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(message)
        await stdin.drain()
        line = await asyncio.wait_for(stdout.readline(), timeout_s)
        if not line:
            raise WorkerDied("worker exited during the invocation")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def stop(self) -> None:
        if not self.alive:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2)
        except TimeoutError:
            self.kill()
            await self.process.wait()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class WorkerDied(Exception):
    pass


class FunctionRuntime:
    """One function's execution environments: up to `max_workers` worker processes.

    Like Lambda, an invocation takes an idle warm worker when there is one and
    starts a new (cold) one only when all are busy and the concurrency limit
    allows; otherwise it waits. A worker serves one invocation at a time.
    Hot reload bumps the generation: older workers are retired when next free.
    """

    def __init__(self, spec: FunctionSpec, env: dict[str, str], max_workers: int = 1) -> None:
        self.spec = spec
        self.env = env
        self.max_workers = max(1, max_workers)
        self._idle: list[Worker] = []  # last in, first out: the warmest worker serves next
        self._live = 0  # idle + busy + starting
        self._generation = 0
        self._changed = asyncio.Condition()
        self._retiring: set[asyncio.Task[None]] = set()

    def mark_stale(self) -> None:
        self._generation += 1

    @property
    def warm(self) -> bool:
        return any(w.alive and w.generation == self._generation for w in self._idle)

    async def invoke(self, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        deadline_ms = time.time() * 1000 + self.spec.timeout_s * 1000
        message = (
            json.dumps({"event": event, "request_id": request_id, "deadline_ms": deadline_ms})
            + "\n"
        ).encode()
        invocation = Invocation(self.spec.logical_id, request_id)
        worker = await self._acquire()
        started = time.perf_counter()
        answer: dict[str, Any] = {}
        keep = False
        try:
            if worker is None:
                worker = await Worker.start(self.spec, self.env, self._generation)
            answer = await worker.invoke(message, self.spec.timeout_s + 0.1)
        except TimeoutError:
            invocation.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {self.spec.timeout_s:.2f} seconds",
            }
        except (WorkerDied, ConnectionError, ValueError) as exc:
            # ValueError: a garbled protocol line, as from a worker dying mid-write.
            invocation.error = {"errorType": "Runtime.ExitError", "errorMessage": str(exc)}
        else:
            invocation.result = answer.get("result")
            invocation.error = answer.get("error")
            invocation.logs = answer.get("logs", [])
            invocation.cold = bool(answer.get("cold"))
            invocation.init_ms = float(answer.get("init_ms", 0.0))
            # A worker whose init failed exits; the next invocation retries init, as Lambda does.
            keep = worker.ready
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            invocation.duration_ms = float(answer.get("duration_ms", elapsed_ms))
            await self._release(worker, keep)
        invocation.finished_at = time.time()
        return invocation

    async def _acquire(self) -> Worker | None:
        """An idle current worker, or None when the caller may start a new one."""
        async with self._changed:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive and worker.generation == self._generation:
                        return worker
                    self._retire(worker)
                if self._live < self.max_workers:
                    self._live += 1
                    return None
                await self._changed.wait()

    async def _release(self, worker: Worker | None, keep: bool) -> None:
        async with self._changed:
            if worker is not None and keep and worker.alive:
                self._idle.append(worker)
            else:
                self._live -= 1
                if worker is not None:
                    worker.kill()
            self._changed.notify()

    def _retire(self, worker: Worker) -> None:
        self._live -= 1
        task = asyncio.get_running_loop().create_task(worker.stop())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(worker.stop() for worker in idle), *self._retiring)


def worker_env(spec: FunctionSpec, overrides: dict[str, str]) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at local services."""
    # The host's AWS settings (a profile, real credentials) must not leak into a function.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("REDIS_URL", None)
    env.pop("PYTHONPATH", None)
    env.update(spec.env)
    env.pop("JWT_SECRET_ARN", None)
    env.update(overrides)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "RELAY_FUNCTION_ARN": spec.arn,
            "PYTHONPATH": os.pathsep.join(
                [str(spec.code_dir), *(str(path) for path in spec.layer_dirs)]
            ),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class Invoker:
    """Runs functions of the model by logical id and tells listeners about each invocation."""

    def __init__(self, model: StackModel, overrides: dict[str, str], max_workers: int = 1) -> None:
        self.model = model
        self.runtimes = {
            logical_id: FunctionRuntime(spec, worker_env(spec, overrides), max_workers)
            for logical_id, spec in model.functions.items()
        }
        self.listeners: list[InvocationListener] = []

    async def invoke(self, function: str, event: Any) -> Invocation:
        runtime = self.runtimes[function]
        invocation = await runtime.invoke(event)
        for listener in self.listeners:
            listener(runtime.spec, invocation)
        return invocation

    def mark_stale(self, function: str) -> None:
        self.runtimes[function].mark_stale()

    async def close(self) -> None:
        await asyncio.gather(*(runtime.stop() for runtime in self.runtimes.values()))
