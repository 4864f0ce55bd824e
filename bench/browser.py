"""The browser client, measured in headless Chromium against a `relay run`:

- a chat message typed in one browser until it shows in the other's message pane
  (DESIGN: p99 < 100 ms through the local stack). The clock is the pages' own
  (`performance.timeOrigin + performance.now()`, one machine, so both share it): the
  start is the composer's submit in the sender's page, the end a MutationObserver
  seeing the message's element added in the reader's. Sequential, one in flight.
- the first load: every file the app's page fetched (the Resource Timing list, minus
  the API's own answers), gzipped at level 6 as CloudFront compresses them
  (the local stack serves them uncompressed). DESIGN: under 150 KB.

Needs Debian's chromium and chromium-driver (`make browsers`).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chat import RAISED
from bench.common import REDIS_URL, ROOT, PartResult, Row, bench_env, median, percentile
from bench.stack import RELAY, Running

MESSAGES = 200
WARMUP = 10
BUDGET_BYTES = 150 * 1024

_WATCH = """
window.__arrivals = {};
const log = document.querySelector("[role=log]");
new MutationObserver((changes) => {
  const at = performance.timeOrigin + performance.now();
  for (const change of changes) for (const node of change.addedNodes) {
    const text = node.querySelector && node.querySelector(".content");
    if (text && !(text.textContent in window.__arrivals)) window.__arrivals[text.textContent] = at;
  }
}).observe(log, {childList: true});
"""

_SEND = """
const box = document.querySelector("textarea[name=message]");
box.value = arguments[0];
const at = performance.timeOrigin + performance.now();
box.form.requestSubmit();
return at;
"""


def _sign_up(browser: Any, state: Path, handle: str) -> None:
    browser.sign_up(state, f"{handle}@example.com", handle)


def _token(state: Path, handle: str) -> str:
    made = subprocess.run(
        [RELAY, "token", handle, "--state-dir", str(state)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return made.stdout.strip()


def _sockets(stack: Running, state: Path) -> list[float]:
    """The same 1:1 delivery between two Python WebSocket clients: the floor."""
    import httpx
    from websockets.sync.client import connect

    port = next(iter(stack.info["ws_ports"].values()))
    tokens = {handle: _token(state, handle) for handle in ("floorsend", "floorread")}
    conversation = httpx.post(
        f"http://127.0.0.1:{stack.info['http_port']}/api/conversations",
        json={"members": ["floorread"]},
        headers={"Authorization": f"Bearer {tokens['floorsend']}"},
    ).json()["conversationId"]
    seconds: list[float] = []
    with (
        connect(f"ws://127.0.0.1:{port}/?token={tokens['floorsend']}") as sender,
        connect(f"ws://127.0.0.1:{port}/?token={tokens['floorread']}") as reader,
    ):
        for index in range(WARMUP + MESSAGES):
            frame = {"action": "sendMessage", "conversationId": conversation, "content": "m"}
            start = time.perf_counter()
            sender.send(json.dumps(frame))
            while json.loads(reader.recv(timeout=10))["type"] != "message":
                pass
            if index >= WARMUP:
                seconds.append(time.perf_counter() - start)
            while json.loads(sender.recv(timeout=10))["type"] != "ack":
                pass
    return seconds


def _delivery(alice: Any, bob: Any) -> list[float]:
    bob.driver.execute_script(_WATCH)
    seconds: list[float] = []
    for index in range(WARMUP + MESSAGES):
        text = f"bench message {index}"
        sent = float(alice.driver.execute_script(_SEND, text))
        arrived = bob.wait(
            lambda text=text: bob.driver.execute_script(
                "return window.__arrivals[arguments[0]]", text
            ),
            what=text,
        )
        if index >= WARMUP:
            seconds.append((float(arrived) - sent) / 1000)
    return seconds


def _first_load(browser: Any, base: str) -> tuple[int, int, int]:
    import httpx

    browser.open("")
    browser.field("Email")
    urls = browser.driver.execute_script(
        "return [location.href.split('#')[0],"
        " ...performance.getEntriesByType('resource').map((e) => e.name)]"
    )
    files = sorted({url for url in urls if "/app/" in url})
    raw = packed = 0
    for url in files:
        body = httpx.get(url).content
        raw += len(body)
        packed += len(gzip.compress(body, 6))
    return len(files), raw, packed


def run() -> PartResult:
    from tests.support.browser import Browser, available

    if not available():
        raise RuntimeError("the browser bench needs /usr/bin/chromium and chromedriver")
    result = PartResult("browser")
    with tempfile.TemporaryDirectory(prefix="relay-bench-browser-") as tmp:
        state = Path(tmp) / "state"
        os.environ["REDIS_URL"] = REDIS_URL
        # The chat's per-connection limit (120 a minute) would refuse a run this long.
        overrides = ("--parameter-overrides", *RAISED)
        stack = Running(ROOT, state, *overrides, env=bench_env(REDIS_URL=REDIS_URL))
        alice = bob = None
        try:
            base = f"http://127.0.0.1:{stack.info['http_port']}"
            alice, bob = Browser(base), Browser(base)
            count, raw, packed = _first_load(alice, base)
            _sign_up(alice, state, "benchalice")
            _sign_up(bob, state, "benchbob")
            bob.go("#/users/benchalice")
            bob.press("Send a message")
            bob.field("Message")
            alice.go(bob.driver.execute_script("return location.hash"))
            alice.field("Message")
            seconds = _delivery(bob, alice)
            alice.quit()
            bob.quit()
            alice = bob = None
            # The floor, in the same run on the same stack: two Python WebSocket
            # clients, the chat bench's 1:1 measurement (no browser, no rendering).
            floor = _sockets(stack, state)
        finally:
            for browser in (alice, bob):
                if browser is not None:
                    browser.quit()
            stack.stop()
    p99 = percentile(seconds, 99)
    result.rows += [
        Row(
            "browser",
            "message typed in one browser, shown in the other, p50",
            f"{median(seconds) * 1000:.1f} ms",
            floor=f"{median(floor) * 1000:.1f} ms socket to socket",
            ratio=median(seconds) / median(floor),
            note=f"{MESSAGES} messages, one in flight, headless Chromium, local stack",
        ),
        Row(
            "browser",
            "message typed in one browser, shown in the other, p99",
            f"{p99 * 1000:.1f} ms",
            floor=f"{percentile(floor, 99) * 1000:.1f} ms socket to socket",
            ratio=p99 / percentile(floor, 99),
            target="< 100 ms",
            verdict="PASS" if p99 < 0.100 else "MISS",
        ),
        Row(
            "browser",
            "first load, gzipped",
            f"{packed / 1024:.1f} KB",
            floor=f"{raw / 1024:.1f} KB raw",
            target="< 150 KB",
            verdict="PASS" if packed < BUDGET_BYTES else "MISS",
            note=f"{count} files: the page, its stylesheet, icon and every module",
        ),
    ]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    result.details.append(
        f"Load average when the browser rows were taken: {load} (1, 5, 15 min) on "
        f"{os.cpu_count()} CPUs. The p99 of both rows follows the machine's load: the "
        "browsers, the stack's gateway, its function workers and Redis share the cores."
    )
    result.details.append(
        "The browser rows: the send is the composer's submit in the sender's page and the "
        "arrival a MutationObserver in the reader's (both pages' clocks, one machine); the "
        "path is the page's WebSocket, the local gateway, ChatMessage on a warm worker, "
        "the @connections call and the reader's socket, then the app's own rendering."
    )
    return result
