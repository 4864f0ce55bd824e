"""The local stack's moving parts in-process, with fakes where processes and time would be:
the worker pool, the WebSocket gateway's routing and timeouts, schedules, and Lambda's
asynchronous invocation."""

from __future__ import annotations

import asyncio
import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from relay_local.gateways.events import SocketInfo
from relay_local.gateways.websocket import Socket, WebSocketGateway
from relay_local.output import Output
from relay_local.runtime import invoker as invoker_module
from relay_local.runtime.invoker import FunctionRuntime, Invocation
from relay_local.sources.async_invoke import AsyncInvoker
from relay_local.sources.schedules import Schedules
from relay_local.template.model import (
    Destination,
    FunctionSpec,
    QueueSpec,
    ScheduleSpec,
    StackModel,
    WebSocketApiSpec,
    WebSocketRouteSpec,
)


def _spec(name: str = "Fn", **changes: Any) -> FunctionSpec:
    values: dict[str, Any] = {
        "logical_id": name,
        "name": name,
        "code_dir": Path("/nowhere"),
        "handler": "app.handler",
        "runtime": "python3.12",
        "memory_mb": 128,
        "timeout_s": 3.0,
        "env": (),
        "layer_dirs": (),
        "log_group": f"/aws/lambda/{name}",
    }
    values.update(changes)
    return FunctionSpec(**values)


class _Silent(Output):
    def __init__(self) -> None:
        super().__init__(stream=open("/dev/null", "w"))  # noqa: SIM115 - lives with the test


# --- the worker pool ----------------------------------------------------------------------


@dataclass
class _FakeWorker:
    name: str
    gate: asyncio.Event
    served: list[str] = field(default_factory=list)
    generation: int = 0
    ready: bool = True
    log_stream: str = "stream"
    alive: bool = True

    async def invoke(self, message: bytes, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        await self.gate.wait()
        self.served.append(message.decode(errors="replace")[-20:])
        return {"logs": [], "cold": False, "duration_ms": 1.0}, json.dumps(self.name).encode()

    def kill(self) -> None:
        self.alive = False

    async def stop(self) -> None:
        self.alive = False


def test_a_request_takes_the_first_free_worker_instead_of_waiting_for_a_cold_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        first_busy, second_ready = asyncio.Event(), asyncio.Event()
        started: list[str] = []

        async def start(spec: Any, env: Any, generation: int = 0) -> _FakeWorker:
            name = "A" if not started else "B"
            started.append(name)
            if name == "B":
                await second_ready.wait()  # a cold start that takes a long time
            return _FakeWorker(name, first_busy)

        monkeypatch.setattr(invoker_module.Worker, "start", start)
        monkeypatch.setattr(invoker_module, "SCALE_OUT_AFTER_S", 0.0)
        runtime = FunctionRuntime(_spec(), {}, max_workers=2)

        # Given worker A busy with a first request
        first = asyncio.create_task(runtime.invoke(b"{}"))
        await asyncio.sleep(0.01)
        # When a second request arrives: a second worker starts, slowly
        second = asyncio.create_task(runtime.invoke(b"{}"))
        await asyncio.sleep(0.01)
        assert started == ["A", "B"]
        # Then when A finishes, the second request runs on A, B still starting
        first_busy.set()
        done_first, done_second = await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert (done_first.result, done_second.result) == ("A", "A")
        assert not second_ready.is_set()
        second_ready.set()
        await asyncio.sleep(0.01)
        assert len(runtime._idle) == 2  # B joined the pool once ready
        await runtime.stop()

    asyncio.run(scenario())


def test_a_short_overlap_waits_for_the_busy_worker_instead_of_a_cold_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> list[str]:
        gate = asyncio.Event()
        started: list[_FakeWorker] = []

        async def start(spec: Any, env: Any, generation: int = 0) -> _FakeWorker:
            started.append(_FakeWorker(f"W{len(started)}", gate))
            return started[-1]

        monkeypatch.setattr(invoker_module.Worker, "start", start)
        monkeypatch.setattr(invoker_module, "SCALE_OUT_AFTER_S", 3600.0)  # never, here
        runtime = FunctionRuntime(_spec(), {}, max_workers=4)

        first = asyncio.create_task(runtime.invoke(b"{}"))
        second = asyncio.create_task(runtime.invoke(b"{}"))
        await asyncio.sleep(0.01)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(first, second), 5)
        await runtime.stop()
        return [r.result for r in results] + [w.name for w in started]

    assert asyncio.run(scenario()) == ["W0", "W0", "W0"]


