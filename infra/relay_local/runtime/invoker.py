"""Invoking functions in worker processes, started on demand and kept warm.

`Invoker.invoke` is what every gateway and event source calls. Each function has
a `FunctionRuntime`: up to `--concurrency` execution environments, each a worker
process that serves one invocation at a time, as on Lambda. A request that finds
every worker busy and has waited 10 ms starts a new one (a cold start) in the
background, and takes whichever is free first, the new one or a busy one
finishing: a burst never stalls behind a cold start it did not need, and short
overlaps do not start environments at all. A worker is replaced when it died,
timed out, or its code changed (hot reload makes it stale).

The channel to a worker is a Unix socket pair: one length-prefixed JSON message
each way per invocation, read by a protocol on the event loop with no stream
buffering in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from relay_local import ids
from relay_local.framing import frame, take_frames
from relay_local.template.loader import REGION
from relay_local.template.model import FunctionSpec

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload quota
SCALE_OUT_AFTER_S = 0.01


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
    log_stream: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None

    def outcome(self, redis: str) -> dict[str, Any]:
        """What `relay invoke` prints, whether it ran here or in a running stack (whose
        control port answers this as JSON); `redis` says which Redis the function used."""
        return {
            "result": self.result,
            "error": self.error,
            "logs": self.logs,
            "duration_ms": self.duration_ms,
            "cold": self.cold,
            "init_ms": self.init_ms,
            "redis": redis,
        }


InvocationListener = Callable[[FunctionSpec, Invocation], None]


class WorkerDied(Exception):
    pass


class _Channel(asyncio.Protocol):
    """The stack's end of a worker's socket: whole messages, one waiter at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[bytes] | None = None
        self._messages: deque[bytes] = deque()
        self._lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for message in take_frames(self._buffer):
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                self._waiter = None
                waiter.set_result(message)
            else:
                self._messages.append(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(WorkerDied("the worker exited"))

    def send(self, framed: bytes) -> None:
        if self.transport is None or self._lost:
            raise WorkerDied("the worker exited")
        self.transport.write(framed)

    def receive(self) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        if self._messages:
            future.set_result(self._messages.popleft())
        elif self._lost:
            future.set_exception(WorkerDied("the worker exited"))
        else:
            self._waiter = future
        return future

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _expire(answer: asyncio.Future[bytes]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())


class Worker:
    """A `relay_local.runtime.worker` process and its channel."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        channel: _Channel,
        init_ms: float,
        ready: bool,
        generation: int,
        log_stream: str,
    ) -> None:
        self.process = process
        self.channel = channel
        self.init_ms = init_ms
        self.ready = ready
        self.generation = generation  # the code version it imported (see FunctionRuntime)
        self.log_stream = log_stream

    @classmethod
    async def start(cls, spec: FunctionSpec, env: dict[str, str], generation: int = 0) -> Worker:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{ids.hex_id(32)}"
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "relay_local.runtime.worker",
                spec.handler,
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                cwd=spec.code_dir,
                env={**env, "AWS_LAMBDA_LOG_STREAM_NAME": log_stream},
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        _, channel = await loop.create_unix_connection(_Channel, sock=ours)
        try:
            hello = json.loads(await channel.receive())
        except WorkerDied as exc:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise WorkerDied(f"worker for {spec.logical_id} exited during init") from exc
        return cls(
            process,
            channel,
            float(hello["init_ms"]),
            bool(hello["ready"]),
            generation,
            log_stream,
        )

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.channel._lost

    async def invoke(self, message: bytes, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """The worker's outcome and its result's JSON (empty when there is none)."""
        self.channel.send(message)
        answer = self.channel.receive()
        # A timer on the future, rather than asyncio.wait_for's task per invocation.
        timer = asyncio.get_running_loop().call_later(timeout_s, _expire, answer)
        try:
            outcome: dict[str, Any] = orjson.loads(await answer)
        finally:
            timer.cancel()
        return outcome, await self.channel.receive()

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        self.channel.close()  # the worker exits at the end of its input
        try:
            await asyncio.wait_for(self.process.wait(), 2)
        except TimeoutError:
            self.kill()
            await self.process.wait()

    def kill(self) -> None:
        self.channel.close()
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class FunctionRuntime:
    """One function's execution environments: up to `max_workers` worker processes.

    An invocation takes an idle current worker when there is one. Otherwise it
    waits for the first worker to become free: a busy one finishing or, when it
    has waited 10 ms and the concurrency limit allows, a new one started for it.
    A worker serves one invocation at a time. Hot reload bumps the generation:
    older workers are retired as they come free.
    """

    def __init__(self, spec: FunctionSpec, env: dict[str, str], max_workers: int = 1) -> None:
        self.spec = spec
        self.env = env
        self.max_workers = max(1, max_workers)
        self._idle: list[Worker] = []  # last in, first out: the warmest worker serves next
        self._waiters: deque[asyncio.Future[Worker]] = deque()
        self._live = 0  # idle + busy + starting
        self._starting = 0
        self._generation = 0
        self._background: set[asyncio.Task[None]] = set()
        self._init_errors: deque[dict[str, Any]] = deque()
        self._closed = False

    def mark_stale(self) -> None:
        self._generation += 1
        for worker in self._idle:
            self._retire(worker)
        self._idle = []

    @property
    def warm(self) -> bool:
        return any(w.alive and w.generation == self._generation for w in self._idle)

    async def invoke(self, payload: bytes) -> Invocation:
        request_id = ids.request_id()
        invocation = Invocation(self.spec.logical_id, request_id)
        if len(payload) > MAX_PAYLOAD_BYTES:
            invocation.error = {
                "errorType": "RequestEntityTooLargeException",
                "errorMessage": f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes"
                " for the InvokeFunction operation",
            }
            invocation.finished_at = time.time()
            return invocation
        deadline_ms = time.time() * 1000 + self.spec.timeout_s * 1000
        header = json.dumps({"request_id": request_id, "deadline_ms": deadline_ms}).encode()
        message = frame(header) + frame(payload)
        started = time.perf_counter()
        try:
            worker = await self._acquire()
        except WorkerDied as exc:
            invocation.error = self._init_errors.popleft() if self._init_errors else None
            if invocation.error is None:
                invocation.error = {"errorType": "Runtime.ExitError", "errorMessage": str(exc)}
            invocation.duration_ms = (time.perf_counter() - started) * 1000
            invocation.finished_at = time.time()
            return invocation
        answer: dict[str, Any] = {}
        keep = False
        started = time.perf_counter()
        try:
            answer, result = await worker.invoke(message, self.spec.timeout_s + 0.1)
        except TimeoutError:
            invocation.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {self.spec.timeout_s:.2f} seconds",
            }
        except (WorkerDied, ConnectionError, ValueError) as exc:
            # ValueError: a garbled message, as from a worker dying mid-write.
            invocation.error = {"errorType": "Runtime.ExitError", "errorMessage": str(exc)}
        else:
            invocation.result = orjson.loads(result) if result else None
            invocation.error = answer.get("error")
            invocation.logs = answer.get("logs", [])
            invocation.cold = bool(answer.get("cold"))
            invocation.init_ms = float(answer.get("init_ms", 0.0))
            # A worker whose init failed exits; the next invocation retries init, as Lambda does.
            keep = worker.ready
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            invocation.duration_ms = float(answer.get("duration_ms", elapsed_ms))
            invocation.log_stream = worker.log_stream
            self._release(worker, keep)
        invocation.finished_at = time.time()
        return invocation

    async def _acquire(self) -> Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive and worker.generation == self._generation:
                return worker
            self._retire(worker)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Worker] = loop.create_future()
        self._waiters.append(waiter)
        scale_out: asyncio.TimerHandle | None = None
        if self._live == 0:
            self._scale_out()
        else:
            # A busy environment usually frees up within milliseconds; a new one costs a
            # cold start's CPU that every other request on the laptop pays for. So scale
            # out only for a request that has waited a little (Lambda would at once).
            scale_out = loop.call_later(SCALE_OUT_AFTER_S, self._scale_out)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result(), True)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        finally:
            if scale_out is not None:
                scale_out.cancel()

    def _scale_out(self) -> None:
        """Start one more environment if requests wait that no starting one will serve."""
        pending = sum(1 for waiter in self._waiters if not waiter.done())
        if self._live < self.max_workers and self._starting < pending and not self._closed:
            self._start_one()

    def _start_one(self) -> None:
        self._live += 1
        self._starting += 1
        task = asyncio.get_running_loop().create_task(self._start(self._generation))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _start(self, generation: int) -> None:
        try:
            worker = await Worker.start(self.spec, self.env, generation)
        except (WorkerDied, OSError) as exc:
            self._starting -= 1
            self._live -= 1
            # The request that wanted this worker fails as Lambda's would on a broken init.
            if self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(WorkerDied(str(exc)))
            return
        self._starting -= 1
        self._release(worker, True)

    def _release(self, worker: Worker, keep: bool) -> None:
        current = worker.generation == self._generation and not self._closed
        if not (keep and worker.alive and current):
            self._live -= 1
            if keep and worker.alive:
                self._retire_now(worker)
            else:
                worker.kill()
            # A request still waiting may now start the environment this one held.
            room = self._live < self.max_workers and not self._closed
            if room and self._starting < len(self._waiters):
                self._start_one()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _retire(self, worker: Worker) -> None:
        self._live -= 1
        self._retire_now(worker)

    def _retire_now(self, worker: Worker) -> None:
        task = asyncio.get_running_loop().create_task(worker.stop())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self, graceful: bool = True) -> None:
        """Stop the idle workers (busy ones go when they finish); without `graceful`,
        kill them rather than wait for them to exit (a one-off `relay invoke`)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(WorkerDied("the stack is stopping"))
        if not graceful:
            for worker in idle:
                worker.kill()
            idle = []
        await asyncio.gather(
            *(worker.stop() for worker in idle), *self._background, return_exceptions=True
        )


def worker_env(
    spec: FunctionSpec,
    overrides: dict[str, str],
    localize: Callable[[dict[str, str]], dict[str, str]] = lambda env: env,
) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at local services."""
    # The host's AWS settings (a profile, real credentials) must not leak into a function.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("REDIS_URL", None)
    env.pop("PYTHONPATH", None)
    env.update(localize(spec.environment))
    env.pop("JWT_SECRET_ARN", None)
    env.update(overrides)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
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


def encode_event(event: Any) -> bytes:
    return orjson.dumps(event)


class Invoker:
    """Runs functions by logical id and tells listeners about each invocation.

    Runtimes are keyed by function; `apply` swaps in a new set of specs after a
    template edit: a function whose spec changed gets a fresh runtime (its old
    workers finish what they are doing, then go), the others stay warm.
    """

    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        overrides: dict[str, str],
        max_workers: int = 1,
        localize: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        self.overrides = overrides
        self.max_workers = max_workers
        # Points the template's API URLs at the local gateways (known once they listen).
        self.localize = localize or (lambda env: env)
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.listeners: list[InvocationListener] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self.apply(functions)

    def apply(self, functions: dict[str, FunctionSpec]) -> list[str]:
        """Reconcile runtimes with `functions`; returns the ids whose runtime was replaced.

        A runtime is replaced when its spec or the environment it would get changed
        (a template edit, or an API's local address now known)."""
        changed: list[str] = []
        for logical_id, runtime in list(self.runtimes.items()):
            spec = functions.get(logical_id)
            same = spec is not None and spec == runtime.spec
            if same and worker_env(runtime.spec, self.overrides, self.localize) == runtime.env:
                continue
            del self.runtimes[logical_id]
            self._stop_later(runtime)
            if spec is not None:
                changed.append(logical_id)
        for logical_id, spec in functions.items():
            if logical_id not in self.runtimes:
                env = worker_env(spec, self.overrides, self.localize)
                self.runtimes[logical_id] = FunctionRuntime(spec, env, self.max_workers)
        return changed

    def _stop_later(self, runtime: FunctionRuntime) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(runtime.stop())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def invoke(self, function: str, event: Any) -> Invocation:
        return await self.invoke_encoded(function, encode_event(event))

    async def invoke_encoded(self, function: str, payload: bytes) -> Invocation:
        runtime = self.runtimes[function]
        invocation = await runtime.invoke(payload)
        for listener in self.listeners:
            listener(runtime.spec, invocation)
        return invocation

    def mark_stale(self, function: str) -> None:
        runtime = self.runtimes.get(function)
        if runtime is not None:
            runtime.mark_stale()

    async def close(self, graceful: bool = True) -> None:
        await asyncio.gather(
            *(runtime.stop(graceful) for runtime in self.runtimes.values()),
            *self._retiring,
            return_exceptions=True,
        )
