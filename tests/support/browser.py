"""Headless Chromium driven through selenium, as the browser tests, the bench and the
README's screenshots use it: Debian's /usr/bin/chromium and /usr/bin/chromedriver
(`make test` installs them with `tests/browser/install-chromium`).

Controls are found as a person with a screen reader finds them: by their accessible
name (a label's text, or the button's own), never by CSS classes. Every console
message at level SEVERE is an error the tests fail on.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "Correct-Horse-Battery-9"
WAIT_S = 30.0  # generous: a loaded two-core CI machine runs the stack and two browsers
SIGN_OUT = "//button[normalize-space(.)='Sign out']"


def available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which(CHROMEDRIVER) is not None


def _literal(text: str) -> str:
    """An XPath string literal for any text (quotes included)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


class Browser:
    """One headless Chromium window: one person's browser."""

    def __init__(self, base_url: str, width: int = 420, height: int = 860) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",  # root in CI containers
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            f"--window-size={width},{height}",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.base_url = base_url.rstrip("/")
        self.console: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- navigation
    def open(self, route: str = "") -> None:
        self.driver.get(f"{self.base_url}/app/{route}")

    def go(self, route: str) -> None:
        """Follow an in-app route (#/feed, #/chat/ID) without reloading the page."""
        self.driver.execute_script("location.hash = arguments[0]", route)

    def quit(self) -> None:
        self.driver.quit()

    # ---------------------------------------------------------------- finding
    def wait(self, probe: Any, timeout: float = WAIT_S, what: str = "") -> Any:
        def attempt(_: Any) -> Any:
            try:
                return probe()
            except (StaleElementReferenceException, WebDriverException):
                return None

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(attempt)
        except Exception as error:  # selenium's TimeoutException names nothing useful
            raise AssertionError(f"timed out waiting for {what or probe}") from error

    def _visible(self, xpath: str) -> WebElement | None:
        for element in self.driver.find_elements(By.XPATH, xpath):
            if element.is_displayed():
                return element
        return None

    def field(self, name: str) -> WebElement:
        """The visible input, textarea or select whose label reads `name`."""
        xpath = f"//label[normalize-space(.)={_literal(name)}]"

        def find() -> WebElement | None:
            for label in self.driver.find_elements(By.XPATH, xpath):
                target = label.get_attribute("for")
                if target:
                    control = self.driver.find_element(By.ID, target)
                    if control.is_displayed():
                        return control
            return None

        return self.wait(find, what=f"a field labelled {name!r}")  # type: ignore[no-any-return]

    def button(self, name: str) -> WebElement:
        """The visible, enabled button or link whose accessible name is `name`."""
        literal = _literal(name)
        named = f"@aria-label={literal} or (not(@aria-label) and normalize-space(.)={literal})"
        xpath = f"//button[{named}] | //a[{named}]"

        def find() -> WebElement | None:
            element = self._visible(xpath)
            return element if element is not None and element.is_enabled() else None

        return self.wait(find, what=f"a button named {name!r}")  # type: ignore[no-any-return]

    def fill(self, name: str, text: str) -> None:
        control = self.field(name)
        control.clear()
        control.send_keys(text)

    def press(self, name: str) -> None:
        self.button(name).click()

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_text(self, text: str, timeout: float = WAIT_S) -> None:
        self.wait(lambda: text in self.text(), timeout, what=f"{text!r} on the page")

    def status(self) -> str:
        return str(self.driver.find_element(By.ID, "status").text)

    # ---------------------------------------------------------------- evidence
    def console_errors(self) -> list[str]:
        """Console messages at level SEVERE since the last call (uncaught errors, failed
        loads, CSP refusals)."""
        logs = self.driver.get_log("browser")
        self.console.extend(logs)
        return [entry["message"] for entry in logs if entry.get("level") == "SEVERE"]

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))

    # ---------------------------------------------------------------- accounts
    def sign_up(self, state_dir: Path, email: str, handle: str) -> None:
        """Sign up through the app's own forms, with the code from the emailed file."""
        self.open("#/signup")
        self.fill("Email", email)
        self.fill("Password", PASSWORD)
        self.fill("Handle", handle)
        self.press("Sign up")
        self.fill("Code", emailed_code(state_dir, email))
        self.press("Confirm")
        self.wait(
            lambda: self._visible("//button[normalize-space(.)='Sign out']"), what="signed in"
        )


def emailed_code(state_dir: Path, email: str, timeout: float = WAIT_S) -> str:
    """The six-digit code in the newest email to `email` in the stack's outbox."""
    deadline = time.monotonic() + timeout
    while True:
        mails = sorted((state_dir / "outbox").glob(f"*{email}*"))
        if mails:
            body = mails[-1].read_text().split("\n\n", 1)[-1]
            found = re.search(r"\b(\d{6})\b", body)
            if found:
                return found.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no code emailed to {email}")
        time.sleep(0.05)  # another process writes the file: there is no event to wait on
