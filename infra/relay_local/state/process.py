"""Local AWS in a process of its own, and the stack's handle on it.

Moto is pure Python: under load (a click pipeline, a fan-out) it keeps a core
busy, and in the stack's own process it held the GIL the gateways need: a
redirect waited for moto's threads to let go. Here it runs beside the stack,
with the journal and everything the middleware adds (S3 checks, SNS deliveries,
stream records), and the two talk over a socket pair, length-prefixed JSON:

- AWS process -> stack: `ready` (moto's URL), `stream` (a new stream record),
  `invoke` (an SNS message for a function: the stack journals it as an
  asynchronous invocation and answers `ack` before the Publish returns),
  `trigger` (a user pool's trigger: the stack invokes the function and answers
  `triggered` with its result, which the Cognito call waits for), `line`
  (something to print);
- stack -> AWS process: `consumed` (messages the SQS pollers deleted, for the
  journal), `apply` (a changed template: create what it adds), `ack`, `triggered`.

The AWS process exits when the stack closes its end (or dies, even by kill -9).
Its main is `serve`, run by the module the stack names (`relay_local.aws_process`),
which hands it the SNS deliveries (`sources.sns`) and the Cognito triggers
(`sources.cognito`): local AWS sees every call through its hooks and knows
nothing of the sources. Besides moto's port it serves the Cognito endpoint on a
socket the stack bound (`--cognito-fd`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from relay_local.framing import frame, receive_frame, take_frames

if TYPE_CHECKING:
    from relay_local.state.aws import Hook
    from relay_local.state.cognito_calls import Triggers
    from relay_local.state.wire import WsgiApp
    from relay_local.template.model import StackModel

    class Deliveries(Hook, Protocol):
        """The middleware hook that delivers what is published to the template's subscriptions."""

        def apply(self, model: StackModel) -> None: ...

    # Makes the deliveries from moto behind the journal, a way to print, and Lambda's
    # asynchronous invocation (function, event, source; durable once it returns).
    MakeDeliveries = Callable[
        [WsgiApp, Callable[[str], None], Callable[[str, Any, str], None]], Deliveries
    ]
    # Makes the user pools' triggers from a synchronous invocation in the stack:
    # (function, event, source) -> (result, error).
    MakeTriggers = Callable[[Callable[[str, Any, str], tuple[Any, Any]]], Triggers]

# The stack's side of a trigger: invoke and give back (result, error).
OnTrigger = Callable[[str, Any, str], Awaitable[tuple[Any, Any]]]
TRIGGER_TIMEOUT_S = 930.0  # past the longest function timeout (900 s): the stack times it out


def _frame(message: dict[str, Any]) -> bytes:
    return frame(json.dumps(message, separators=(",", ":")).encode())


# --- the AWS process ----------------------------------------------------------------------


class _ChildChannel:
    """Blocking, thread-safe sends; one reader (the main thread)."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self._send_lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._replies: dict[str, dict[str, Any]] = {}

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self.sock.sendall(_frame(message))

    def receive(self) -> dict[str, Any] | None:
        payload = receive_frame(self.sock)
        return None if payload is None else json.loads(payload)

    def request(self, message: dict[str, Any], key: str, timeout_s: float = 30.0) -> bool:
        """Send and wait for the stack's `ack` of `key` (from another thread than the reader)."""
        return self.ask(message, key, timeout_s) is not None

    def ask(self, message: dict[str, Any], key: str, timeout_s: float) -> dict[str, Any] | None:
        """Send and wait for the stack's answer to `key`; None when none came in time."""
        event = threading.Event()
        self._waiting[key] = event
        try:
            self.send(message)
            if not event.wait(timeout_s):
                return None
            return self._replies.pop(key, {})
        finally:
            self._waiting.pop(key, None)
            self._replies.pop(key, None)

    def acknowledged(self, key: str, reply: dict[str, Any] | None = None) -> None:
        event = self._waiting.get(key)
        if event is not None:
            self._replies[key] = reply or {}
            event.set()


class _RemoteSubmit:
    """Where the deliveries hand a function's event: the stack, acknowledged."""

    def __init__(self, channel: _ChildChannel) -> None:
        self.channel = channel
        self._ids = itertools.count()

    def submit(self, function: str, event: Any, source: str) -> None:
        key = f"i{next(self._ids)}"
        message = {"invoke": {"key": key, "function": function, "event": event, "source": source}}
        if not self.channel.request(message, key):
            raise TimeoutError(f"the stack did not take the delivery to {function}")


class _RemoteCall:
    """How a trigger is invoked: by the stack, which answers with the outcome."""

    def __init__(self, channel: _ChildChannel) -> None:
        self.channel = channel
        self._ids = itertools.count()

    def call(self, function: str, event: Any, source: str) -> tuple[Any, Any]:
        key = f"t{next(self._ids)}"
        message = {"trigger": {"key": key, "function": function, "event": event, "source": source}}
        reply = self.channel.ask(message, key, TRIGGER_TIMEOUT_S)
        if reply is None:
            return None, {"errorType": "TimeoutError", "errorMessage": "the stack did not answer"}
        return reply.get("result"), reply.get("error")


