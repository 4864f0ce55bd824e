"""Presence in Redis: who is online, kept fresh by `ping`, forgotten when pings stop.

`chat:presence:<user>` is a sorted set of the user's connection ids, each scored with
the moment it lapses (PRESENCE_TTL_MS after its connect or last ping); a user is
online while one of them has not lapsed. `chat:presence:due` scores each user with
their latest lapse, so the sweeper finds the users whose pings stopped without
reading every key. Redis is only an accelerator here: when it is down, presence
events are not sent and everyone reads as offline (pushes may then go to online
users too); messages, history and delivery do not depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relay.chat.rules import PRESENCE_TTL_MS, SWEEP_MAX
from relay.platform.cache import RedisGate
from relay.platform.clock import Clock

_DUE = "chat:presence:due"


def _key(user_id: str) -> str:
    return f"chat:presence:{user_id}"


class Presence:
    def __init__(self, client: Any, gate: RedisGate, clock: Clock) -> None:
        self._redis = client
        self._gate = gate
        self._clock = clock

    def touch(self, user_id: str, connection_id: str) -> bool:
        """The connection is alive (connected or pinged); True when the user just came online."""
        now = self._clock.now_ms()
        lapse = now + PRESENCE_TTL_MS

        def run() -> bool:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zremrangebyscore(_key(user_id), "-inf", now)
            pipe.zcard(_key(user_id))
            pipe.zadd(_key(user_id), {connection_id: lapse})
            pipe.pexpire(_key(user_id), PRESENCE_TTL_MS)
            pipe.zadd(_DUE, {user_id: lapse}, gt=True)
            _, before, _, _, _ = pipe.execute()
            return int(before) == 0

        return bool(self._gate.attempt(run))

    def leave(self, user_id: str, connection_id: str) -> bool:
        """The connection closed; True when it was the user's last live one."""
        now = self._clock.now_ms()

        def run() -> bool:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zrem(_key(user_id), connection_id)
            pipe.zremrangebyscore(_key(user_id), "-inf", now)
            pipe.zcard(_key(user_id))
            removed, _, left = pipe.execute()
            if int(left) == 0:
                self._redis.zrem(_DUE, user_id)
            return bool(removed) and int(left) == 0

        return bool(self._gate.attempt(run))

    def online(self, user_ids: Iterable[str]) -> set[str]:
        """Those of `user_ids` online now (none while Redis is down)."""
        users = list(user_ids)
        now = self._clock.now_ms()

        def run() -> set[str]:
            pipe = self._redis.pipeline(transaction=False)
            for user in users:
                pipe.zcount(_key(user), now + 1, "+inf")
            return {user for user, live in zip(users, pipe.execute(), strict=True) if live}

        return self._gate.attempt(run) or set()

    def lapsed(self, limit: int = SWEEP_MAX) -> list[str]:
        """Users whose every connection stopped pinging: now offline, each reported once."""
        now = self._clock.now_ms()

        def run() -> list[str]:
            due = [u.decode() for u in self._redis.zrangebyscore(_DUE, "-inf", now, 0, limit)]
            gone: list[str] = []
            for user in due:
                pipe = self._redis.pipeline(transaction=True)
                pipe.zremrangebyscore(_key(user), "-inf", now)
                pipe.zcard(_key(user))
                _, left = pipe.execute()
                # Only the caller that removes the user from the index reports it.
                if int(left) == 0 and self._redis.zrem(_DUE, user):
                    gone.append(user)
            return gone

        return self._gate.attempt(run) or []
