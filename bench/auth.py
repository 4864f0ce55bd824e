"""Part "auth": what the authorizer costs each request, before and after Cognito.

Before, every HTTP route ran the Lambda authorizer: one Lambda invocation per request,
checking an HS256 token (the removed code's work, reproduced here: PyJWT's HS256
decode with the 64-character key and the context it answered). After, a route that
requires sign-in runs no Lambda at all (API Gateway's JWT authorizer checks the token
itself); Relay's function reads the claims it passes on (relay.platform.identity) and
asks Redis whether the session was signed out (one GET, relay.platform.sessions).
Optional-sign-in routes and the WebSocket connect still run the Lambda authorizer,
now checking RS256 against the pool's key set, kept warm per environment.

All in process, warm, N calls each in alternating blocks; medians. The floor of the
RS256 check is a bare PyJWT RS256 decode with the same key (DESIGN section 3's
standard: within 1.3x of what the work cannot do without); the sessions check's floor
is a bare redis-py GET on the same server. On AWS a Lambda authorizer invocation also
costs its invoke (a few ms of latency, billed from 1 ms) that no local figure shows:
that is what the JWT authorizer removes from every signed-in route.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.common import REDIS_URL, PartResult, Row, access_token, median, template_pool, verdict

N = 3000
BLOCK = 100
LIMIT = 1.3
HS256_KEY = "relay-bench-signing-key-0123456789abcdef0123456789abcdef"


def _per_call_ns(functions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median ns per call of each function, measured in alternating blocks of BLOCK."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(N // BLOCK):
        for name, function in functions.items():
            start = time.perf_counter_ns()
            for _ in range(BLOCK):
                function()
            samples[name].append((time.perf_counter_ns() - start) / BLOCK)
    return {name: median(values) for name, values in samples.items()}


def _us(ns: float) -> str:
    return f"{ns / 1000:.1f} us"


def run() -> PartResult:
    import jwt
    import redis

    from relay.platform import auth
    from relay.platform.cache import RedisGate
    from relay.platform.identity import caller_of
    from relay.platform.sessions import Sessions
    from relay_local.gateways.jwt import render_claims
    from relay_local.tokens import moto_key_set

    result = PartResult("auth")
    pool_id, client_id = template_pool()
    pool = auth.Pool("us-east-1", pool_id, client_id)
    keys = auth.KeySet(lambda: moto_key_set().document)
    token = access_token(pool_id, client_id)
    public_key: Any = moto_key_set().key("dummy")
    issued = int(time.time())
    hs256 = jwt.encode({"sub": "alice", "iat": issued, "exp": issued + 86_400}, HS256_KEY)
    claims = render_claims(jwt.decode(token, options={"verify_signature": False}))
    client = redis.Redis.from_url(REDIS_URL)
    sessions = Sessions(client, RedisGate())

    def before() -> object:
        # The removed HS256 authorizer's work on every route: decode, then the context.
        decoded = jwt.decode(
            hs256, HS256_KEY, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
        return {"isAuthorized": True, "context": {"userId": decoded["sub"], "authError": ""}}

    def optional_route() -> object:
        return {"isAuthorized": True, "context": auth.authorizer_context(f"Bearer {token}")}

    def first_sight() -> object:
        keys.verified.clear()  # as if this token came for the first time
        return optional_route()

    def rs256_floor() -> object:
        return jwt.decode(token, public_key, algorithms=["RS256"], options={"verify_aud": False})

    def required_route() -> object:
        who = caller_of({"jwt": {"claims": claims}}, "192.0.2.1")
        sessions.check(who.user_id or "", who.issued_at or 0)
        return who

    def redis_floor() -> object:
        return client.get("relay:signed-out:alice")

    auth.pool = lambda: pool  # type: ignore[assignment]  # this process is the authorizer
    auth.keys = lambda: keys  # type: ignore[assignment]
    optional_route()  # the key set, fetched once per environment
    figures = _per_call_ns(
        {
            "before": before,
            "first": first_sight,
            "optional": optional_route,
            "rs256": rs256_floor,
            "required": required_route,
            "get": redis_floor,
        }
    )
    client.close()
    ratio = figures["first"] / figures["rs256"]
    result.rows += [
        Row(
            "auth",
            "before: HS256 Lambda authorizer, every route (its code, warm)",
            _us(figures["before"]),
            note="plus, on AWS, one Lambda authorizer invocation per request on every route",
        ),
        Row(
            "auth",
            "after, optional-sign-in route / WebSocket connect: RS256 Lambda authorizer,"
            " a token it has not seen (warm)",
            _us(figures["first"]),
            floor=f"bare PyJWT RS256 decode {_us(figures['rs256'])}",
            ratio=ratio,
            target=f"<= {LIMIT}x",
            verdict=verdict(ratio, LIMIT),
            note="plus one Lambda authorizer invocation, as before; key set fetched once",
        ),
        Row(
            "auth",
            "after, optional-sign-in route: the same token again (kept verified)",
            _us(figures["optional"]),
            floor=f"bare PyJWT RS256 decode {_us(figures['rs256'])}",
            ratio=figures["optional"] / figures["rs256"],
            note="a dictionary lookup and the expiry check",
        ),
        Row(
            "auth",
            "after, sign-in route: no Lambda authorizer; the function reads the claims and"
            " checks the session (one Redis GET)",
            _us(figures["required"]),
            floor=f"bare redis-py GET {_us(figures['get'])}",
            ratio=figures["required"] / figures["get"],
            note="API Gateway's JWT authorizer checks the token: no invocation, no Lambda cost",
        ),
    ]
    result.details.append(
        f"N={N} calls each, alternating blocks of {BLOCK}, medians of the per-block means."
        " The JWT authorizer's own time runs inside API Gateway and is not measured here;"
        " what it removes is the Lambda authorizer's invocation on every signed-in route."
    )
    return result
