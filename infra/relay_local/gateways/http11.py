"""The HTTP/1.1 server under both gateways: lean, so that a request costs the gateway
little more than parsing it and writing the answer.

httptools parses on the event loop (uvloop when installed); a connection keeps
alive and answers pipelined requests in order; `Expect: 100-continue` is honoured
(curl sends it for bodies over 1 KB); a body over API Gateway's 10 MB quota gets a
413 before it is read. A `Listener` can also speak TLS on the same port, chosen by
the client's first byte, so that a handler's `https://{domainName}/{stage}`
management endpoint works unchanged. A WebSocket upgrade is handed to the
gateway's `upgrade`, which answers the handshake itself and takes the connection
over.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import socket
import ssl
import time
import traceback
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

import httptools

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota
MAX_HEADER_BYTES = 64 * 1024
IDLE_TIMEOUT_S = 60.0
TLS_HANDSHAKE = 0x16  # the first byte of a TLS ClientHello

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Request:
    method: str
    raw_path: str  # percent-encoded, without the query
    raw_query: str
    headers: list[tuple[str, str]]  # names as the client wrote them, in order, repeats kept
    body: bytes
    peer: str  # the client's IP address
    port: int  # the port the client connected to
    tls: bool

    def header(self, name: str) -> str | None:
        """The first value of a header, by its lower-case name."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers
    body: bytes = b""


class Upgraded(Protocol):
    """What a WebSocket gateway returns for an accepted upgrade: it gets the bytes."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self) -> None: ...


class Connection(Protocol):
    """The half of `HttpConnection` an upgrade handler uses."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def write_buffer_size(self) -> int: ...


class Handler(Protocol):
    def handle(self, request: Request) -> Awaitable[Response]: ...

    def upgrade(
        self, request: Request, connection: Connection
    ) -> Awaitable[tuple[Response, Upgraded | None]]: ...


_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("latin-1")
    for status in http.HTTPStatus
}


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    return line if line is not None else f"HTTP/1.1 {status} Status\r\n".encode("latin-1")


class _Clock:
    """The Date header, formatted once a second rather than once a response."""

    def __init__(self) -> None:
        self._second = 0
        self._line = b""

    def date_line(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = b"date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._line


_clock = _Clock()


def serialize(response: Response, head: bool = False, keep_alive: bool = True) -> bytes:
    parts = [status_line(response.status)]
    for name, value in response.headers:
        parts += (name, b": ", value, b"\r\n")
    no_content = response.status == 204  # neither a body nor its length (RFC 9110, 15.3.5)
    if not no_content:
        parts.append(b"content-length: %d\r\n" % len(response.body))
    parts.append(_clock.date_line())
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    if not head and not no_content:
        parts.append(response.body)
    return b"".join(parts)


def text_response(status: int, text: str, content_type: bytes = b"text/plain") -> Response:
    return Response(status, [(b"content-type", content_type)], text.encode())


class HttpConnection(asyncio.Protocol):
    """One client connection: parse, queue, answer in order, hand over on upgrade."""

    def __init__(self, handler: Handler, tls: bool, port: int) -> None:
        self.handler = handler
        self.tls = tls
        self.port = port
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = "127.0.0.1"
        self.parser = httptools.HttpRequestParser(self)
        self.upgraded: Upgraded | None = None
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._pending: deque[tuple[Request, bool]] = deque()
        self._busy = False
        self._closing = False
        self._refused = False  # a 413 or 400 was sent; ignore the rest of this message
        self._idle: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # uvloop's is no asyncio.Transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer = str(peer[0])
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._idle is not None:
            self._idle.cancel()
        if self.upgraded is not None:
            upgraded, self.upgraded = self.upgraded, None
            upgraded.connection_lost()

    def data_received(self, data: bytes) -> None:
        if self.upgraded is not None:
            self.upgraded.data_received(data)
            return
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade(data[int(exc.args[0]) :])
        except httptools.HttpParserError:
            self._refuse(text_response(400, "Bad Request"))

    # --- httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._header_bytes = 0
        self._body = []
        self._body_size = 0
        self._refused = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._header_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(text_response(431, "Request Header Fields Too Large"))
            raise httptools.HttpParserCallbackError("headers too large")
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        length = self._content_length()
        if length is not None and length > MAX_BODY_BYTES:
            self._refuse(TOO_LARGE)
            return
        if not self.parser.should_upgrade():
            for name, value in self._headers:
                if name.lower() == "expect" and value.lower() == "100-continue":
                    assert self.transport is not None
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_size += len(body)
        if self._body_size > MAX_BODY_BYTES:
            self._refuse(TOO_LARGE)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._refused or self.parser.should_upgrade():
            return
        self._pending.append((self._request(), self.parser.should_keep_alive()))
        if not self._busy:
            self._busy = True
            self.loop.create_task(self._serve())

    # --- the work

    def _request(self) -> Request:
        url = self._url.decode("latin-1")
        path, _, query = url.partition("?")
        return Request(
            method=self.parser.get_method().decode("latin-1"),
            raw_path=path,
            raw_query=query.partition("#")[0],
            headers=self._headers,
            body=b"".join(self._body),
            peer=self.peer,
            port=self.port,
            tls=self.tls,
        )

    def _content_length(self) -> int | None:
        for name, value in self._headers:
            if name.lower() == "content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    async def _serve(self) -> None:
        try:
            while self._pending and not self._closing:
                request, keep_alive = self._pending.popleft()
                try:
                    response = await self.handler.handle(request)
                except Exception:  # noqa: BLE001 - a gateway bug must not hang the client
                    traceback.print_exc()
                    response = text_response(500, "Internal Server Error")
                if self._closing or self.transport is None:
                    return
                self.transport.write(serialize(response, request.method == "HEAD", keep_alive))
                if not keep_alive:
                    self.close()
                    return
        finally:
            self._busy = False
            if not self._closing:
                self._arm_idle()

    def _upgrade(self, rest: bytes) -> None:
        request = self._request()
        self.upgraded = _Buffered(rest)
        self.loop.create_task(self._finish_upgrade(request))

    async def _finish_upgrade(self, request: Request) -> None:
        buffered = self.upgraded
        assert isinstance(buffered, _Buffered)
        try:
            response, upgraded = await self.handler.upgrade(request, self)
        except Exception:  # noqa: BLE001 - a gateway bug must not hang the client
            traceback.print_exc()
            response, upgraded = text_response(500, "Internal Server Error"), None
        if self._closing or self.transport is None:
            if upgraded is not None:
                upgraded.connection_lost()
            return
        if upgraded is None:
            self.upgraded = None
            self.transport.write(serialize(response, keep_alive=False))
            self.close()
            return
        self.transport.write(serialize_upgrade(response))
        self.upgraded = upgraded
        if buffered.data:
            upgraded.data_received(bytes(buffered.data))

    def _refuse(self, response: Response) -> None:
        self._refused = True
        if self.transport is not None and not self._closing:
            self.transport.write(serialize(response, keep_alive=False))
        self.close()

    def _arm_idle(self) -> None:
        if self.upgraded is None and not self._closing:
            self._idle = self.loop.call_later(IDLE_TIMEOUT_S, self.close)

    # --- Connection, for upgrade handlers

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self._closing:
            self.transport.write(data)

    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def close(self) -> None:
        if not self._closing and self.transport is not None:
            self._closing = True
            self.transport.close()


class _Buffered:
    """Holds what a client sends between its upgrade request and our answer."""

    def __init__(self, first: bytes) -> None:
        self.data = bytearray(first)

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self) -> None:
        pass


