"""Part 4: requests per second through the local stack (`relay run`), beside a hello-world.

One async httpx client per round at concurrency 16. The stack sees the client's
address as the source IP, and a redirect allows 600/min per IP (a burst of 600),
so redirect rounds stay under that: each round binds its client to another
loopback address (127.0.0.2, .3, ...). Shortening uses 50 users' tokens round-robin,
20 requests each, under the 100/min user limit. The baseline is a bare ASGI app
served by uvicorn with the stack's settings, driven the same way in the same run.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    PYTHON,
    REDIS_URL,
    ROOT,
    PartResult,
    Row,
    bench_env,
    flush_bench_db,
    free_port,
)

CONCURRENCY = 16
ROUNDS = 4
PER_ROUND = 500  # under the redirect burst of 600 per source IP
USERS = 50
SHORTEN_PER_USER = 6  # shortening is slow locally (moto); keeps the part under a minute

_HELLO = """
import socket, sys, uvicorn

async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(2048)
config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                        access_log=False, lifespan="off")
uvicorn.Server(config).run(sockets=[listener])
"""


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], limit_s: float) -> None:
    import httpx

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {limit_s} s")


def _stop(process: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# method, path, headers, body
Request = tuple[str, str, dict[str, str], str | None]


async def _drive(base: str, requests: list[Request], local: str) -> tuple[float, Counter[int]]:
    """Send the requests at concurrency 16 through one client; returns (req/s, statuses)."""
    import httpx

    transport = httpx.AsyncHTTPTransport(local_address=local)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[tuple[str, str, dict[str, str], str | None]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    async with httpx.AsyncClient(
        base_url=base, transport=transport, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                method, path, headers, body = queue.get_nowait()
                reply = await client.request(method, path, headers=headers, content=body)
                statuses[reply.status_code] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    return len(requests) / elapsed, statuses


def _rounds(base: str, make: list[Request]) -> tuple[float, Counter[int]]:
    total = Counter[int]()
    seconds = 0.0
    for round_ in range(ROUNDS):
        chunk = make[round_ * PER_ROUND : (round_ + 1) * PER_ROUND]
        rate, statuses = asyncio.run(_drive(base, chunk, f"127.0.0.{2 + round_}"))
        seconds += len(chunk) / rate
        total.update(statuses)
    return sum(total.values()) / seconds, total


def stack_ready() -> str | None:
    """None when `relay run` can be used, else why not."""
    relay = Path(PYTHON).parent / "relay"
    if not relay.exists():
        return f"{relay} is missing"
    done = subprocess.run(
        [str(relay), "run", "--help"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or "--http-port" not in done.stdout:
        return "`relay run --help` does not offer --http-port"
    return None


def run() -> PartResult:
    import httpx

    from relay_local.tokens import make_token

    result = PartResult("stack")
    why_not = stack_ready()
    if why_not:
        result.rows.append(Row("stack", "local stack req/s", "not measured", note=why_not))
        return result
    flush_bench_db()
    state = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    http_port, ws_port, hello_port = free_port(), free_port(), free_port()
    env = bench_env()
    env["REDIS_URL"] = REDIS_URL
    stack = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "relay"),
            "run",
            "--http-port",
            str(http_port),
            "--ws-port",
            str(ws_port),
            "--state-dir",
            str(state),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    hello = subprocess.Popen(
        [PYTHON, "-c", _HELLO, str(hello_port)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        hello_base = f"http://127.0.0.1:{hello_port}"
        _wait_until_serving(base + "/api/links", stack, 60)
        _wait_until_serving(hello_base, hello, 20)
        tokens = [make_token(state, f"bench-user-{i}", 3_600) for i in range(USERS)]
        first = httpx.post(
            base + "/api/shorten",
            json={"longUrl": "https://example.com/bench/stack"},
            headers={"Authorization": f"Bearer {tokens[0]}"},
            timeout=30,
        )
        if first.status_code not in (200, 201):
            raise RuntimeError(f"POST /api/shorten answered {first.status_code}: {first.text}")
        code = first.json()["code"]
        # Warm every worker the measured routes use (authorizer, shorten, redirect).
        httpx.get(f"{base}/{code}", timeout=30)

        count = ROUNDS * PER_ROUND
        redirect_requests: list[Request] = [("GET", f"/{code}", {}, None)] * count
        hello_requests: list[Request] = [("GET", "/", {}, None)] * count
        shorten_requests: list[Request] = [
            (
                "POST",
                "/api/shorten",
                {
                    "Authorization": f"Bearer {tokens[i % USERS]}",
                    "Content-Type": "application/json",
                },
                f'{{"longUrl": "https://example.com/bench/{i}"}}',
            )
            for i in range(USERS * SHORTEN_PER_USER)
        ]
        hello_rate, hello_statuses = _rounds(hello_base, hello_requests)
        redirect_rate, redirect_statuses = _rounds(base, redirect_requests)
        shorten_rate, shorten_statuses = asyncio.run(_drive(base, shorten_requests, "127.0.0.9"))
        hello_again, _ = _rounds(hello_base, hello_requests)
        baseline = (hello_rate + hello_again) / 2
    finally:
        _stop(stack, signal.SIGINT)
        _stop(hello, signal.SIGTERM)
        shutil.rmtree(state, ignore_errors=True)

    result.rows.append(
        Row(
            "stack",
            f"hello-world ASGI on uvicorn, GET / ({count} x2, c={CONCURRENCY})",
            f"{baseline:.0f} req/s",
            note=f"two passes: {hello_rate:.0f} and {hello_again:.0f}; "
            f"statuses {dict(hello_statuses)}",
        )
    )
    result.rows.append(
        Row(
            "stack",
            f"local stack GET /{{code}} ({count}, c={CONCURRENCY})",
            f"{redirect_rate:.0f} req/s",
            f"{baseline:.0f} req/s",
            redirect_rate / baseline,
            "information",
            "",
            f"statuses {dict(redirect_statuses)}",
        )
    )
    result.rows.append(
        Row(
            "stack",
            f"local stack POST /api/shorten ({len(shorten_requests)}, c={CONCURRENCY})",
            f"{shorten_rate:.0f} req/s",
            f"{baseline:.0f} req/s",
            shorten_rate / baseline,
            "information",
            "",
            f"{USERS} users' tokens round-robin; statuses {dict(shorten_statuses)}",
        )
    )
    return result