def _child(
    args: argparse.Namespace, make_deliveries: MakeDeliveries, make_triggers: MakeTriggers
) -> int:
    from relay_local.state.aws import LocalAws
    from relay_local.state.cognito import CognitoIdp
    from relay_local.state.outbox import Outbox
    from relay_local.state.s3 import S3Guard
    from relay_local.state.streams import StreamRecorder, install
    from relay_local.template.build import build_model
    from relay_local.template.errors import TemplateError

    channel = _ChildChannel(args.channel_fd)
    state_dir = Path(args.state_dir)
    parameters: dict[str, str] = json.loads(args.parameters)
    aws = LocalAws(state_dir)
    recorder = StreamRecorder(
        state_dir / "streams",
        lambda table, record: channel.send({"stream": {"table": table, "record": record}}),
    )
    try:
        url = aws.bind(args.listen_fd)
        model = build_model(Path(args.template), url, parameters)
        install(recorder)
        recorder.open(list(model.tables.values()))
        aws.hooks.append(S3Guard())
        replayed = aws.prepare(model)
        assert aws.app is not None
        report = _reporter(channel)
        deliveries = make_deliveries(aws.app, report, _RemoteSubmit(channel).submit)
        deliveries.apply(model)
        aws.hooks.append(deliveries)
        outbox = Outbox(state_dir / "outbox", report)
        cognito = CognitoIdp(
            aws.moto, aws.cognito, outbox, make_triggers(_RemoteCall(channel).call)
        )
        cognito.apply(model)
        aws.hooks.insert(0, cognito)
        recorder.capturing = True
        if args.cognito_fd is not None:
            aws.bind_cognito(args.cognito_fd)
        aws.serve()
    except TemplateError as exc:
        channel.send({"failed": str(exc)})
        return 2
    channel.send({"ready": {"url": url, "replayed": replayed}})
    try:
        while True:
            message = channel.receive()
            if message is None:
                # The stack is gone. Every journal record is flushed as it is written, so
                # there is nothing to finish: go now, not after the server's next poll.
                recorder.close()
                if aws.journal is not None:
                    aws.journal.close()
                os._exit(0)
            if "ack" in message:
                channel.acknowledged(str(message["ack"]))
            elif "triggered" in message:
                channel.acknowledged(str(message["triggered"]["key"]), message["triggered"])
            elif "consumed" in message:
                aws.record_consumed(list(message["consumed"]))
            elif "apply" in message:
                # Off the reader thread: creating resources goes through the middleware,
                # whose hooks may wait for this reader to see an `ack`.
                work = (channel, aws, recorder, deliveries, cognito, message["apply"])
                threading.Thread(target=_apply, args=work, daemon=True).start()
    finally:
        recorder.close()
        aws.stop()


def _reporter(channel: _ChildChannel) -> Callable[[str], None]:
    def report(text: str) -> None:
        channel.send({"line": text})

    return report


def _apply(
    channel: _ChildChannel,
    aws: Any,
    recorder: Any,
    deliveries: Deliveries,
    cognito: Any,
    request: dict[str, Any],
) -> None:
    from relay_local.state.cognito_store import ensure_pools
    from relay_local.state.provision import create_resources
    from relay_local.template.build import build_model

    try:
        model = build_model(Path(request["template"]), aws.url, request["parameters"])
        create_resources(aws.moto, model)
        with aws.cognito.lock:
            ensure_pools(model)
        aws.create_secrets(model.secrets.values())
        recorder.open(list(model.tables.values()))
        deliveries.apply(model)
        cognito.apply(model)
    except Exception as exc:  # noqa: BLE001 - the stack reports it and keeps its old model
        channel.send({"applied": {"key": request["key"], "error": str(exc)}})
        return
    channel.send({"applied": {"key": request["key"], "error": None}})


# --- the stack's end ----------------------------------------------------------------------


class _ParentChannel(asyncio.Protocol):
    def __init__(self, handle: Callable[[dict[str, Any]], None]) -> None:
        self.handle = handle
        self.transport: Any = None
        self._buffer = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for message in take_frames(self._buffer):
            self.handle(json.loads(message))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, message: dict[str, Any]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(message))


