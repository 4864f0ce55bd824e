"""The browser client's tests: a real `relay run` and headless Chromium sessions.

Each session is a few seconds of start-up, so the module keeps its people's browsers
for all its tests, and xdist keeps every browser test in one group (one worker, one
after another). A test fails on any console error of any open browser, and every
failure leaves a screenshot of each browser in tests/browser/failures/ (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.browser import Browser, available
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
FAILURES = Path(__file__).with_name("failures")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium() -> None:
    if not available():
        message = (
            "Chromium and chromedriver are missing:"
            " `make test` installs them (tests/browser/install-chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, chromium: None) -> Iterator[Stack]:
    redis_url = os.environ["RELAY_E2E_REDIS_URL"]
    redis.Redis.from_url(redis_url).flushdb()
    running = Stack(
        ROOT, tmp_path_factory.mktemp("relay-browser-state"), env={"REDIS_URL": redis_url}
    )
    try:
        yield running
    finally:
        running.stop()


class Browsers:
    """The module's open browsers by name, started on first use."""

    def __init__(self, stack: Stack) -> None:
        self.base_url = f"http://127.0.0.1:{stack.info['http_port']}"
        self.open: dict[str, Browser] = {}

    def __getitem__(self, name: str) -> Browser:
        if name not in self.open:
            self.open[name] = Browser(self.base_url)
        return self.open[name]

    def quit(self) -> None:
        for browser in self.open.values():
            browser.quit()


@pytest.fixture(scope="module")
def browsers(stack: Stack) -> Iterator[Browsers]:
    running = Browsers(stack)
    try:
        yield running
    finally:
        running.quit()


@pytest.fixture(autouse=True)
def evidence(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: a screenshot of every browser when it failed; a failure when
    any browser logged a console error."""
    yield
    if "browsers" not in request.fixturenames:
        return
    running: Browsers = request.getfixturevalue("browsers")
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for name, browser in running.open.items():
            browser.screenshot(FAILURES / f"{request.node.name}-{name}.png")
    errors = {name: browser.console_errors() for name, browser in running.open.items()}
    errors = {name: found for name, found in errors.items() if found}
    if errors:
        for name, browser in running.open.items():
            browser.screenshot(FAILURES / f"{request.node.name}-{name}-console.png")
        pytest.fail(f"console errors: {errors}")
