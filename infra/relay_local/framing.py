"""The stack's channel to its child processes: messages with a 4-byte length before each.

Standard library only: the worker (`relay_local.runtime.worker`) imports it inside every
execution environment, where its import time is part of the cold start.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

HEADER = 4


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(HEADER, "big") + payload


def take_frames(buffer: bytearray) -> Iterator[bytes]:
    """Each whole message at the front of `buffer`, removed from it as it is taken."""
    while len(buffer) >= HEADER:
        size = int.from_bytes(buffer[:HEADER], "big")
        if len(buffer) < HEADER + size:
            return
        message = bytes(buffer[HEADER : HEADER + size])
        del buffer[: HEADER + size]
        yield message


def receive_frame(sock: socket.socket) -> bytes | None:
    """One whole message from a blocking socket; None once the other end has closed."""
    header = _exact(sock, HEADER)
    return None if header is None else _exact(sock, int.from_bytes(header, "big"))


def _exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)
