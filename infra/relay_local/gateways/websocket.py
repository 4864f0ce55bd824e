"""The local API Gateway WebSocket API, and its `@connections` management API on the same port.

A connection goes as on AWS:
- the upgrade request runs the `$connect` route's authorizer (401, 403 or 500
  refuse it before the upgrade completes), then its function: a non-2xx
  `statusCode` refuses the socket with that status, an error with 502;
- each text message is routed by the API's selection expression
  (`$request.body.action`), falling back to `$default`, else the client gets
  API Gateway's `Forbidden` frame; a function that fails sends the client
  `Internal server error`; a two-way route (a `$default` route response) sends
  the function's `body` back; the socket stays open either way;
- binary frames close the socket with 1003, frames over 32 KB or messages over
  128 KB with 1009, idle sockets after 10 minutes and any socket after 2 hours
  with 1001 (both settable lower for tests);
- when either side closes, `$disconnect` runs with the close code and reason.

Handlers push to clients through `POST /{stage}/@connections/{id}` (GET reads a
connection, DELETE closes it); a connection that is gone, or still in its
`$connect`, answers 410 `GoneException`, exactly what boto3's
`apigatewaymanagementapi` client expects.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from websockets.frames import Frame, Opcode
from websockets.protocol import SEND_EOF, Protocol, Side, State

from relay_local.gateways import authorizers
from relay_local.gateways.events import (
    SocketInfo,
    connect_event,
    disconnect_event,
    gateway_id,
    message_event,
    websocket_authorizer_event,
    websocket_method_arn,
)
from relay_local.gateways.http11 import Connection, Request, Response, header_dict
from relay_local.output import Output
from relay_local.runtime.invoker import Invocation, Invoker, encode_event
from relay_local.template.model import WebSocketApiSpec, WebSocketRouteSpec

MAX_MESSAGE_BYTES = 128 * 1024
MAX_FRAME_BYTES = 32 * 1024
IDLE_TIMEOUT_S = 600.0
MAX_LIFETIME_S = 7200.0
# Past this much unsent data the client is not reading: PostToConnection says so (429).
MAX_BUFFERED_BYTES = 4 * 1024 * 1024
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_JSON = [(b"content-type", b"application/json")]
_LIFECYCLE_ROUTES = frozenset({"$connect", "$disconnect"})


def _message(status: int, text: str) -> Response:
    return Response(status, list(_JSON), json.dumps({"message": text}).encode())


def _error(status: int, name: str, message: str | None) -> Response:
    headers = [(b"x-amzn-errortype", name.encode()), *_JSON]
    body = b"" if message is None else json.dumps({"message": message}).encode()
    return Response(status, headers, body)


_GONE = _error(410, "GoneException", None)
_REFUSED = {
    401: _message(401, "Unauthorized"),
    403: _message(403, "Forbidden"),
    500: _message(500, "Internal Server Error"),
    502: _message(502, "Internal server error"),
}


def _iso(epoch_s: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_s, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Socket:
    """One client's WebSocket: frames in and out, activity, and how it ended."""

    def __init__(
        self,
        gateway: WebSocketGateway,
        info: SocketInfo,
        connection: Connection,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.info = info
        self.connection = connection
        self.clock = clock
        self.protocol = Protocol(
            Side.SERVER, state=State.OPEN, max_size=(MAX_MESSAGE_BYTES, MAX_FRAME_BYTES)
        )
        self.opened = clock()
        self.last_active = self.opened
        self.last_active_epoch = time.time()
        self._fragments: list[bytes] = []
        self._fragmented_binary = False
        self.closed = False
        self._initiated = False  # we sent the first close frame (DELETE, a timeout, a limit)
        self.close_code = 1006
        self.close_reason = "Connection closed abnormally"

    # --- Upgraded (bytes from the client)

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            assert isinstance(event, Frame)
            self._frame(event)
        self._flush()

    def connection_lost(self) -> None:
        if not self.closed:
            self._closed()

    # --- frames

    def _frame(self, frame: Frame) -> None:
        self._touch()
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self._fragmented_binary = opcode is Opcode.BINARY
            self._fragments = [bytes(frame.data)]
        elif opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
        elif opcode is Opcode.CLOSE:
            received = self.protocol.close_rcvd
            if self._initiated:
                return
            if received is None or received.code == 1005:
                self.close_code, self.close_reason = 1005, "Client-side close frame status not set"
            else:
                self.close_code, self.close_reason = received.code, received.reason
            return
        else:
            return  # ping (answered by the protocol) and pong
        if not frame.fin:
            return
        data, self._fragments = b"".join(self._fragments), []
        if self._fragmented_binary:
            # API Gateway takes no binary frames from clients.
            self.close(1003, "Binary frames are not supported")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.close(1007, "Invalid UTF-8 in a text frame")
            return
        self.gateway.received(self, text)

    def _touch(self) -> None:
        self.last_active = self.clock()
        self.last_active_epoch = time.time()

    def _flush(self) -> None:
        writes = self.protocol.data_to_send()
        if not writes:
            return
        eof = writes[-1] is SEND_EOF or writes[-1] == b""
        payload = b"".join(w for w in writes if w)
        if payload:
            self.connection.write(payload)
        if eof or self.protocol.state is State.CLOSED:
            sent = self.protocol.close_sent
            if sent is not None and self.protocol.parser_exc is not None:
                # A limit the protocol enforced (1009 too big, 1002 bad framing).
                self.close_code, self.close_reason = sent.code, sent.reason
            self.connection.close()
            if not self.closed:
                self._closed()

    # --- for the gateway

    def send(self, data: bytes) -> None:
        self._touch()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            self.protocol.send_binary(data)
        else:
            self.protocol.send_text(data)
        self._flush()

    @property
    def closing(self) -> bool:
        """We sent the close frame; the socket is gone to the management API already."""
        return self._initiated

    def close(self, code: int, reason: str) -> None:
        if self.closed or self.protocol.state is not State.OPEN:
            return
        self.close_code, self.close_reason = code, reason
        self._initiated = True
        self.protocol.send_close(code, reason)
        self._flush()
        # A client that never answers our close frame still loses its socket.
        asyncio.get_running_loop().call_later(2.0, self.connection.close)

    def _closed(self) -> None:
        self.closed = True
        self.gateway.gone(self)


class WebSocketGateway:
    """One WebSocket API of the template on one port."""

    def __init__(
        self,
        api: WebSocketApiSpec,
        invoker: Invoker,
        output: Output,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_lifetime_s: float = MAX_LIFETIME_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.clock = clock
        self.invoker = invoker
        self.output = output
        self.idle_timeout_s = idle_timeout_s
        self.max_lifetime_s = max_lifetime_s
        self.sockets: dict[str, Socket] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def update(self, api: WebSocketApiSpec) -> None:
        """A template edit: new routes apply to the next message; open sockets stay open."""
        self.api = api

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for socket in list(self.sockets.values()):
            socket.close(1001, "Going away")
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- connect

    async def upgrade(self, request: Request, connection: Connection) -> tuple[Response, Any]:
        headers = header_dict(request.headers)
        refusal = self._check_handshake(request, headers)
        if refusal is not None:
            return refusal, None
        port = request.port
        info = SocketInfo(
            connection_id=gateway_id(),
            api_id=self.api.api_id,
            stage=self.api.stage,
            domain_name=headers.get("host", f"127.0.0.1:{port}"),
            source_ip=request.peer,
            user_agent=headers.get("user-agent"),
            connected_at=int(time.time() * 1000),
        )
        route = self.api.route("$connect")
        extra: list[tuple[bytes, bytes]] = []
        if route is not None:
            if route.authorizer is not None:
                refused = await self._authorize(route, info, request, headers)
                if refused is not None:
                    return refused, None
            if route.function is not None:
                outcome = await self._connect(route.function, info, request)
                if isinstance(outcome, Response):
                    return outcome, None
                extra = outcome
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest()  # noqa: S324
        )
        response = Response(
            101,
            [
                (b"upgrade", b"websocket"),
                (b"connection", b"Upgrade"),
                (b"sec-websocket-accept", accept),
                *extra,
            ],
        )
        socket = Socket(self, info, connection, self.clock)
        self.sockets[info.connection_id] = socket
        return response, socket

    def _check_handshake(self, request: Request, headers: dict[str, str]) -> Response | None:
        if request.method != "GET" or headers.get("upgrade", "").lower() != "websocket":
            return Response(426, [(b"upgrade", b"websocket")], b"")
        if headers.get("sec-websocket-version") != "13":
            return Response(426, [(b"sec-websocket-version", b"13")], b"")
        try:
            key = base64.b64decode(headers.get("sec-websocket-key", ""), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 16:
            return _message(400, "Bad Request")
        path = unquote(request.raw_path).strip("/")
        if path not in ("", self.api.stage):
            return _message(403, "Forbidden")
        return None

    async def _authorize(
        self,
        route: WebSocketRouteSpec,
        info: SocketInfo,
        request: Request,
        headers: dict[str, str],
    ) -> Response | None:
        authorizer = route.authorizer
        assert authorizer is not None
        query = dict(parse_qsl(request.raw_query, keep_blank_values=True))
        source = f"WS $connect authorizer {authorizer.name} ({info.connection_id})"
        if authorizers.identity(authorizer, headers, query) is None:
            self.output.line(f"{time.strftime('%H:%M:%S')} {source}: 401 (no identity source)")
            return _REFUSED[401]
        event = websocket_authorizer_event(info, request, gateway_id())
        started = time.perf_counter()
        invocation = await self.invoker.invoke(authorizer.function, event)
        latency_ms = int((time.perf_counter() - started) * 1000)
        decision = authorizers.decide(authorizer, invocation, websocket_method_arn(info))
        self.output.invocation(
            source, invocation, "allow" if decision.allowed else str(decision.status)
        )
        if not decision.allowed:
            return _REFUSED.get(decision.status, _REFUSED[500])
        info.authorizer = authorizers.websocket_context(decision, latency_ms)
        return None

    async def _connect(
        self, function: str, info: SocketInfo, request: Request
    ) -> Response | list[tuple[bytes, bytes]]:
        event = connect_event(info, request, gateway_id(), info.authorizer)
        invocation = await self.invoker.invoke_encoded(function, encode_event(event))
        source = f"WS $connect ({info.connection_id})"
        if invocation.failed:
            self.output.invocation(source, invocation, "502 (function error)")
            return _REFUSED[502]
        result = invocation.result
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            self.output.invocation(source, invocation, f"502 (bad statusCode {status!r})")
            return _REFUSED[502]
        if not 200 <= status < 300:
            self.output.invocation(source, invocation, f"{status} (refused)")
            body = result.get("body") if isinstance(result, dict) else None
            return Response(status, list(_JSON), str(body or "").encode())
        self.output.invocation(source, invocation, "connected")
        extra: list[tuple[bytes, bytes]] = []
        returned = result.get("headers") if isinstance(result, dict) else None
        if isinstance(returned, dict):
            # The subprotocol a $connect function chose is answered in the handshake.
            for name, value in returned.items():
                if str(name).lower() == "sec-websocket-protocol":
                    extra.append((b"sec-websocket-protocol", str(value).encode("latin-1")))
        return extra

    # --- messages

    def received(self, socket: Socket, body: str) -> None:
        route_key = self._select(body)
        # A message never reaches the connection's own routes, whatever it names.
        own = route_key in _LIFECYCLE_ROUTES
        route = (None if own else self.api.route(route_key)) or self.api.route("$default")
        request_id = gateway_id()
        if route is None:
            self._frame_error(socket, "Forbidden", request_id)
            return
        if route.function is None:
            return
        event = message_event(socket.info, route.route_key, body, request_id)
        self._spawn(self._message(socket, route, event, request_id))

    def _select(self, body: str) -> str:
        try:
            value: Any = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            return "$default"
        for key in self.api.selection:
            if not isinstance(value, dict) or key not in value:
                return "$default"
            value = value[key]
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None or isinstance(value, (dict, list)):
            return "$default"
        return str(value)

    async def _message(
        self, socket: Socket, route: WebSocketRouteSpec, event: dict[str, Any], request_id: str
    ) -> None:
        assert route.function is not None
        invocation = await self.invoker.invoke_encoded(route.function, encode_event(event))
        source = f"WS {route.route_key} ({socket.info.connection_id})"
        if invocation.failed:
            self.output.invocation(source, invocation, "error (Internal server error frame)")
            self._frame_error(socket, "Internal server error", request_id)
            return
        self.output.invocation(source, invocation, "ok")
        if route.two_way and not socket.closed:
            reply = _reply(invocation)
            if reply is not None:
                socket.send(reply)

    def _frame_error(self, socket: Socket, message: str, request_id: str) -> None:
        if socket.closed:
            return
        # API Gateway's own spacing, byte for byte.
        frame = (
            f'{{"message": "{message}", "connectionId":"{socket.info.connection_id}",'
            f' "requestId":"{request_id}"}}'
        )
        socket.send(frame.encode())

    # --- disconnect

    def gone(self, socket: Socket) -> None:
        if self.sockets.get(socket.info.connection_id) is not socket:
            return
        del self.sockets[socket.info.connection_id]
        route = self.api.route("$disconnect")
        if route is None or route.function is None:
            return
        event = disconnect_event(socket.info, socket.close_code, socket.close_reason, gateway_id())
        self._spawn(self._disconnect(route.function, socket, event))

    async def _disconnect(self, function: str, socket: Socket, event: dict[str, Any]) -> None:
        invocation = await self.invoker.invoke_encoded(function, encode_event(event))
        source = f"WS $disconnect ({socket.info.connection_id}, {socket.close_code})"
        self.output.invocation(source, invocation, "error" if invocation.failed else "ok")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout_s / 4, self.max_lifetime_s / 4))
            self.expire()

    def expire(self) -> None:
        """Close sockets idle too long or open too long: API Gateway's 1001 Going away."""
        now = self.clock()
        for socket in list(self.sockets.values()):
            idle = now - socket.last_active >= self.idle_timeout_s
            if idle or now - socket.opened >= self.max_lifetime_s:
                socket.close(1001, "Going away")

    # --- the management API

    async def handle(self, request: Request) -> Response:
        connection_id, refusal = self._management_target(request)
        if refusal is not None:
            return refusal
        socket = self.sockets.get(connection_id)
        if socket is None or socket.closed or socket.closing:
            return _GONE  # gone, or closing at our end (after a DELETE, a timeout, a limit)
        if request.method == "POST":
            if len(request.body) > MAX_MESSAGE_BYTES:
                return _error(413, "PayloadTooLargeException", "Message too long")
            if socket.connection.write_buffer_size() > MAX_BUFFERED_BYTES:
                return _error(429, "LimitExceededException", "Client side buffer is full")
            socket.send(request.body)
            return Response(200, list(_JSON), b"")
        if request.method == "GET":
            identity = {"sourceIp": socket.info.source_ip, "userAgent": socket.info.user_agent}
            body = {
                "connectedAt": _iso(socket.info.connected_at / 1000),
                "identity": identity,
                "lastActiveAt": _iso(socket.last_active_epoch),
            }
            return Response(200, list(_JSON), json.dumps(body).encode())
        if request.method == "DELETE":
            socket.close(1000, "Connection Closed Normally")
            return Response(204, [], b"")
        return _message(404, "Not Found")

    def _management_target(self, request: Request) -> tuple[str, Response | None]:
        # Split before decoding: an encoded "/" inside an id must not split the path.
        parts = [unquote(part) for part in request.raw_path.strip("/").split("/")]
        if len(parts) == 3 and parts[0] == self.api.stage and parts[1] == "@connections":
            parts = parts[1:]
        if len(parts) != 2 or parts[0] != "@connections" or not parts[1]:
            if request.header("upgrade") is None and request.method == "GET":
                return "", Response(426, [(b"upgrade", b"websocket")], b"")
            return "", _message(403, "Forbidden")
        if request.header("authorization") is None:
            return "", _message(403, "Missing Authentication Token")
        return parts[1], None


def _reply(invocation: Invocation) -> bytes | None:
    """What a two-way route sends back: the proxy result's `body`."""
    result = invocation.result
    if isinstance(result, dict):
        body = result.get("body")
        if body is None:
            return None
        return str(body).encode("utf-8", errors="surrogatepass")
    if result is None:
        return None
    return json.dumps(result).encode()
