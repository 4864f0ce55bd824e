"""Part 1: the Redirect handler on a warm cache hit, against a bare redis-py GET.

The handler is loaded from template.yaml (tests.support.lambdas), the cache entry is
written in the format relay.shortener.redirects.encode() produces, and every call
comes from a different source IP so the per-IP limit never trips. Handler calls and
bare GETs alternate in blocks so both see the same machine noise. Round trips are
counted, not assumed: client-side request writes, the server's command counters,
and MONITOR on the bench database.
"""

from __future__ import annotations

import contextlib
import copy
import cProfile
import io
import json
import os
import pstats
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.common import (
    EVENTS,
    REDIS_URL,
    PartResult,
    Row,
    bench_env,
    flush_bench_db,
    percentile,
    run_python,
    us,
    verdict,
)

N = 5_000
BLOCK = 100
WARMUP = 300
COUNTED = 200
CODE = "BenchRd1"
LIMIT = 1.5


def _events(count: int, first_ip: int) -> list[dict[str, Any]]:
    template = json.loads((EVENTS / "redirect.json").read_text())
    template["rawPath"] = template["requestContext"]["http"]["path"] = f"/{CODE}"
    template["pathParameters"] = {"code": CODE}
    events = []
    for i in range(first_ip, first_ip + count):
        event = copy.deepcopy(template)
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        event["requestContext"]["http"]["sourceIp"] = ip
        event["headers"]["x-forwarded-for"] = ip
        events.append(event)
    return events


@contextlib.contextmanager
def _devnull_stdout() -> Iterator[None]:
    """The handler writes one click line per request to a real file, as on Lambda."""
    saved = sys.stdout
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


