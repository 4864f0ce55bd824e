"""Part 4: the local stack against a same-work app, in the same run (DESIGN section 3).

- **Redirects.** `relay run` on template.yaml (redirect limit raised through
  `--parameter-overrides`, so every answer is the 301 path, checked) and a uvicorn
  app doing the same Redis work in the same way: the redirect's own rate-limit
  script with the cache GET inside, one round trip, then a 301. Sequential latency
  (blocks of 100 requests on one keep-alive connection, alternating between the
  two) and throughput under `wrk -t1 -c4` (alternating runs).
- **WebSocket echo.** `relay run` on the local stack's fixture template: a client
  sends a message, the function posts it back through `@connections` with boto3
  (over TLS, as on AWS), and the client times the round trip. Then two clients at
  once, so that a second execution environment starts during the measurement.
- **relay invoke.** A fresh `python -c "import boto3, redis"` beside `relay
  invoke Redirect -e events/redirect.json`, once with a `relay run` up (it is
  reused) and once without (it starts what it needs), alternating.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    REDIS_URL,
    ROOT,
    PartResult,
    Row,
    bench_env,
    flush_bench_db,
    median,
    percentile,
)

RELAY = str(Path(PYTHON).parent / "relay")
FIXTURES = ROOT / "tests" / "localstack" / "fixtures"
RAISED = [
    "RedirectLimitPerMinute=1000000000",
    "AnonymousShortenLimitPerMinute=1000000",
    "AnonymousReadLimitPerMinute=1000000",
]
BLOCK = 100
BLOCKS = 5
WRK_SECONDS = 10
ECHOES = 2000

# The same Redis work as the redirect's cache hit, served by uvicorn (httptools, uvloop).
_SAME_WORK = """
import sys, uvicorn, redis
from relay.platform.ratelimit import RateLimiter, rule
client = redis.Redis.from_url(sys.argv[2])
limiter = RateLimiter(client)
limit = rule("redirect-ip")

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    code = scope["path"].lstrip("/")
    decision = limiter.check([(limit, scope["client"][0])], also_get="link:" + code)
    status, _, _, url = decision.value.decode().split("|", 3)
    headers = [(b"location", url.encode()), (b"cache-control", b"private, max-age=60")]
    headers += [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]
    await send({"type": "http.response.start", "status": int(status), "headers": headers})
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
"""


# A constant answer served by uvicorn: beside a template function that answers a constant,
# what the gateway itself costs.
_HELLO = """
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"v1"})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
"""


class Running:
    """A `relay run` subprocess, its output collected, its stack.json read."""

    def __init__(self, cwd: Path, state: Path, *args: str, env: dict[str, str]) -> None:
        self.state = state
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                *(RELAY, "run", "--http-port", "0", "--ws-port", "0", "--cognito-port", "0"),
                *("--state-dir", str(state), *args),
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + 90
        while not any(line.startswith("Ready:") for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("relay run did not start:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.05)  # waiting on another process's output
        self.info: dict[str, Any] = json.loads((state / "stack.json").read_text())

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _keep_alive_latencies(port: int, path: str, count: int) -> tuple[list[float], set[int]]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    statuses: set[int] = set()
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.add(response.status)
    finally:
        connection.close()
    return latencies, statuses


def _wrk(url: str) -> tuple[float, str]:
    done = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{WRK_SECONDS}s", url],
        capture_output=True,
        text=True,
        check=False,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if rate is None:
        raise RuntimeError(f"wrk: {done.stdout} {done.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    return float(rate.group(1)), (f"{bad.group(1)} non-2xx/3xx" if bad else "all 2xx/3xx")


def _answers(port: int, path: str) -> bool:
    import http.client

    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except OSError:
        return False


def _wait_for(probe: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)  # waiting on other processes; there is no event to wait on


def _same_work_app(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([PYTHON, "-c", _SAME_WORK, str(port), REDIS_URL], env=env, cwd=ROOT)
    return process


def _redirects(result: PartResult) -> None:
    import httpx

    from bench.common import free_port

    flush_bench_db()
    env = bench_env(REDIS_URL=REDIS_URL)
    state = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    stack = Running(ROOT, state, "--parameter-overrides", *RAISED, env=env)
    app_port = free_port()
    app = _same_work_app(app_port, env)
    try:
        base = f"http://127.0.0.1:{stack.info['http_port']}"
        created = httpx.post(
            base + "/api/shorten", json={"longUrl": "https://example.com/bench/stack"}, timeout=30
        )
        code = created.json()["code"]
        first = httpx.get(f"{base}/{code}", timeout=30)
        if first.status_code != 301 or first.headers["ratelimit-limit"] != "1000000000":
            raise RuntimeError(f"not the 301 path: {first.status_code} {first.headers}")
        _wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{app_port}/{code}").status_code == 301, 30, "app"
        )

        # Sequential, alternating blocks on keep-alive connections.
        stack_ms: list[float] = []
        app_ms: list[float] = []
        statuses: set[int] = set()
        for _ in range(BLOCKS):
            latencies, seen = _keep_alive_latencies(stack.info["http_port"], f"/{code}", BLOCK)
            stack_ms += latencies
            statuses |= seen
            app_ms += _keep_alive_latencies(app_port, f"/{code}", BLOCK)[0]
        # Throughput, alternating runs.
        stack_rates: list[float] = []
        app_rates: list[float] = []
        notes: list[str] = []
        for _ in range(2):
            rate, note = _wrk(f"http://127.0.0.1:{app_port}/{code}")
            app_rates.append(rate)
            rate, note = _wrk(f"{base}/{code}")
            stack_rates.append(rate)
            notes.append(note)
        check = httpx.get(f"{base}/{code}", timeout=30)
        clicks = httpx.get(f"{base}/api/analytics/{code}", timeout=30).json().get("clicks")
    finally:
        stack.stop()
        app.terminate()
        app.wait(10)
        shutil.rmtree(state, ignore_errors=True)

    app_p50, stack_p50 = percentile(app_ms, 50), percentile(stack_ms, 50)
    app_p99, stack_p99 = percentile(app_ms, 99), percentile(stack_ms, 99)
    seq = f"{BLOCKS} alternating blocks of {BLOCK} on one keep-alive connection each"
    result.rows.append(
        Row(
            "stack",
            "redirect, sequential p50 (relay run / same-work uvicorn app)",
            f"{stack_p50:.3f} ms",
            f"{app_p50:.3f} ms",
            stack_p50 / app_p50,
            "<= 2x",
            "PASS" if stack_p50 / app_p50 <= 2 else "MISS",
            f"{seq}; statuses {sorted(statuses)}",
        )
    )
    result.rows.append(
        Row(
            "stack",
            "redirect, sequential p99",
            f"{stack_p99:.3f} ms",
            f"app p99 {app_p99:.3f} ms",
            None,
            "< 2 ms",
            "PASS" if stack_p99 < 2 else "MISS",
        )
    )
    stack_rate, app_rate = sum(stack_rates) / 2, sum(app_rates) / 2
    result.rows.append(
        Row(
            "stack",
            f"redirect throughput, wrk -t1 -c4 -d{WRK_SECONDS}s",
            f"{stack_rate:.0f} req/s",
            f"{app_rate:.0f} req/s",
            stack_rate / app_rate,
            ">= 0.5 of the app",
            "PASS" if stack_rate / app_rate >= 0.5 else "MISS",
            f"runs: relay {', '.join(f'{r:.0f}' for r in stack_rates)};"
            f" app {', '.join(f'{r:.0f}' for r in app_rates)}; relay answers: {notes[-1]},"
            f" 301 checked after ({check.status_code}); clicks counted {clicks}",
        )
    )


def _echo(result: PartResult) -> None:
    from websockets.sync.client import connect

    from bench.common import free_port

    project = Path(tempfile.mkdtemp(prefix="relay-bench-ws-"))
    shutil.copytree(FIXTURES, project / "p", ignore=shutil.ignore_patterns("__pycache__"))
    stack = Running(project / "p", project / "state", env=bench_env(REDIS_URL=REDIS_URL))
    url = f"ws://127.0.0.1:{stack.info['ws_ports']['WsApi']}/?token=good-bench"
    hello_port = free_port()
    hello = subprocess.Popen([PYTHON, "-c", _HELLO, str(hello_port)], env=bench_env(), cwd=ROOT)
    try:
        _wait_for(lambda: _answers(hello_port, "/"), 30, "the hello app")
        rounds: list[list[float]] = []
        with connect(url, open_timeout=30) as ws:
            for _ in range(200):  # warm: the worker, boto3's TLS connection to the gateway
                ws.send('{"action": "size"}')
                ws.recv(timeout=30)
            for _ in range(3):  # three rounds; the middle one is reported (a noisy machine)
                latencies: list[float] = []
                for _ in range(ECHOES):
                    started = time.perf_counter()
                    ws.send('{"action": "size"}')
                    ws.recv(timeout=30)
                    latencies.append((time.perf_counter() - started) * 1000)
                rounds.append(latencies)
        rounds.sort(key=lambda latencies: percentile(latencies, 99))
        single = rounds[1]
        round_p99s = ", ".join(f"{percentile(r, 99):.2f}" for r in rounds)
        # A second environment starts while one client's long message holds the first:
        # the other client's messages must not wait for the new one's import.
        cold_before = sum("-> Ws" in line and "cold" in line for line in stack.lines)
        pair: list[float] = []

        def slow_client() -> None:
            with connect(url, open_timeout=30) as ws:
                ws.send('{"action": "sleep", "ms": 100}')
                ws.recv(timeout=30)

        def quick_client() -> None:
            with connect(url, open_timeout=30) as ws:
                for _ in range(ECHOES // 4):
                    started = time.perf_counter()
                    ws.send('{"action": "size"}')
                    ws.recv(timeout=30)
                    pair.append((time.perf_counter() - started) * 1000)

        threads = [threading.Thread(target=slow_client), threading.Thread(target=quick_client)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.5)  # let the stack print the last invocation lines
        started_lines = [line for line in stack.lines if "-> Ws" in line and "cold" in line]
        inits = [
            float(m.group(1))
            for line in started_lines[cold_before:]
            if (m := re.search(r"init ([\d.]+) ms", line))
        ]
        fixed = f"http://127.0.0.1:{stack.info['http_port']}/echo/fixed"
        _wait_for(lambda: _answers(stack.info["http_port"], "/echo/fixed"), 60, "the function")
        constant_rates = [(_wrk(fixed)[0], _wrk(f"http://127.0.0.1:{hello_port}/")[0])]
        constant_rates.append((_wrk(fixed)[0], _wrk(f"http://127.0.0.1:{hello_port}/")[0]))
    finally:
        stack.stop()
        hello.terminate()
        hello.wait(10)
        shutil.rmtree(project, ignore_errors=True)
    relay_rate = sum(r for r, _ in constant_rates) / len(constant_rates)
    hello_rate = sum(h for _, h in constant_rates) / len(constant_rates)
    result.rows.append(
        Row(
            "stack",
            f"a function answering a constant, wrk -t1 -c4 -d{WRK_SECONDS}s (gateway cost)",
            f"{relay_rate:.0f} req/s",
            f"uvicorn constant app {hello_rate:.0f} req/s",
            relay_rate / hello_rate,
            "information",
            "",
            "the fixture's Fixed function through relay run, against a constant ASGI app",
        )
    )
    p99 = percentile(single, 99)
    result.rows.append(
        Row(
            "stack",
            f"WebSocket echo through @connections, one client (3 rounds of {ECHOES})",
            f"p99 {p99:.2f} ms",
            "",
            None,
            "p99 < 3 ms",
            "PASS" if p99 < 3 else "MISS",
            f"median round: p50 {percentile(single, 50):.2f} ms, max {max(single):.2f} ms;"
            f" p99 of the rounds {round_p99s} ms",
        )
    )
    slowest = max(pair)
    init = max(inits) if inits else 0.0
    result.rows.append(
        Row(
            "stack",
            "WebSocket echo while a second environment starts (a 100 ms message holds the first)",
            f"max {slowest:.1f} ms",
            f"the new environment's init {init:.0f} ms",
            None,
            "no message waits for a worker to start",
            "PASS" if inits and slowest < init else "MISS",
            f"{len(pair)} echoes, p50 {percentile(pair, 50):.2f} ms,"
            f" p99 {percentile(pair, 99):.2f} ms; environments started: {len(inits)}",
        )
    )


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.decode()[-500:]}")
    return elapsed


def _invoke(result: PartResult) -> None:
    flush_bench_db()
    env = bench_env(REDIS_URL=REDIS_URL)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    attached_state = Path(tempfile.mkdtemp(prefix="relay-bench-invoke-"))
    alone_state = Path(tempfile.mkdtemp(prefix="relay-bench-invoke-alone-"))
    floor_cmd = [PYTHON, "-c", "import boto3, redis"]
    redirect = [RELAY, "invoke", "Redirect", "-e", "events/redirect.json"]
    shorten = [RELAY, "invoke", "Shorten", "-e", "events/shorten.json"]
    # The link events/redirect.json follows, made by events/shorten.json, in both states.
    _timed([*shorten, "--state-dir", str(alone_state)], ROOT, env)
    stack = Running(ROOT, attached_state, env=env)
    try:
        _timed([*shorten, "--state-dir", str(attached_state)], ROOT, env)
        _timed([*redirect, "--state-dir", str(attached_state)], ROOT, env)  # warm it
        floors: list[float] = []
        attached: list[float] = []
        alone: list[float] = []
        for _ in range(9):
            floors.append(_timed(floor_cmd, ROOT, env))
            attached.append(_timed([*redirect, "--state-dir", str(attached_state)], ROOT, env))
            alone.append(_timed([*redirect, "--state-dir", str(alone_state)], ROOT, env))
    finally:
        stack.stop()
        shutil.rmtree(attached_state, ignore_errors=True)
        shutil.rmtree(alone_state, ignore_errors=True)
    floor = median(floors)
    for label, times in (("with relay run up (reused)", attached), ("without relay run", alone)):
        value = median(times)
        result.rows.append(
            Row(
                "stack",
                f"relay invoke Redirect -e events/redirect.json, {label}, median of 9",
                f"{value * 1000:.0f} ms",
                f'python -c "import boto3, redis" {floor * 1000:.0f} ms',
                value / floor,
                "<= 2x",
                "PASS" if value / floor <= 2 else "MISS",
                f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms",
            )
        )


def stack_ready() -> str | None:
    """None when `relay run` and wrk can be used, else why not."""
    if not Path(RELAY).exists():
        return f"{RELAY} is missing"
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt install wrk)"
    return None


def run() -> PartResult:
    result = PartResult("stack")
    why_not = stack_ready()
    if why_not:
        result.rows.append(Row("stack", "local stack", "not measured", note=why_not))
        return result
    _redirects(result)
    _echo(result)
    _invoke(result)
    return result
