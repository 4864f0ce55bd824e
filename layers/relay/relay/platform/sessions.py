"""Signed-out sessions: access tokens issued before a person signed out are refused.

Cognito's access tokens stay valid until they expire, whatever GlobalSignOut did to the
refresh tokens, and API Gateway's JWT authorizer checks only signature and time. So
when a person signs out through Relay (POST /api/me/sign-out, DELETE /api/me), Relay
notes the moment in Redis for as long as any access token can live, and every
signed-in request whose token was issued before it is refused (401 session_ended).

The mark is Redis's only: if Redis is unavailable the check lets the request through
(counted as RedisFailOpen) and the token still expires within ACCESS_TOKEN_TTL_S, the
user pool client's AccessTokenValidity.
"""

from __future__ import annotations

from typing import Any

from relay.platform.cache import RedisGate, redis_client, redis_gate
from relay.platform.errors import Unauthorized

# The app client's AccessTokenValidity (template.yaml, UserPoolClient): no token issued
# before a sign-out can outlive a mark kept this long.
ACCESS_TOKEN_TTL_S = 3600
_PREFIX = "relay:signed-out:"


class Sessions:
    def __init__(self, redis: Any, gate: RedisGate) -> None:
        self._redis = redis
        self._gate = gate

    def end(self, sub: str, now_s: int) -> bool:
        """Refuse `sub`'s tokens issued at or before `now_s`; False when Redis could not
        keep the mark (the caller says so: tokens then live until they expire)."""
        done = self._gate.attempt(
            lambda: self._redis.set(_PREFIX + sub, str(now_s), ex=ACCESS_TOKEN_TTL_S)
        )
        return bool(done)

    def check(self, sub: str, issued_at_s: int) -> None:
        """Unauthorized (session_ended) when `sub` signed out at or after `issued_at_s`."""
        refuse_if_ended(self._gate.attempt(lambda: self._redis.get(mark_key(sub))), issued_at_s)


def mark_key(sub: str) -> str:
    """The key of `sub`'s sign-out mark, for a route that reads it in its own round trip
    (the suggest route) and then calls `refuse_if_ended`."""
    return _PREFIX + sub


def refuse_if_ended(mark: bytes | str | None, issued_at_s: int) -> None:
    """Unauthorized (session_ended) when the mark says the token's session was ended."""
    if mark is not None and issued_at_s <= int(mark):
        raise Unauthorized("This session was signed out; sign in again.", code="session_ended")


def sessions() -> Sessions:
    return Sessions(redis_client(), redis_gate())