class AwsProcess:
    """The stack's handle on the AWS process: `python -m main`, a module whose main is `serve`."""

    def __init__(
        self,
        main: str,
        on_stream: Callable[[str, dict[str, Any]], None],
        on_invoke: Callable[[str, Any, str], None],
        on_line: Callable[[str], None],
        on_trigger: OnTrigger | None = None,
    ) -> None:
        self.main = main
        self.on_stream = on_stream
        self.on_invoke = on_invoke
        self.on_line = on_line
        self.on_trigger = on_trigger
        self._triggers: set[asyncio.Task[None]] = set()
        self.url = ""
        self.replayed = 0
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._applied: dict[str, asyncio.Future[str | None]] = {}
        self._keys = itertools.count()
        self.channel: _ParentChannel | None = None
        self.process: asyncio.subprocess.Process | None = None

    async def start(
        self,
        template: Path,
        state_dir: Path,
        parameters: dict[str, str],
        cognito: socket.socket | None = None,
    ) -> None:
        """Start the process; its URL is known at once, its answers once `ready` returns.

        The listening socket is bound here and handed over: a client that connects
        before the journal is replayed waits in the socket's backlog, not in an error.
        `cognito` is the Cognito endpoint's socket, bound by the stack on its port."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        extra: list[str] = []
        passed = [theirs.fileno(), listener.fileno()]
        if cognito is not None:
            extra = ["--cognito-fd", str(cognito.fileno())]
            passed.append(cognito.fileno())
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.main,
                "--state-dir",
                str(state_dir),
                "--template",
                str(template),
                "--parameters",
                json.dumps(parameters),
                "--channel-fd",
                str(theirs.fileno()),
                "--listen-fd",
                str(listener.fileno()),
                *extra,
                pass_fds=tuple(passed),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
            listener.close()
            if cognito is not None:
                cognito.close()  # the AWS process serves it now
        ours.setblocking(False)
        _, self.channel = await loop.create_unix_connection(
            lambda: _ParentChannel(self._handle), sock=ours
        )

    async def ready(self) -> None:
        """Wait until the journal is replayed and the template's resources exist."""
        from relay_local.template.errors import TemplateError

        assert self._ready is not None and self.channel is not None and self.process is not None
        closed = self.channel.closed
        done, _ = await asyncio.wait({self._ready, closed}, return_when=asyncio.FIRST_COMPLETED)
        if self._ready not in done:
            await self.process.wait()
            raise RuntimeError(f"local AWS did not start (exit {self.process.returncode})")
        ready = self._ready.result()
        if ready.get("failed") is not None:
            await self.process.wait()
            raise TemplateError(ready["failed"])
        self.replayed = int(ready["replayed"])

    @property
    def is_ready(self) -> bool:
        return self._ready is not None and self._ready.done()

    def _handle(self, message: dict[str, Any]) -> None:
        if "stream" in message:
            self.on_stream(message["stream"]["table"], message["stream"]["record"])
        elif "invoke" in message:
            request = message["invoke"]
            try:
                self.on_invoke(request["function"], request["event"], request["source"])
            finally:
                assert self.channel is not None
                self.channel.send({"ack": request["key"]})
        elif "trigger" in message:
            task = asyncio.get_running_loop().create_task(self._trigger(message["trigger"]))
            self._triggers.add(task)
            task.add_done_callback(self._triggers.discard)
        elif "line" in message:
            self.on_line(str(message["line"]))
        elif "applied" in message:
            future = self._applied.pop(message["applied"]["key"], None)
            if future is not None and not future.done():
                future.set_result(message["applied"]["error"])
        elif self._ready is not None and not self._ready.done():
            # `ready`, or `failed` when the template cannot be served
            self._ready.set_result(message.get("ready") or {"failed": message.get("failed")})

    async def _trigger(self, request: dict[str, Any]) -> None:
        if self.on_trigger is None:
            result, error = (
                None,
                {
                    "errorType": "Runtime.Unavailable",
                    "errorMessage": "no functions run here (start `relay run`)",
                },
            )
        else:
            result, error = await self.on_trigger(
                request["function"], request["event"], request["source"]
            )
        if self.channel is not None:
            self.channel.send(
                {"triggered": {"key": request["key"], "result": result, "error": error}}
            )

    def consumed(self, message_ids: list[str]) -> None:
        """Journal that the SQS pollers deleted these messages, so replay does not resend them."""
        if message_ids and self.channel is not None:
            self.channel.send({"consumed": message_ids})

    async def apply(self, template: Path, parameters: dict[str, str]) -> str | None:
        """Create what a changed template adds; returns an error, or None when it is done."""
        assert self.channel is not None
        key = f"a{next(self._keys)}"
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._applied[key] = future
        self.channel.send(
            {"apply": {"key": key, "template": str(template), "parameters": parameters}}
        )
        return await asyncio.wait_for(future, 60)

    async def stop(self) -> None:
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.close()
        if self.process is not None and self.process.returncode is None and not self.is_ready:
            # Still replaying, and nobody waited for it (a `relay invoke` that needed no
            # AWS): stop it now; replay writes its compacted journal atomically.
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
        if self.process is not None and self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()


def serve(argv: list[str], make_deliveries: MakeDeliveries, make_triggers: MakeTriggers) -> int:
    """The AWS process's main, with its arguments from `AwsProcess.start`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--parameters", default="{}")
    parser.add_argument("--channel-fd", type=int, required=True)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--cognito-fd", type=int, default=None)
    # The stack prints; this process says nothing on its own streams but errors.
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return _child(parser.parse_args(argv), make_deliveries, make_triggers)
