"""`relay run`: the whole template on a laptop, put together and kept in step with it.

`LocalStack.start` brings up the services (moto with its journal, Redis, the
Cognito endpoint), the invoker, every event source (SQS pollers, log
subscriptions, SNS deliveries, schedules, DynamoDB streams, user pool triggers),
the HTTP API and each WebSocket API on its port, hot reload, and the control port
that `relay invoke` uses; it prints what it serves, writes `stack.json` and leaves
its record where `relay token` finds it (`control.register`). When
`template.yaml` changes, `apply` rebuilds the model and reconciles every part
with it: new tables, queues, topics, buckets and user pools are created, new
routes and sources start, changed functions get fresh workers, and everything
unchanged (warm workers, open sockets, pollers, state) carries on.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import secrets
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay_local.control import STACK_FILE, TOKEN_HEADER, register, unregister
from relay_local.gateways import tls
from relay_local.gateways.http11 import Connection, Listener, Request, Response, Upgraded, bind
from relay_local.gateways.http_api import HttpGateway
from relay_local.gateways.web import WebFiles
from relay_local.gateways.websocket import IDLE_TIMEOUT_S, MAX_LIFETIME_S, WebSocketGateway
from relay_local.output import Output
from relay_local.runtime.invoker import Invoker
from relay_local.runtime.reload import Reloader
from relay_local.services import LocalServices, start_services
from relay_local.sources.async_invoke import LAMBDA_RETRY_DELAYS_S, AsyncInvoker
from relay_local.sources.logs import LogSubscriptions
from relay_local.sources.schedules import Schedules
from relay_local.sources.sqs import SqsPollers
from relay_local.sources.streams import StreamPollers
from relay_local.state.wire import AsyncAws
from relay_local.template.build import build_model
from relay_local.template.model import StackModel, TemplateError, WebSocketApiSpec
from relay_local.template.names import api_id as local_api_id
from relay_local.template.names import execute_api_host, localize
from relay_local.tokens import KeySet

_JSON = [(b"content-type", b"application/json")]


@dataclass
class RunOptions:
    template: Path
    state_dir: Path
    http_port: int = 3000
    ws_port: int = 3001
    cognito_port: int = 3002
    concurrency: int = 4  # execution environments per function, started only when needed
    parameters: dict[str, str] = field(default_factory=dict)
    ws_idle_timeout_s: float = IDLE_TIMEOUT_S
    ws_max_lifetime_s: float = MAX_LIFETIME_S
    async_retry_delays_s: tuple[float, ...] = LAMBDA_RETRY_DELAYS_S
    web: Path | None = None  # the browser client's files, served at /app/


class ControlHandler:
    """The control port: POST /invoke/{function}, the event as the body (see `control`)."""

    def __init__(self, token: str, stack: LocalStack) -> None:
        self.token = token
        self.stack = stack

    async def handle(self, request: Request) -> Response:
        if request.header(TOKEN_HEADER) != self.token:
            return Response(403, list(_JSON), b'{"message":"Forbidden"}')
        if request.method == "GET" and request.raw_path == "/ping":
            return Response(200, list(_JSON), json.dumps({"pid": os.getpid()}).encode())
        parts = request.raw_path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 2 or parts[0] != "invoke":
            return Response(404, list(_JSON), b'{"message":"Not Found"}')
        function = parts[1]
        if function not in self.stack.invoker.runtimes:
            return Response(404, list(_JSON), b'{"message":"no such function"}')
        invocation = await self.stack.invoker.invoke_encoded(function, request.body or b"{}")
        self.stack.output.invocation(
            "relay invoke", invocation, "error" if invocation.failed else "ok"
        )
        outcome = invocation.outcome(self.stack.services.redis.description)
        return Response(200, list(_JSON), json.dumps(outcome).encode())

    async def upgrade(
        self, request: Request, connection: Connection
    ) -> tuple[Response, Upgraded | None]:
        return Response(404, list(_JSON), b""), None


class LocalStack:
    def __init__(self, options: RunOptions, output: Output) -> None:
        self.options = options
        self.output = output
        self.stopping = asyncio.Event()
        self.ws_gateways: dict[str, tuple[WebSocketGateway, Listener]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._template_stamp = 0.0
        self._key_sets: dict[str, KeySet] = {}
        self._record: Path | None = None

    # --- start and stop

    async def start(self) -> None:
        options = self.options
        self.loop = asyncio.get_running_loop()
        # Made while the services start, and served before "Ready" is printed.
        openapi = self.loop.create_task(self._generate_openapi())
        self.cognito_socket = bind(options.cognito_port)
        self.cognito_socket.setblocking(True)  # local AWS's threads accept on it
        self.cognito_port = int(self.cognito_socket.getsockname()[1])
        self.services: LocalServices = await self._services()
        model = self.services.model
        self.model = model
        self.aws = AsyncAws(self.services.aws.url)
        self.http_socket = bind(options.http_port)
        self.http_port = int(self.http_socket.getsockname()[1])
        self.tls = tls.server_context(options.state_dir)
        self.hosts: dict[str, str] = {}
        self.invoker = Invoker(
            {},  # the functions start once the gateways' local addresses are known
            self.services.overrides,
            max_workers=options.concurrency,
            localize=self._localize,
        )
        self.async_invoker = AsyncInvoker(
            options.state_dir,
            self.invoker,
            self.aws,
            self.output,
            model,
            retry_delays_s=options.async_retry_delays_s,
        )
        pending_invocations = self.async_invoker.recover()
        self.async_invoker.start(pending_invocations)
        self.logs = LogSubscriptions(self.async_invoker, self.output, options.state_dir)
        pending_lines = self.logs.recover()
        self.invoker.listeners.append(self.logs.on_invocation)
        self.sqs = SqsPollers(self.aws, self.invoker, self.output, self.services.aws.consumed)
        self.schedules = Schedules(self.async_invoker, self.output)
        self.streams = StreamPollers(
            options.state_dir, self.services.streams, self.invoker, self.aws, self.output
        )
        self.http = HttpGateway(
            model.routes, self.invoker, self.output, keys=self._keys, cors=model.cors
        )
        if options.web is not None:
            self.http.web = WebFiles(options.web)
        self.http_listener = Listener(self.http_socket, self.http)
        await self.http_listener.start()
        await self._apply_websockets(model, first=True)
        self.invoker.apply(model.functions)  # the endpoints are known now
        self.logs.apply(model, pending_lines)
        self.sqs.apply(model)
        self.schedules.apply(model)
        self.streams.apply(model)
        self.reloader = Reloader(model, self.invoker, self.loop, self.output, options.template)
        self.reloader.on_template_change = self._template_changed
        self.reloader.start()
        self.control_token = secrets.token_urlsafe(24)
        self.control_socket = bind(0)
        self.control = Listener(self.control_socket, ControlHandler(self.control_token, self))
        await self.control.start()
        self.describe(model)
        if pending_invocations or pending_lines:
            self.output.line(
                f"Pending from the last run: {len(pending_invocations)} asynchronous"
                f" invocations, {len(pending_lines)} log lines"
            )
        await self._serve_openapi(openapi)
        self._write_stack_file()
        self._record = register(options.state_dir, options.template.resolve())
        if options.web is not None:
            self.output.line(f"App: http://127.0.0.1:{self.http_port}/app/ (from {options.web})")
        ws = ", ".join(
            f"ws://127.0.0.1:{listener.port}" for _, listener in self.ws_gateways.values()
        )
        self.output.line(
            f"Ready: HTTP API on http://127.0.0.1:{self.http_port}"
            f"{', WebSocket API on ' + ws if ws else ''} (Ctrl-C to stop)"
        )
        # Everything made so far lives as long as the stack: out of the collector's sight,
        # a full collection no longer walks it, and no request waits for one that does.
        gc.freeze()

    async def _services(self) -> LocalServices:
        return await start_services(
            self.options.template,
            self.options.state_dir,
            self.options.parameters,
            on_invoke=self._sns_delivery,
            on_line=self.output.line,
            on_trigger=self._trigger,
            cognito=self.cognito_socket,
        )

    def _sns_delivery(self, function: str, event: Any, source: str) -> None:
        """An SNS message for a function, from the AWS process: Lambda's async invocation."""
        self.async_invoker.submit(function, event, source)

    async def _trigger(self, function: str, event: Any, source: str) -> tuple[Any, Any]:
        """A user pool's trigger, from the AWS process: Lambda's synchronous invocation."""
        invocation = await self.invoker.invoke(function, event)
        self.output.invocation(source, invocation, "error" if invocation.failed else "ok")
        return invocation.result, invocation.error

    async def _keys(self, issuer: str) -> KeySet:
        """A user pool's key set, fetched once from where its JWKS is served (API Gateway
        caches an issuer's keys the same way)."""
        keys = self._key_sets.get(issuer)
        if keys is not None:
            return keys
        pool = next((p for p in self.model.user_pools.values() if p.issuer == issuer), None)
        if pool is None:
            raise LookupError(f"{issuer} is not a user pool of the template")
        await self.services.aws.ready()
        document = await self.aws.get(f"/{pool.id}/.well-known/jwks.json")
        keys = self._key_sets[issuer] = KeySet(document)
        return keys

    def _write_stack_file(self) -> None:
        info = {
            "pid": os.getpid(),
            "template": str(self.options.template.resolve()),
            "parameters": self.options.parameters,
            "http_port": self.http_port,
            "ws_ports": {api: listener.port for api, (_, listener) in self.ws_gateways.items()},
            "moto_url": self.services.aws.url,
            "cognito_url": self.services.cognito_url,
            "state_dir": str(self.options.state_dir),
            "redis_url": self.services.redis.url,
            "control_port": self.control.port,
            "control_token": self.control_token,
        }
        path = self.options.state_dir / STACK_FILE
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(info, stream)
        os.replace(temporary, path)

    async def stop(self) -> None:
        self.output.line("Stopping")
        if self._record is not None:
            unregister(self._record)
        (self.options.state_dir / STACK_FILE).unlink(missing_ok=True)
        self.reloader.stop()
        for task in self._background:
            task.cancel()
        await self.http_listener.close()
        await self.control.close()
        for gateway, listener in self.ws_gateways.values():
            await listener.close()
            await gateway.close()
        await self.sqs.close()
        await self.schedules.close()
        await self.streams.close()
        await self.logs.close()
        await self.invoker.close()
        await self.async_invoker.close()
        await self.aws.close()
        await self.services.stop()
        self.output.flush()

    def _spawn(self, work: Any) -> None:
        task = self.loop.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- WebSocket APIs and their endpoints

    async def _apply_websockets(self, model: StackModel, first: bool = False) -> None:
        wanted = {api.logical_id: api for api in model.websocket_apis}
        for logical_id, (gateway, listener) in list(self.ws_gateways.items()):
            if logical_id not in wanted:
                await listener.close()
                await gateway.close()
                del self.ws_gateways[logical_id]
        for index, (logical_id, api) in enumerate(wanted.items()):
            if logical_id in self.ws_gateways:
                self.ws_gateways[logical_id][0].update(api)
                continue
            port = self.options.ws_port + index if self.options.ws_port and first else 0
            if not first and not self.ws_gateways and self.options.ws_port:
                port = self.options.ws_port
            await self._open_websocket(api, port)
        self.hosts = self._hosts(model)

    async def _open_websocket(self, api: WebSocketApiSpec, port: int) -> None:
        gateway = WebSocketGateway(
            api,
            self.invoker,
            self.output,
            idle_timeout_s=self.options.ws_idle_timeout_s,
            max_lifetime_s=self.options.ws_max_lifetime_s,
        )
        listener = Listener(bind(port), gateway, tls=self.tls)
        await listener.start()
        gateway.start()
        self.ws_gateways[api.logical_id] = (gateway, listener)

    def _hosts(self, model: StackModel) -> dict[str, str]:
        """Each API's AWS host and URL prefix, mapped to its local address."""
        hosts: dict[str, str] = {}
        http_apis = {route.api_id for route in model.routes}
        for api in http_apis:
            host = execute_api_host(local_api_id(api))
            hosts[f"https://{host}"] = f"http://127.0.0.1:{self.http_port}"
            hosts[host] = f"127.0.0.1:{self.http_port}"
        for logical_id, (_, listener) in self.ws_gateways.items():
            host = execute_api_host(local_api_id(logical_id))
            hosts[host] = f"127.0.0.1:{listener.port}"
        return hosts

    def _localize(self, env: dict[str, str]) -> dict[str, str]:
        return {key: localize(value, self.hosts) for key, value in env.items()}

    def _describe_user_pools(self, model: StackModel) -> None:
        if not model.user_pools:
            return
        lines: list[str] = []
        for pool in model.user_pools.values():
            clients = [c for c in model.user_pool_clients.values() if c.pool == pool.logical_id]
            groups = [g.name for g in model.user_pool_groups.values() if g.pool == pool.logical_id]
            triggers = [t for t in model.cognito_triggers if t.pool == pool.logical_id]
            lines.append(f"{pool.logical_id} {pool.id}")
            lines.extend(f"  client {c.logical_id} {c.id}" for c in clients)
            if groups:
                lines.append(f"  groups {', '.join(groups)}")
            lines.extend(f"  {t.trigger} -> {t.function}" for t in triggers)
        self.output.section(f"User pools (Cognito endpoint {self.services.cognito_url}):", lines)
        self.output.line(f"Emails (verification codes): {self.options.state_dir / 'outbox'}")

    # --- template edits

    def _template_changed(self) -> None:
        self._spawn(self.apply_template())

    async def apply_template(self) -> None:
        try:
            model = build_model(
                self.options.template, self.services.aws.url, self.options.parameters
            )
        except TemplateError as exc:
            self.output.line(f"[relay] template.yaml not applied: {exc}")
            return
        error = await self.services.aws.apply(self.options.template, self.options.parameters)
        if error is not None:
            self.output.line(f"[relay] template.yaml not applied: {error}")
            return
        try:
            model = await self.services.resolved(model)
        except TemplateError as exc:
            self.output.line(f"[relay] template.yaml not applied: {exc}")
            return
        old = self.model
        self.services.streams.open(list(model.tables.values()))
        self.services.follow(model)
        self.model = model
        self._key_sets.clear()
        await self._apply_websockets(model)
        replaced = self.invoker.apply(model.functions)
        self.reloader.apply(model)
        self.http.update(model.routes, model.cors)
        self.async_invoker.model = model
        self.logs.apply(model)
        self.sqs.apply(model)
        self.schedules.apply(model)
        self.streams.apply(model)
        self._write_stack_file()
        self.output.line(f"[relay] template.yaml changed: {_changes(old, model, replaced)}")
        self._spawn(self._serve_openapi())

    # --- the OpenAPI document

    async def _generate_openapi(self) -> tuple[bytes, str | None]:
        """The OpenAPI document, made in a child process (the stack never imports the
        functions' code): (document, None), or (b"", why not)."""
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relay_local.cli",
            "openapi",
            "--stdout",
            "--template",
            str(self.options.template),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches `relay` alone
        )
        document, errors = await child.communicate()
        if child.returncode != 0:
            return b"", errors.decode(errors="replace").strip()[-500:]
        return document, None

    async def _serve_openapi(
        self, made: asyncio.Task[tuple[bytes, str | None]] | None = None
    ) -> None:
        """Serve the OpenAPI document at GET /api/openapi.json unless the template routes that
        path itself, and keep docs/openapi.json current when the project has one."""
        from relay_local.openapi import DOCUMENT, SERVED_AT

        if any(route.path == SERVED_AT for route in self.model.routes) or not self.model.routes:
            if made is not None:
                made.cancel()
            return
        document, error = await (made if made is not None else self._generate_openapi())
        if error is not None:
            self.output.line(f"OpenAPI document not served: {error}")
            return
        self.http.add_static("GET", SERVED_AT, document, "application/json")
        target = self.options.template.resolve().parent / DOCUMENT
        if target.exists() and target.read_bytes() != document:
            target.write_bytes(document)
            self.output.line(f"OpenAPI document: GET {SERVED_AT} (and {DOCUMENT} rewritten)")
        else:
            self.output.line(f"OpenAPI document: GET {SERVED_AT}")

    # --- what it serves

    def describe(self, model: StackModel) -> None:
        """Print what the stack serves, section by section."""
        out = self.output
        out.section("Routes:", [f"{r.method} {r.path} -> {r.function}" for r in model.routes])
        for logical_id, (gateway, listener) in self.ws_gateways.items():
            api = gateway.api
            out.line(
                f"WebSocket API {logical_id} on ws://127.0.0.1:{listener.port}"
                f" (stage {api.stage}, routes by $request.body.{'.'.join(api.selection)}):"
            )
            for route in api.routes:
                auth = f" (authorizer {route.authorizer.name})" if route.authorizer else ""
                two_way = " (two-way)" if route.two_way else ""
                out.line(f"  {route.route_key} -> {route.function or '(none)'}{auth}{two_way}")
        out.section(
            "Authorizers:",
            [
                f"{a.name} ({a.api_id}) -> {a.function}"
                f" identity {list(a.identity_headers) + list(a.identity_query)}"
                f"{', simple responses' if a.simple_responses else ''}"
                for a in model.authorizers
            ]
            + [
                f"{j.name} ({j.api_id}) JWT from {j.identity}: issuer {j.issuer},"
                f" audience {', '.join(j.audience)}"
                for j in model.jwt_authorizers
            ],
        )
        self._describe_user_pools(model)
        consumers = self.sqs.describe()
        out.section(
            "Queues:",
            [consumers.get(q.logical_id, q.name + " (no consumer)") for q in model.queues.values()],
        )
        out.section(
            "Topics:",
            [
                f"{t.name} -> "
                + (
                    ", ".join(
                        f"{s.protocol}:{s.endpoint}{' (filtered)' if s.filter_policy else ''}"
                        for s in model.topic_subscriptions
                        if s.topic == t.logical_id
                    )
                    or "(no subscriptions)"
                )
                for t in model.topics.values()
            ],
        )
        out.section(
            "Tables:",
            [
                f"{t.name}{' (stream ' + t.stream_view + ')' if t.stream_view else ''}"
                for t in model.tables.values()
            ],
        )
        out.section(
            "Streams:",
            [
                f"{s.table} -> {s.function} (batch {s.batch_size}, {s.starting_position})"
                for s in model.stream_sources
            ],
        )
        out.section("Buckets:", [b.name for b in model.buckets.values()])
        out.section("Secrets:", [s.name for s in model.secrets.values()])
        out.section("Schedules:", self.schedules.describe())
        out.section(
            "Log subscriptions:",
            [
                f"{s.name}: {s.log_group} ({s.source_function}) -> {s.destination_function}"
                f" where {s.pattern or '(all lines)'}"
                for s in model.subscriptions
            ],
        )
        if model.ignored:
            out.line(f"Not run locally: {len(model.ignored)} resources (networking, IAM,")
            out.line("  monitoring, ElastiCache: the local Redis stands in)")
        if model.parameters:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(model.parameters.items()))
            out.line(f"Parameters: {shown}")
        services = self.services
        out.line(f"Redis: {services.redis.description}")
        out.line(
            f"AWS (moto, its own process): {services.aws.url},"
            f" journal replayed {services.aws.replayed} writes"
        )
        out.line(f"State dir: {self.options.state_dir}")