def serialize_upgrade(response: Response) -> bytes:
    parts = [status_line(response.status)]
    for name, value in response.headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


# API Gateway's answer to a request over its 10 MB quota, or whose event is over Lambda's 6 MB.
TOO_LARGE = Response(
    413, [(b"content-type", b"application/json")], b'{"message":"Request Entity Too Large"}'
)


def bind(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket, bound now so that port 0 is resolved before anything starts."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit it on Linux: without it, Nagle and delayed ACKs add 40 ms.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise SystemExit(f"relay: cannot listen on {host}:{port}: {exc}") from exc
    listener.listen(2048)
    listener.setblocking(False)
    return listener


class Listener:
    """Accepts connections for one gateway; with `tls`, a client opening with a TLS
    handshake gets TLS and any other gets plain HTTP, on the same port."""

    def __init__(
        self,
        sock: socket.socket,
        handler: Handler,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.sock = sock
        self.handler = handler
        self.tls = tls
        self.port = int(sock.getsockname()[1])
        self._server: asyncio.AbstractServer | None = None
        self._sniffing: set[socket.socket] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.tls is None:
            self._server = await self._loop.create_server(self._plain, sock=self.sock)
        else:
            self._loop.add_reader(self.sock.fileno(), self._accept)

    def _plain(self) -> HttpConnection:
        return HttpConnection(self.handler, tls=False, port=self.port)

    def _accept(self) -> None:
        assert self._loop is not None
        for _ in range(64):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sniffing.add(conn)
            self._loop.add_reader(conn.fileno(), self._sniff, conn)

    def _sniff(self, conn: socket.socket) -> None:
        assert self._loop is not None
        self._loop.remove_reader(conn.fileno())
        self._sniffing.discard(conn)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            self._sniffing.add(conn)
            self._loop.add_reader(conn.fileno(), self._sniff, conn)
            return
        except OSError:
            conn.close()
            return
        if not first:
            conn.close()
            return
        secure = first[0] == TLS_HANDSHAKE
        self._loop.create_task(self._connect(conn, secure))

    async def _connect(self, conn: socket.socket, secure: bool) -> None:
        assert self._loop is not None

        def factory() -> HttpConnection:
            return HttpConnection(self.handler, tls=secure, port=self.port)

        try:
            await self._loop.connect_accepted_socket(
                factory, conn, ssl=self.tls if secure else None
            )
        except (TimeoutError, OSError, ssl.SSLError):
            # A client that fails its TLS handshake (an untrusted certificate) just goes.
            conn.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
        elif self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
        for conn in list(self._sniffing):
            if self._loop is not None:
                self._loop.remove_reader(conn.fileno())
            conn.close()


def header_dict(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names to values, repeats joined with commas (API Gateway's `headers`)."""
    result: dict[str, str] = {}
    for raw_name, value in headers:
        name = raw_name.lower()
        result[name] = f"{result[name]},{value}" if name in result else value
    return result
