"""The README's screenshots of the browser client: `python -m tests.browser.screenshots`.

Starts a `relay run` of its own (temporary state, the Redis of REDIS_URL or its own),
signs two people up through the app in headless Chromium (the tests' setup), fills
each screen with a little of everything and saves one phone-sized picture per screen
under docs/screenshots/.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from selenium.webdriver.common.by import By

from tests.support.browser import Browser
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as state:
        env = {"REDIS_URL": os.environ["REDIS_URL"]} if "REDIS_URL" in os.environ else {}
        stack = Stack(ROOT, Path(state), env=env)
        ada = bo = None
        try:
            base = f"http://127.0.0.1:{stack.info['http_port']}"
            ada, bo = Browser(base, 420, 860), Browser(base, 420, 860)
            ada.open("#/signup")
            ada.fill("Email", "ada@example.com")
            ada.fill("Handle", "ada")
            ada.screenshot(OUT / "sign-up.png")
            ada.sign_up(Path(state), "ada@example.com", "ada")
            bo.sign_up(Path(state), "ben@example.com", "ben")

            bo.fill("Search", "ada")
            bo.field("Search").submit()
            bo.press("Follow")
            bo.wait_text("1 followers")
            ada.fill("New post", "Shipping the browser client today. Plain modules, no build.")
            ada.press("Post")
            ada.wait_text("Shipping the browser client")
            bo.go("#/feed")
            bo.wait(lambda: bo.press("Refresh") or "Shipping" in bo.text(), what="the post")
            bo.press("Like")
            bo.press("Comments")
            bo.fill("Comment", "Looks great on a phone.")
            bo.press("Reply")
            bo.wait_text("1 comment")
            bo.screenshot(OUT / "feed.png")

            bo.go("#/users/ada")
            bo.wait_text("Shipping the browser client")
            bo.screenshot(OUT / "profile.png")

            bo.press("Send a message")
            bo.fill("Message", "Hi Ada! Lunch at noon?")
            bo.press("Send")
            ada.go("#/chat")
            ada.press("ben, 1 unread, online")
            ada.wait_text("Lunch at noon")
            ada.fill("Message", "Yes, see you there.")
            ada.press("Send")
            bo.wait_text("see you there")
            time.sleep(3.1)  # the app sends a typing frame at most every 3 s
            bo.field("Message").send_keys("On my way")
            ada.wait_text("ben is typing")
            ada.screenshot(OUT / "chat.png")
            ada.go("#/chat")
            ada.wait_text("New conversation")
            ada.screenshot(OUT / "conversations.png")

            ada.go("#/links")
            ada.fill("Long URL", "https://example.com/launch-notes")
            ada.press("Shorten")
            ada.wait_text("launch-notes")
            short = ada.driver.find_element(By.CSS_SELECTOR, ".links a.short").text
            code = short.rsplit("/", 1)[-1]
            ada.screenshot(OUT / "links.png")
            for referrer, agent in [
                ("https://news.example/", "Mozilla/5.0 (iPhone)"),
                ("https://news.example/", "Mozilla/5.0 (Windows NT 10.0)"),
                ("https://social.example/", "Mozilla/5.0 (Macintosh)"),
                ("", "Mozilla/5.0 (Linux; Android 14)"),
            ]:
                headers = {"User-Agent": agent, **({"Referer": referrer} if referrer else {})}
                stack.http.get(f"/{code}", headers=headers)
            ada.go(f"#/links/{code}")

            def counted() -> bool:
                ada.press("Refresh")
                return "4 clicks" in ada.text()

            ada.wait(counted, timeout=30, what="the clicks counted")
            ada.driver.set_window_size(420, 1500)
            ada.screenshot(OUT / "analytics.png")
        finally:
            for browser in (ada, bo):
                if browser is not None:
                    browser.quit()
            stack.stop()
    sys.stdout.write(f"screenshots in {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