def test_concurrency_caps_the_workers_and_excess_requests_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        started: list[_FakeWorker] = []

        async def start(spec: Any, env: Any, generation: int = 0) -> _FakeWorker:
            started.append(_FakeWorker(f"W{len(started)}", gate))
            return started[-1]

        monkeypatch.setattr(invoker_module.Worker, "start", start)
        monkeypatch.setattr(invoker_module, "SCALE_OUT_AFTER_S", 0.0)
        runtime = FunctionRuntime(_spec(), {}, max_workers=2)

        calls = [asyncio.create_task(runtime.invoke(b"{}")) for _ in range(5)]
        await asyncio.sleep(0.02)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*calls), 5)

        assert len(started) == 2  # never more environments than --concurrency
        assert len(results) == 5 and {r.result for r in results} == {"W0", "W1"}
        await runtime.stop()

    asyncio.run(scenario())


# --- the WebSocket gateway ----------------------------------------------------------------


class _Connection:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True

    def write_buffer_size(self) -> int:
        return 0


class _Invoker:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def invoke_encoded(self, function: str, payload: bytes) -> Invocation:
        self.events.append(json.loads(payload))
        return Invocation(function, "request", result={"statusCode": 200})


def _gateway(routes: tuple[WebSocketRouteSpec, ...], now: list[float]) -> WebSocketGateway:
    api = WebSocketApiSpec("Ws", "wsapi", "ws", ("action",), "dev", routes)
    return WebSocketGateway(
        api,
        _Invoker(),  # type: ignore[arg-type]
        _Silent(),
        idle_timeout_s=600,
        max_lifetime_s=7200,
        clock=lambda: now[0],
    )


def _socket(gateway: WebSocketGateway, connection: _Connection) -> Socket:
    info = SocketInfo("abcdefghijklmno=", "wsapi", "dev", "127.0.0.1:3001", "127.0.0.1", None, 0)
    socket = Socket(gateway, info, connection, gateway.clock)  # type: ignore[arg-type]
    gateway.sockets[info.connection_id] = socket
    return socket


def test_a_message_no_route_takes_gets_api_gateways_forbidden_frame() -> None:
    now = [0.0]
    gateway = _gateway((WebSocketRouteSpec("send", "Fn"),), now)
    connection = _Connection()
    socket = _socket(gateway, connection)

    gateway.received(socket, '{"action": "other"}')

    assert b'{"message": "Forbidden", "connectionId":"abcdefghijklmno=", "requestId":"' in bytes(
        connection.data
    )
    assert not socket.closed


@pytest.mark.parametrize(("idle_s", "closes"), [(599.0, False), (600.0, True)])
def test_a_socket_idle_for_ten_minutes_is_closed_with_1001(idle_s: float, closes: bool) -> None:
    now = [1000.0]
    gateway = _gateway((), now)
    connection = _Connection()
    socket = _socket(gateway, connection)

    async def later() -> None:
        now[0] += idle_s
        gateway.expire()

    asyncio.run(later())

    assert socket.closing is closes
    if closes:
        assert (socket.close_code, socket.close_reason) == (1001, "Going away")
        assert bytes(connection.data).startswith(b"\x88")  # a close frame went out


def test_a_socket_is_closed_after_two_hours_even_when_busy() -> None:
    now = [0.0]
    gateway = _gateway((), now)
    socket = _socket(gateway, _Connection())

    async def two_hours() -> list[bool]:
        seen = []
        for _ in range(13):  # active every nine minutes for 117 minutes
            now[0] += 540
            socket._touch()
            gateway.expire()
            seen.append(socket.closing)
        now[0] += 180
        socket._touch()
        gateway.expire()
        return seen

    assert not any(asyncio.run(two_hours()))
    assert socket.closing and socket.close_code == 1001


# --- schedules ----------------------------------------------------------------------------


class _Submissions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []

    def submit(self, function: str, event: Any, source: str) -> None:
        self.calls.append((function, event, source))


