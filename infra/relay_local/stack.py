"""Putting the local stack together: `relay run` and the services `relay invoke` borrows.

`LocalServices` is the AWS-and-Redis half (moto with its journal, the chosen
Redis, the signing secret, the environment every worker gets); `run_stack`
adds the gateways, pollers, log subscriptions and hot reload, prints what it
serves, and writes `stack.json` so other commands can attach to it. A
WebSocket gateway, when the template has a WebSocket API, starts beside the
HTTP one in `run_stack`, on the same invoker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from relay_local.gateways.http_api import HttpGateway
from relay_local.output import Output
from relay_local.runtime.invoker import Invoker
from relay_local.runtime.reload import Reloader
from relay_local.sources.logs import LogSubscriptions
from relay_local.sources.sqs import SqsPoller
from relay_local.state.aws import AsyncAws, LocalAws
from relay_local.state.redis_choice import RedisChoice, choose_redis
from relay_local.template.loader import REGION
from relay_local.template.model import RouteSpec, StackModel, build_model
from relay_local.tokens import jwt_secret


@dataclass
class RunOptions:
    template: Path
    state_dir: Path
    http_port: int = 3000
    ws_port: int = 3001
    concurrency: int = 1  # execution environments per function


@dataclass
class LocalServices:
    model: StackModel
    redis_url: str
    redis_description: str
    overrides: dict[str, str]
    aws: LocalAws | None = None  # None when attached to a running `relay run`
    redis: RedisChoice | None = None
    replayed: int = 0

    def stop(self) -> None:
        if self.aws is not None:
            self.aws.stop()
        if self.redis is not None:
            self.redis.stop()


def _overrides(moto_url: str, redis_url: str, secret: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "REDIS_URL": redis_url,
        "JWT_SECRET": secret,
    }


def start_services(template: Path, state_dir: Path) -> LocalServices:
    """Moto (journal replayed, template resources created) and Redis, in this process."""
    state_dir.mkdir(parents=True, exist_ok=True)
    # Redis first: starting redis-server forks, which is safest before any thread exists.
    redis = choose_redis(state_dir)
    aws = LocalAws(state_dir)
    try:
        moto_url = aws.bind()
        model = build_model(template, moto_url)
        replayed = aws.prepare(model)
        aws.serve()
    except BaseException:
        aws.stop()
        redis.stop()
        raise
    return LocalServices(
        model=model,
        redis_url=redis.url,
        redis_description=redis.description,
        overrides=_overrides(moto_url, redis.url, jwt_secret(state_dir)),
        aws=aws,
        redis=redis,
        replayed=replayed,
    )


def running_stack(state_dir: Path) -> dict[str, Any] | None:
    """The `stack.json` of a live `relay run` on this state dir, if there is one."""
    path = state_dir / "stack.json"
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return info


def attach_services(template: Path, state_dir: Path) -> LocalServices | None:
    info = running_stack(state_dir)
    if info is None:
        return None
    model = build_model(template, str(info["moto_url"]))
    return LocalServices(
        model=model,
        redis_url=str(info["redis_url"]),
        redis_description=f"the running stack's ({info['redis_url']})",
        overrides=_overrides(str(info["moto_url"]), str(info["redis_url"]), jwt_secret(state_dir)),
    )


class _Server(uvicorn.Server):
    # We own SIGINT/SIGTERM: uvicorn would re-raise them after shutdown and skip our cleanup.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _describe(model: StackModel, pollers: list[SqsPoller], services: LocalServices) -> list[str]:
    lines: list[str] = []
    routes = [f"{r.method} {r.path} -> {r.function}" for r in model.routes]
    lines.append("Routes:")
    lines.extend(f"  {route}" for route in routes or ["(none)"])
    lines.append("Authorizers:")
    described = [
        f"{a.name} ({a.api_id}) -> {a.function}"
        f" identity {list(a.identity_headers) + list(a.identity_query)}"
        f"{', simple responses' if a.simple_responses else ''}"
        for a in model.authorizers
    ]
    lines.extend(f"  {item}" for item in described or ["(none)"])
    lines.append("Queues:")
    consumers = {p.queue.logical_id: p.describe() for p in pollers}
    for queue in model.queues.values():
        lines.append(f"  {consumers.get(queue.logical_id, queue.name + ' (no consumer)')}")
    if not model.queues:
        lines.append("  (none)")
    lines.append("Tables:")
    lines.extend(f"  {t.name}" for t in model.tables.values())
    lines.append("Log subscriptions:")
    subscriptions = [
        f"{s.name}: {s.log_group} ({s.source_function}) -> {s.destination_function}"
        f" where {s.pattern or '(all lines)'}"
        for s in model.subscriptions
    ]
    lines.extend(f"  {item}" for item in subscriptions or ["(none)"])
    return lines


def _listen(port: int) -> socket.socket:
    """The HTTP listener, bound here rather than by uvicorn so that port 0 works."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn re-wraps a given socket without its protocol number, so asyncio skips
    # TCP_NODELAY on accepted connections; set on the listener, Linux passes it on
    # (without it, Nagle and delayed ACKs add 40 ms to every response).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        listener.close()
        raise SystemExit(f"relay: cannot listen on 127.0.0.1:{port}: {exc}") from exc
    listener.listen(2048)
    return listener


