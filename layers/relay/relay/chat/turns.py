"""A connection's messages keep the order it sent them in: each waits for its turn.

API Gateway invokes the frame function once per frame, concurrently, and in no
promised order; two frames a client sent back to back may reach the seq transaction
the other way round, or race each other for the same seq. Nothing API Gateway hands
the function says in which order a connection's frames arrived (`requestTimeEpoch`
is a millisecond, shared by a whole burst), so the client says it: a `sendMessage`
frame may carry `order`, the connection's own count of its messages from 1.

Frame `order` n waits until frame n-1 of the same connection is done (stored and
delivered, or refused), then goes; so its seq is higher, and the other members
receive them in that order too. The wait is a Redis list per turn: the frame that
finishes turn n-1 pushes to `chat:turn:<connection>:<n-1>`, and turn n pops it
(BLPOP, in slices shorter than the Redis socket timeout). A turn that never comes
(the client skipped a number, its frame was lost) is waited for at most TURN_WAIT_S
(relay.chat.rules); without Redis a frame does not wait at all (Redis is an
accelerator: messages still go, in arrival order at best). docs/decisions.md,
"A connection's order comes from the client's count", says why and what it costs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from relay.chat.rules import CONNECTION_TTL_S, TURN_WAIT_S
from relay.platform.cache import RedisGate


def _key(connection_id: str, order: int) -> str:
    return f"chat:turn:{connection_id}:{order}"


class Turns:
    def __init__(
        self,
        client: Any,
        gate: RedisGate,
        slice_s: float,
        wait_s: float = TURN_WAIT_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._gate = gate
        # Each BLPOP blocks at most this long: a reply slower than the socket timeout
        # would read as a dead Redis and shut the gate for everyone.
        self._slice_s = max(0.01, round(slice_s, 2))
        self._wait_s = wait_s
        self._monotonic = monotonic

    def wait(self, connection_id: str, order: int) -> bool:
        """Block until turn `order - 1` of the connection is done; False when it did not
        come within the wait (or Redis could not say), and the frame goes anyway."""
        if order <= 1:
            return True
        key = _key(connection_id, order - 1)
        deadline = self._monotonic() + self._wait_s
        while True:
            left = deadline - self._monotonic()
            if left <= 0:
                return False
            block = min(self._slice_s, max(0.01, round(left, 2)))
            popped = self._gate.attempt(functools.partial(self._redis.blpop, [key], block))
            if popped is not None:
                return True
            if not self._gate.is_open():
                return False

    def done(self, connection_id: str, order: int) -> None:
        """Turn `order` is over: the frame with the next order may go."""
        key = _key(connection_id, order)

        def run() -> None:
            pipe = self._redis.pipeline(transaction=False)
            pipe.rpush(key, 1)
            pipe.expire(key, CONNECTION_TTL_S)
            pipe.execute()

        self._gate.attempt(run)