def test_a_rate_schedule_fires_its_function_every_period_with_the_scheduled_event() -> None:
    async def scenario() -> list[tuple[str, Any, str]]:
        now = [datetime.datetime(2026, 1, 5, 8, 0, tzinfo=datetime.UTC)]
        parked = asyncio.Event()

        async def sleep(seconds: float) -> None:
            now[0] += datetime.timedelta(seconds=seconds)
            if len(submitted.calls) >= 3:
                await parked.wait()

        submitted = _Submissions()
        schedules = Schedules(submitted, _Silent(), clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
        model = StackModel(root=Path("/"), moto_url="")
        model.schedules = [ScheduleSpec("Every5", "Fn", "rate(5 minutes)")]
        schedules.apply(model)
        for _ in range(20):
            await asyncio.sleep(0)
        await schedules.close()
        return submitted.calls

    calls = asyncio.run(scenario())

    assert [c[0] for c in calls] == ["Fn", "Fn", "Fn"]
    times = [c[1]["time"] for c in calls]
    assert times == ["2026-01-05T08:05:00Z", "2026-01-05T08:10:00Z", "2026-01-05T08:15:00Z"]
    event = calls[0][1]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/Every5"]
    assert event["detail"] == {}


def test_a_scheduler_schedule_with_input_sends_only_the_input() -> None:
    async def scenario() -> list[tuple[str, Any, str]]:
        now = [datetime.datetime(2026, 1, 5, 8, 0, tzinfo=datetime.UTC)]
        parked = asyncio.Event()

        async def sleep(seconds: float) -> None:
            now[0] += datetime.timedelta(seconds=seconds)
            if submitted.calls:
                await parked.wait()

        submitted = _Submissions()
        schedules = Schedules(submitted, _Silent(), clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
        model = StackModel(root=Path("/"), moto_url="")
        spec = ScheduleSpec("At9", "Fn", "cron(0 9 * * ? *)", "Europe/Paris", '{"x": 1}', True)
        model.schedules = [spec]
        schedules.apply(model)
        for _ in range(20):
            await asyncio.sleep(0)
        await schedules.close()
        return submitted.calls

    calls = asyncio.run(scenario())

    assert calls[0][1] == {"x": 1}


# --- Lambda's asynchronous invocation -----------------------------------------------------


class _FailingInvoker:
    def __init__(self) -> None:
        self.attempts = 0

    async def invoke(self, function: str, event: Any) -> Invocation:
        self.attempts += 1
        error = {"errorType": "RuntimeError", "errorMessage": "no"}
        return Invocation(function, f"req-{self.attempts}", error=error)


class _Aws:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def call(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((target, body))
        return {}


def _async_invoker(
    tmp_path: Path, spec: FunctionSpec, clock: list[float]
) -> tuple[AsyncInvoker, _FailingInvoker, _Aws]:
    model = StackModel(root=tmp_path, moto_url="")
    model.functions = {spec.logical_id: spec}
    model.queues = {"Dlq": QueueSpec("Dlq", "Dlq", "http://moto/123456789012/Dlq", "arn:dlq", {})}
    invoker, aws = _FailingInvoker(), _Aws()
    async_invoker = AsyncInvoker(
        tmp_path,
        invoker,
        aws,
        _Silent(),
        model,
        retry_delays_s=(0.0,),
        clock=lambda: clock[0],  # type: ignore[arg-type]
    )
    return async_invoker, invoker, aws


def test_a_failing_asynchronous_invocation_is_retried_then_sent_to_its_destination(
    tmp_path: Path,
) -> None:
    spec = _spec(on_failure=Destination("SQS", "Dlq"), max_async_retries=2)

    async def scenario() -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        async_invoker, invoker, aws = _async_invoker(tmp_path, spec, [1000.0])
        async_invoker.start(async_invoker.recover())
        async_invoker.submit("Fn", {"hello": 1}, "test")
        for _ in range(50):
            await asyncio.sleep(0)
        await async_invoker.close()
        return invoker.attempts, aws.sent

    attempts, sent = asyncio.run(scenario())

    assert attempts == 3
    ((target, body),) = sent
    assert target == "AmazonSQS.SendMessage" and body["QueueUrl"].endswith("/Dlq")
    record = json.loads(body["MessageBody"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"hello": 1}
    assert record["responsePayload"]["errorMessage"] == "no"
    # and the journal says it is done: nothing is pending for the next start
    again, _, _ = _async_invoker(tmp_path, spec, [1000.0])
    assert again.recover() == []


def test_an_event_older_than_its_maximum_age_is_not_retried(tmp_path: Path) -> None:
    spec = _spec(on_failure=Destination("SQS", "Dlq"), max_event_age_s=60)
    clock = [1000.0]

    async def scenario() -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        async_invoker, invoker, aws = _async_invoker(tmp_path, spec, clock)
        async_invoker.start(async_invoker.recover())
        async_invoker.submit("Fn", {}, "test")
        clock[0] += 61  # the event is now older than its maximum age
        for _ in range(50):
            await asyncio.sleep(0)
        await async_invoker.close()
        return invoker.attempts, aws.sent

    attempts, sent = asyncio.run(scenario())

    assert attempts == 1
    assert (
        json.loads(sent[0][1]["MessageBody"])["requestContext"]["condition"] == "EventAgeExceeded"
    )