def _changes(old: StackModel, new: StackModel, replaced: list[str]) -> str:
    parts: list[str] = []

    def diff(what: str, before: set[str], after: set[str]) -> None:
        added, removed = sorted(after - before), sorted(before - after)
        if added:
            parts.append(f"+{what} {', '.join(added)}")
        if removed:
            parts.append(f"-{what} {', '.join(removed)}")

    diff("routes", {r.route_key for r in old.routes}, {r.route_key for r in new.routes})
    diff("functions", set(old.functions), set(new.functions))
    diff("tables", set(old.tables), set(new.tables))
    diff("queues", set(old.queues), set(new.queues))
    diff("topics", set(old.topics), set(new.topics))
    diff("buckets", set(old.buckets), set(new.buckets))
    diff(
        "WebSocket routes",
        {r.route_key for a in old.websocket_apis for r in a.routes},
        {r.route_key for a in new.websocket_apis for r in a.routes},
    )
    if replaced:
        parts.append(f"fresh workers for {', '.join(sorted(replaced))}")
    return "; ".join(parts) or "nothing the stack runs changed"


async def run_stack(options: RunOptions, output: Output) -> None:
    stack = LocalStack(options, output)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stack.stopping.set)
    started = False
    try:
        await stack.start()
        started = True
        await stack.stopping.wait()
    finally:
        if started:
            await stack.stop()
        elif hasattr(stack, "services"):
            await stack.services.stop()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (the gateways' speed), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(options: RunOptions, output: Output) -> None:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(run_stack(options, output))