async def _serve_openapi(
    template: Path, routes: list[RouteSpec], gateway: HttpGateway, output: Output
) -> None:
    """Generate the OpenAPI document in a child process (the stack itself never imports the
    functions' code) and serve it at GET /api/openapi.json, unless the template has that route."""
    from relay_local.openapi import SERVED_AT

    if any(route.path == SERVED_AT for route in routes):
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay_local.cli",
        "openapi",
        "--stdout",
        "--template",
        str(template),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    document, errors = await child.communicate()
    if child.returncode != 0:
        output.line(
            f"OpenAPI document not served: {errors.decode(errors='replace').strip()[-500:]}"
        )
        return
    gateway.add_static("GET", SERVED_AT, document, "application/json")
    output.line(f"OpenAPI document: GET {SERVED_AT}")


async def run_stack(options: RunOptions, output: Output) -> None:
    services = start_services(options.template, options.state_dir)
    model = services.model
    assert services.aws is not None
    aws = services.aws
    invoker = Invoker(model, services.overrides, max_workers=options.concurrency)
    async_aws = AsyncAws(aws.url)
    subscriptions = LogSubscriptions(model, invoker, async_aws, output, options.state_dir)
    invoker.listeners.append(subscriptions.on_invocation)
    pending = subscriptions.recover()
    pollers = [
        SqsPoller(
            source,
            model.queues[source.queue],
            async_aws,
            invoker,
            output,
            aws.record_consumed,
            dead_letter_candidates=model.queues.values(),
        )
        for source in model.sqs_sources
    ]
    gateway = HttpGateway(model.routes, invoker, output)
    server = _Server(
        uvicorn.Config(
            gateway,
            host="127.0.0.1",
            port=options.http_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # API Gateway's sourceIp is the TCP peer; a client's X-Forwarded-For must not
            # change it (it would dodge every per-IP rate limit).
            proxy_headers=False,
        )
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    reloader = Reloader(model, invoker, loop, output)
    stack_file = options.state_dir / "stack.json"
    background: list[asyncio.Task[None]] = []
    try:
        listener = _listen(options.http_port)
        http_port = listener.getsockname()[1]
        reloader.start()
        background = [asyncio.create_task(p.run()) for p in pollers]
        background.append(asyncio.create_task(subscriptions.run()))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        for line in _describe(model, pollers, services):
            output.line(line)
        websocket = "" if model.websocket_apis else " (no WebSocket API in template)"
        output.line(f"Redis: {services.redis_description}")
        output.line(f"AWS (moto): {aws.url}, journal replayed {services.replayed} writes")
        if pending:
            output.line(f"Log deliveries pending from the last run: {pending}")
        output.line(f"State dir: {options.state_dir}")
        output.line(f"WebSocket port: {options.ws_port}{websocket}")
        info = {
            "pid": os.getpid(),
            "http_port": http_port,
            "ws_port": options.ws_port,
            "moto_url": aws.url,
            "redis_url": services.redis_url,
        }
        stack_file.write_text(json.dumps(info), encoding="utf-8")
        output.line(f"Ready: HTTP API on http://127.0.0.1:{http_port} (Ctrl-C to stop)")
        background.append(
            asyncio.create_task(_serve_openapi(options.template, model.routes, gateway, output))
        )
        await serving
    finally:
        output.line("Stopping")
        stack_file.unlink(missing_ok=True)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        reloader.stop()
        await invoker.close()
        await async_aws.close()
        services.stop()