class _RequestCounter:
    """Counts request writes and reply reads on every redis-py connection."""

    def __init__(self) -> None:
        self.sends = 0
        self.reads = 0

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        from redis.connection import AbstractConnection

        send, read = AbstractConnection.send_packed_command, AbstractConnection.read_response

        def counting_send(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.sends += 1
            return send(conn, *args, **kwargs)

        def counting_read(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.reads += 1
            return read(conn, *args, **kwargs)

        AbstractConnection.send_packed_command = counting_send  # type: ignore[method-assign,assignment]
        AbstractConnection.read_response = counting_read  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
            AbstractConnection.read_response = read  # type: ignore[method-assign]


class _Monitor:
    """MONITOR lines for database 12, split into client commands and commands run by Lua."""

    STOP = "bench-monitor-stop"
    HANDSHAKE = frozenset({"SELECT", "HELLO", "CLIENT", "AUTH", "ECHO", "INFO"})

    def __init__(self) -> None:
        import redis

        self._client = redis.Redis.from_url(REDIS_URL)
        self.client_commands: dict[str, int] = {}
        self.lua_commands: dict[str, int] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self._client.monitor() as monitor:
            self._ready.set()
            for _ in range(1_000_000):  # bounded; ends at the sentinel
                command = monitor.next_command()
                if command.get("db") != 12:
                    continue
                text = str(command.get("command", ""))
                if self.STOP in text:
                    return
                name = text.split(" ", 1)[0].upper()
                if name in self.HANDSHAKE:
                    continue  # the sentinel client's connection set-up, not the handler's
                bucket = self.lua_commands if command.get("client_type") == "lua" else None
                if bucket is None:
                    bucket = self.client_commands
                bucket[name] = bucket.get(name, 0) + 1

    def __enter__(self) -> _Monitor:
        self._thread.start()
        self._ready.wait(5)
        time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        import redis

        stopper = redis.Redis.from_url(REDIS_URL)
        stopper.echo(self.STOP)
        stopper.close()
        self._thread.join(5)


def _server_counters() -> tuple[int, dict[str, int]]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    total = int(client.info("stats")["total_commands_processed"])
    stats = client.info("commandstats")
    client.close()
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    return total, calls


_ENCODE = f"""
import sys
from relay.shortener.redirects import encode
from relay.shortener.models import Link
link = Link({CODE!r}, "https://example.com/a/long/target?bench=1", None, 0, None, 301)
sys.stdout.write(encode(link).decode())
"""


def _encoded_entry() -> bytes:
    """encode(Link(...)) run in a child, so that this process imports nothing the
    cache-hit calls do not, and they can be checked for boto3."""
    done = run_python(_ENCODE, bench_env())
    if done.returncode != 0:
        raise RuntimeError(f"encoding the cache entry failed: {done.stderr[-2000:]}")
    return done.stdout.encode()


def run() -> PartResult:
    import redis

    from relay.shortener.redirects import cache_key
    from tests.support.lambdas import Context, handler

    result = PartResult("redirect")
    flush_bench_db()
    bare = redis.Redis.from_url(REDIS_URL)
    key = cache_key(CODE)
    bare.set(key, _encoded_entry(), ex=3_600)

    lambda_handler = handler("Redirect")
    boto_at_import = _boto_modules()
    context = Context()
    warm = _events(WARMUP, 1)
    timed = _events(N, 100_000)
    counted = _events(COUNTED, 200_000)
    monitored = _events(COUNTED, 250_000)
    profiled = _events(2_000, 300_000)

    with _devnull_stdout():
        for event in warm:
            reply = lambda_handler(event, context)
        for _ in range(WARMUP):
            bare.get(key)
    assert reply["statusCode"] == 301, reply

    handler_ns: list[int] = []
    get_ns: list[int] = []
    statuses: dict[int, int] = {}
    perf = time.perf_counter_ns
    with _devnull_stdout():
        for block in range(0, N, BLOCK):
            for event in timed[block : block + BLOCK]:
                start = perf()
                reply = lambda_handler(event, context)
                handler_ns.append(perf() - start)
                statuses[reply["statusCode"]] = statuses.get(reply["statusCode"], 0) + 1
            for _ in range(BLOCK):
                start = perf()
                bare.get(key)
                get_ns.append(perf() - start)
    boto_after = _boto_modules()

    # Round trips, outside the timed loop (the counters cost time of their own).
    counter = _RequestCounter()
    with _devnull_stdout(), counter.active():
        for event in counted:
            lambda_handler(event, context)
    total_before, calls_before = _server_counters()
    with _Monitor() as monitor, _devnull_stdout():
        for event in monitored:
            lambda_handler(event, context)
    total_after, calls_after = _server_counters()
    server_total = total_after - total_before - 3  # INFO x2 (before) and the ECHO sentinel
    changed = {
        name: calls_after[name] - calls_before.get(name, 0)
        for name in calls_after
        if calls_after[name] != calls_before.get(name, 0) and name not in ("info", "echo")
    }

    h50, h99 = percentile(handler_ns, 50), percentile(handler_ns, 99)
    g50, g99 = percentile(get_ns, 50), percentile(get_ns, 99)
    sends, reads = counter.sends / COUNTED, counter.reads / COUNTED
    client_cmds = sum(monitor.client_commands.values()) / COUNTED
    rows = result.rows
    rows.append(
        Row(
            "redirect",
            "Redirect warm cache hit, handler p50",
            us(h50),
            f"bare GET p50 {us(g50)}",
            h50 / g50,
            "<= 1.5x",
            verdict(h50 / g50, LIMIT),
            f"N={N} each, alternating blocks of {BLOCK}; statuses {statuses}",
        )
    )
    rows.append(
        Row(
            "redirect",
            "Redirect warm cache hit, handler p99",
            us(h99),
            f"bare GET p99 {us(g99)}",
            h99 / g99,
            "<= 1.5x",
            verdict(h99 / g99, LIMIT),
        )
    )
    rows.append(
        Row(
            "redirect",
            "Redirect round trips per call (client writes / reads)",
            f"{sends:.2f} / {reads:.2f}",
            "1",
            sends,
            "1",
            "PASS" if sends == 1 and reads == 1 else "MISS",
            f"over {COUNTED} calls, wrapped redis-py Connection",
        )
    )
    rows.append(
        Row(
            "redirect",
            "Redirect commands per call seen by the server",
            f"MONITOR db12: {client_cmds:.2f} "
            f"({_per_call(monitor.client_commands)}); inside Lua: "
            f"{_per_call(monitor.lua_commands)}",
            "1",
            client_cmds,
            "1",
            "PASS" if client_cmds == 1 else "MISS",
            f"server-wide total_commands_processed delta {server_total / COUNTED:.2f}/call "
            f"(other databases' traffic included); commandstats {_per_call(changed)}",
        )
    )
    imported = sorted(boto_after - boto_at_import)
    rows.append(
        Row(
            "redirect",
            "boto3/botocore modules imported during cache-hit calls",
            f"{len(imported)}: " + ", ".join(imported[:5]) if imported else "none",
            "",
            None,
            "none",
            "MISS" if imported else "PASS",
            f"at handler import already: {', '.join(sorted(boto_at_import)) or 'none'}"
            + (" (Powertools' shared.user_agent does `import botocore`)" if boto_at_import else ""),
        )
    )
    result.details.extend(_breakdown(lambda_handler, context, profiled, h50))
    bare.close()
    return result


def _boto_modules() -> set[str]:
    return {m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")}


def _per_call(counts: dict[str, int]) -> str:
    if not counts:
        return "none"
    return ", ".join(f"{name} {n / COUNTED:.2f}" for name, n in sorted(counts.items()))


def _breakdown(
    lambda_handler: Callable[..., Any],
    context: object,
    events: list[dict[str, Any]],
    handler_p50: float,
) -> list[str]:
    """Where a cache hit's time goes: its parts timed alone, then cProfile's view."""
    from relay.platform.ratelimit import rule as configured_rule
    from relay.shortener.click_log import ClickLog

    module = sys.modules["relay_fn_Redirect"]
    redirects = module.redirects()
    limiter = redirects._limiter  # the same RateLimiter the handler uses
    rule = configured_rule("redirect-ip")
    clicks = ClickLog()
    headers = events[0]["headers"]
    parts: dict[str, list[int]] = {"script": [], "resolve": [], "click": [], "json": []}
    perf = time.perf_counter_ns
    with _devnull_stdout():
        for i, event in enumerate(events[:1_000]):
            ip = event["requestContext"]["http"]["sourceIp"]
            start = perf()
            limiter.check([(rule, ip + "x")], also_get=f"link:{CODE}")
            parts["script"].append(perf() - start)
            start = perf()
            redirects.resolve(CODE, ip + "y", headers)
            parts["resolve"].append(perf() - start)
            start = perf()
            clicks.record(CODE, 1_795_000_000_000, i, headers)
            parts["click"].append(perf() - start)
            start = perf()
            json.dumps(
                {"kind": "click", "id": "0" * 32, "code": CODE, "ts": i}, separators=(",", ":")
            )
            parts["json"].append(perf() - start)
    script = percentile(parts["script"], 50)
    resolve = percentile(parts["resolve"], 50)
    click = percentile(parts["click"], 50)
    lines = [
        "Breakdown of one warm cache hit (p50 of 1000 calls of each part alone):",
        "",
        "| part | p50 | share of handler p50 |",
        "|---|---|---|",
        f"| whole handler (`lambda_handler`) | {us(handler_p50)} | 100% |",
        f"| rate-limit Lua script + cache GET (`RateLimiter.check`, the one round trip) "
        f"| {us(script)} | {script / handler_p50:.0%} |",
        f"| click line (`ClickLog.record`: token_hex, json.dumps, write+flush) "
        f"| {us(click)} | {click / handler_p50:.0%} |",
        f"| `Redirects.resolve` (script + decode + click line) | {us(resolve)} "
        f"| {resolve / handler_p50:.0%} |",
        f"| reading the event and building the response (handler - resolve) "
        f"| {us(handler_p50 - resolve)} | {(handler_p50 - resolve) / handler_p50:.0%} |",
    ]
    profile = cProfile.Profile()
    with _devnull_stdout():
        profile.enable()
        for event in events[1_000:]:
            lambda_handler(event, context)
        profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(12)
    top = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(top) if "ncalls" in line), 0)
    lines += [
        "",
        f"cProfile of {len(events) - 1_000} handler calls, top functions by own time:",
        "",
        "```",
        *top[start : start + 13],
        "```",
    ]
    return lines
