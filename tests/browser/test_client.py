"""Two people in two headless Chromium windows use Relay through the browser client
against a real `relay run`: sign up with the emailed code, follow, post, like, comment,
chat (typing, receipts, unread counts), shorten; and every field that shows what a
person typed shows it as text, never as markup."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import boto3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import Browsers
from tests.support.accounts import bearer, relay_token
from tests.support.browser import PASSWORD, Browser
from tests.support.stack import Stack

# Browser sessions cost seconds each: one xdist worker runs them all, in order.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PIXEL = Path(__file__).with_name("pixel.png")
RUN = int(time.time() * 1000) % 1_000_000
ALICE = f"alice{RUN}"
BOB = f"bob{RUN}"
# Markup a careless client would run: each sets window.__xss (and its broken image,
# if it ever became an element, would log a console error too).
XSS = "<img src=x onerror=\"window.__xss='{}'\"><script>window.__xss='{}'</script>"
_fields = itertools.count()


def payload(field: str) -> str:
    return XSS.format(field, field) + f" #{next(_fields)}"


def signed_up(browsers: Browsers, stack: Stack, handle: str) -> Browser:
    browser = browsers[handle]
    if not browser.driver.find_elements(By.XPATH, "//button[normalize-space(.)='Sign out']"):
        browser.sign_up(stack.state_dir, f"{handle}@example.com", handle)
    return browser


def open_profile(browser: Browser, handle: str) -> None:
    browser.fill("Search", f"@{handle}")
    browser.field("Search").submit()
    browser.wait_text(f"@{handle}")


def drop_sockets(stack: Stack, handle: str) -> None:
    """Close every chat socket of `handle` through the @connections API, as API Gateway
    closes them (an idle or too-old connection)."""
    user_id = stack.http.get(f"/api/users/{handle}").json()["userId"]
    dynamodb = stack.client("dynamodb")
    table = next(name for name in dynamodb.list_tables()["TableNames"] if "ChatConnections" in name)
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"USER#{user_id}"}})["Item"]
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.ws_url().replace("ws://", "http://") + "dev",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for connection_id in item["connections"]["SS"]:
        management.delete_connection(ConnectionId=connection_id)


def test_two_people_sign_up_follow_post_like_and_chat(browsers: Browsers, stack: Stack) -> None:
    alice = signed_up(browsers, stack, ALICE)
    bob = signed_up(browsers, stack, BOB)

    # Every control a person reaches has the name DESIGN gives it.
    alice.go("#/feed")
    assert alice.field("New post").accessible_name == "New post"
    assert alice.button("Post").accessible_name == "Post"
    assert alice.field("Search").accessible_name == "Search"

    # Bob follows Alice from her profile.
    open_profile(bob, ALICE)
    bob.press("Follow")
    bob.wait(lambda: bob.button("Unfollow").get_attribute("aria-pressed") == "true")
    bob.wait_text("1 followers")

    # Alice posts; it reaches Bob's feed; Bob likes it and comments.
    alice.fill("New post", "Hello from the browser")
    alice.press("Post")
    alice.wait_text("Hello from the browser")
    bob.go("#/feed")

    def in_bobs_feed() -> bool:
        bob.press("Refresh")
        return "Hello from the browser" in bob.text()

    bob.wait(in_bobs_feed, what="Alice's post in Bob's feed")
    bob.press("Like")
    bob.wait_text("1 like")
    bob.press("Comments")
    bob.fill("Comment", "Nice one")
    bob.press("Reply")
    bob.wait_text("1 comment")
    bob.press("Share")
    bob.wait_text("1 share")

    # Alice sees the like and the comment counted on her post.
    alice.go(f"#/users/{ALICE}")
    alice.wait_text("1 like")
    alice.wait_text("1 comment")
    alice.wait_text("1 followers")

    # Alice starts a conversation from Bob's profile and writes.
    open_profile(alice, BOB)
    alice.press("Send a message")
    alice.fill("Message", "Hi Bob")
    alice.press("Send")
    alice.wait(lambda: "Sent" in alice.text() or "Read" in alice.text(), what="the ack")

    # Bob sees it unread in the nav and the list, opens it; Alice sees it read.
    bob.go("#/chat")
    bob.wait(lambda: bob.driver.find_element(By.ID, "chat-badge").text == "1", what="the badge")
    bob.press(f"{ALICE}, 1 unread, online")
    bob.wait_text("Hi Bob")
    alice.wait_text("Read")
    bob.wait(
        lambda: not bob.driver.find_element(By.ID, "chat-badge").is_displayed(), what="no badge"
    )

    # Typing shows on the other side, and a reply arrives live.
    bob.field("Message").send_keys("Hello")
    alice.wait_text(f"{BOB} is typing")
    bob.press("Send")
    alice.wait_text("Hello")
    assert alice.driver.find_element(By.CSS_SELECTOR, "[role=log]").text.count("Hello") == 1


def test_the_shortener_makes_lists_and_charts_a_link(browsers: Browsers, stack: Stack) -> None:
    alice = signed_up(browsers, stack, ALICE)
    alice.go("#/links")
    alice.fill("Long URL", "https://example.com/from-the-browser")
    alice.press("Shorten")
    alice.wait_text("https://example.com/from-the-browser")
    short = alice.driver.find_element(By.CSS_SELECTOR, ".links a.short").text
    code = short.rsplit("/", 1)[-1]
    stack.http.get(
        f"/{code}",
        headers={"Referer": "https://news.example/", "User-Agent": "Mozilla/5.0 (iPhone)"},
    )
    alice.press("Analytics")
    alice.wait_text(f"Analytics for {code}")

    def counted() -> bool:
        alice.press("Refresh")
        return "1 click" in alice.text()

    alice.wait(counted, timeout=30, what="the click counted")
    charts = alice.driver.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")
    assert len(charts) == 4
    assert "news.example: 1" in charts[1].get_attribute("aria-label")
    alice.press("← Links")
    alice.press(f"Delete {code}")
    alice.driver.switch_to.alert.accept()
    alice.wait(lambda: short not in alice.text(), what="the link gone")


def test_what_people_type_is_shown_as_text(browsers: Browsers, stack: Stack) -> None:
    alice = signed_up(browsers, stack, ALICE)
    bob = signed_up(browsers, stack, BOB)
    typed = {
        name: payload(name)
        for name in ("post", "comment", "message", "group", "name", "bio", "url")
    }

    alice.go("#/me")
    alice.fill("Display name", typed["name"][:50])
    alice.fill("Bio", typed["bio"])
    alice.press("Save")
    alice.wait_text(typed["bio"])

    alice.go("#/feed")
    alice.fill("New post", typed["post"])
    alice.press("Post")
    alice.wait_text(typed["post"])
    alice.press("Comments")
    alice.fill("Comment", typed["comment"])
    alice.press("Reply")
    alice.wait_text(typed["comment"])

    alice.go("#/chat")
    alice.driver.find_element(By.XPATH, "//summary[normalize-space(.)='New conversation']").click()
    alice.fill("Handles", BOB)
    alice.fill("Group name", typed["group"][:100])
    alice.press("Start")
    alice.fill("Message", typed["message"])
    alice.press("Send")
    alice.wait_text(typed["message"])

    alice.go("#/links")
    url = "https://example.com/?q=\"><img/src=x/onerror=window.__xss='url'>"  # no spaces in URLs
    alice.fill("Long URL", url)
    alice.press("Shorten")
    alice.wait_text(url)

    # Bob, the other reader, sees the same things as text.
    open_profile(bob, ALICE)
    bob.wait_text(typed["bio"])
    bob.wait_text(typed["post"])
    bob.go("#/chat")
    bob.wait_text(typed["group"][:100])

    for browser in (alice, bob):
        assert browser.driver.execute_script("return window.__xss") is None
        assert not browser.driver.find_elements(By.CSS_SELECTOR, "main img[src=x], main script")


def test_the_chat_reconnects_after_a_drop_and_syncs_what_it_missed(
    browsers: Browsers, stack: Stack
) -> None:
    alice = signed_up(browsers, stack, ALICE)
    bob = signed_up(browsers, stack, BOB)
    open_profile(alice, BOB)
    alice.press("Send a message")
    alice.field("Message")
    conversation = alice.driver.execute_script("return location.hash")
    bob.go(conversation)
    bob.field("Message")

    drop_sockets(stack, BOB)  # as API Gateway drops one: idle, too old, a deploy
    status = bob.driver.find_element(By.CSS_SELECTOR, ".connection")
    bob.wait(lambda: status.get_attribute("data-drops") == "1", what="the drop seen")
    alice.fill("Message", "While you were away")
    alice.press("Send")
    bob.wait_text("While you were away")  # the reconnect's sync, or the live frame after it
    log = bob.driver.find_element(By.CSS_SELECTOR, "[role=log]")
    assert log.text.count("While you were away") == 1
    assert "Offline" not in bob.text()

    # An attachment: previewed before sending, sent with the message, shown to both.
    alice.field("Attach files").send_keys(str(PIXEL))
    alice.wait(lambda: alice.driver.find_element(By.CSS_SELECTOR, ".picked img"), what="preview")
    alice.fill("Message", "A picture")
    alice.press("Send")
    alice.wait(lambda: alice.driver.find_element(By.CSS_SELECTOR, "li.mine img.preview"))
    bob.wait_text("A picture")
    bob.wait_text("Attachment att_")


def test_a_session_survives_a_reload_and_ends_at_sign_out(browsers: Browsers, stack: Stack) -> None:
    alice = signed_up(browsers, stack, ALICE)
    alice.open("#/links")
    alice.field("Long URL")  # still signed in: the refresh token gave a new access token
    alice.press("Sign out")
    alice.field("Email")
    alice.open("#/feed")
    alice.field("Email")  # a reload after sign-out asks again
    alice.fill("Email", f"{ALICE}@example.com")
    alice.fill("Password", PASSWORD)
    alice.press("Sign in")
    alice.field("New post")
    assert alice.driver.execute_script("return document.cookie") == ""


def test_history_loads_as_the_reader_scrolls_up(browsers: Browsers, stack: Stack) -> None:
    bob = signed_up(browsers, stack, BOB)
    carol = f"carol{RUN}"
    token = relay_token(stack, carol, "--state-dir", str(stack.state_dir))
    made = stack.http.post("/api/conversations", json={"members": [BOB]}, headers=bearer(token))
    conversation = made.json()["conversationId"]
    with stack.ws(f"token={token}") as socket:
        for index in range(40):  # more than the pane's first page of 30
            frame = {"action": "sendMessage", "conversationId": conversation}
            socket.send(json.dumps({**frame, "content": f"Line {index:02d}."}))
            while json.loads(socket.recv(timeout=10))["type"] != "ack":
                pass

    bob.go(f"#/chat/{conversation}")
    bob.wait_text("Line 39.")
    log = bob.driver.find_element(By.CSS_SELECTOR, "[role=log]")
    assert "Line 00." not in log.text
    top = "document.querySelector('.scroller').scrollTop = 0"

    def scrolled_to_the_first_line() -> bool:
        # Scrolled up again on each look, as a reader would: on a loaded machine the pane
        # may still be settling at the bottom when the first scroll comes.
        bob.driver.execute_script(top)
        return "Line 00." in log.text

    bob.wait(scrolled_to_the_first_line, what="the first page of history")
    lines = [line for line in log.text.splitlines() if line.startswith("Line ")]
    assert lines == [f"Line {index:02d}." for index in range(40)]


def test_the_socket_url_is_downgraded_only_for_the_local_stack(
    browsers: Browsers, stack: Stack
) -> None:
    page = browsers[ALICE]
    page.open("")
    script = """
    const done = arguments[arguments.length - 1];
    import("./js/config.js").then((m) => done([
      m.socketUrl("wss://127.0.0.1:3001/dev", "http:"),
      m.socketUrl("wss://localhost:3001/dev", "http:"),
      m.socketUrl("wss://abc.execute-api.eu-west-1.amazonaws.com/prod", "http:"),
      m.socketUrl("wss://127.0.0.1:3001/dev", "https:"),
    ]));
    """
    assert page.driver.execute_async_script(script) == [
        "ws://127.0.0.1:3001/dev",
        "ws://localhost:3001/dev",
        "wss://abc.execute-api.eu-west-1.amazonaws.com/prod",
        "wss://127.0.0.1:3001/dev",
    ]


def test_notifications_raise_the_badge_live_and_list_as_text(
    browsers: Browsers, stack: Stack
) -> None:
    alice = signed_up(browsers, stack, ALICE)
    alice.go("#/notifications")
    alice.wait_text("Notifications")
    alice.go("#/feed")
    badge = alice.driver.find_element(By.ID, "notification-badge")
    alice.wait(lambda: not badge.is_displayed(), what="nothing unread")
    alice.fill("New post", "Notify me")
    alice.press("Post")
    alice.wait_text("Notify me")

    # Dave, a new person, follows Alice, likes her post and comments on it. Each
    # reaches her inbox as a producer reports it, one event on the NotificationQueue
    # (the feed's actions do not publish theirs yet), and her page counts it live.
    dave = f"dave{RUN}"
    auth = bearer(relay_token(stack, dave, "--state-dir", str(stack.state_dir)))
    posts = stack.http.get(f"/api/users/{ALICE}/posts", headers=auth).json()["items"]
    post_id = next(post["postId"] for post in posts if post["content"] == "Notify me")
    alice_id = stack.http.get(f"/api/users/{ALICE}", headers=auth).json()["userId"]
    dave_id = stack.http.get(f"/api/users/{dave}", headers=auth).json()["userId"]
    sqs, queue = stack.client("sqs"), stack.queue_url("NotificationQueue")
    actions = [
        ("follow", f"user:{alice_id}", f"/api/users/{ALICE}/follow", None),
        ("like", f"post:{post_id}", f"/api/posts/{post_id}/like", None),
        ("comment", f"post:{post_id}", f"/api/posts/{post_id}/comments", {"content": "Heard"}),
    ]
    for step, (category, subject, route, body) in enumerate(actions, start=1):
        answer = stack.http.post(route, json=body, headers=auth)
        assert answer.status_code < 300, answer.text
        event = {
            "eventId": f"feed.{category}:{subject}:{dave_id}",
            "category": category,
            "recipients": [alice_id],
            "actorId": dave_id,
            "subject": subject,
        }
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
        alice.wait(lambda step=step: badge.text == str(step), what=f"the badge at {step}")
    assert badge.get_attribute("aria-label") == "3 unread"

    alice.press("Notifications 3")
    for text in ("followed you", "liked your post", "commented on your post"):
        alice.wait_text(f"{dave} {text}")
    alice.wait(lambda: not badge.is_displayed(), what="all read")
    assert alice.driver.execute_script("return window.__xss") is None


def test_search_suggests_as_one_types_and_the_keyboard_picks(
    browsers: Browsers, stack: Stack
) -> None:
    alice = signed_up(browsers, stack, ALICE)
    erin = f"erin{RUN}"
    auth = bearer(relay_token(stack, erin, "--state-dir", str(stack.state_dir)))
    name = payload("suggestion")[:50]
    changed = stack.http.patch("/api/me", json={"displayName": name}, headers=auth)
    assert changed.status_code == 200, changed.text

    def indexed() -> bool:  # the index is fed from the accounts' events, through a queue
        found = stack.http.get("/api/suggest", params={"q": erin[:6]}, headers=auth).json()
        return any(item.get("displayName") == name for item in found["items"])

    alice.wait(indexed, what="Erin's new name in the index")

    alice.go("#/feed")
    search = alice.field("Search")
    assert search.get_attribute("role") == "combobox"
    search.clear()
    search.send_keys(erin[:6])
    listbox = alice.driver.find_element(By.ID, search.get_attribute("aria-controls"))
    assert listbox.get_attribute("role") == "listbox"
    alice.wait(lambda: f"@{erin}" in listbox.text, what="Erin suggested")
    assert search.get_attribute("aria-expanded") == "true"
    options = listbox.find_elements(By.CSS_SELECTOR, "[role=option]")
    place = next(at for at, option in enumerate(options) if f"@{erin}" in option.text)
    # The payload is her name, shown as text in the option.
    assert name in options[place].get_attribute("textContent")
    for _ in range(place + 1):
        search.send_keys(Keys.ARROW_DOWN)
    current = alice.driver.find_element(By.ID, search.get_attribute("aria-activedescendant"))
    assert f"@{erin}" in current.text and current.get_attribute("aria-selected") == "true"
    search.send_keys(Keys.ENTER)
    alice.wait(lambda: alice.driver.execute_script("return location.hash") == f"#/users/{erin}")
    alice.wait_text(f"@{erin}")
    assert search.get_attribute("aria-expanded") == "false"

    # Escape closes the list; Enter on free text shows the posts that match.
    words = f"lantern{RUN}"
    tag = f"glow{RUN}"
    content = f"A {words} post #{tag}"
    made = stack.http.post("/api/posts", json={"content": content}, headers=auth)
    assert made.status_code < 300, made.text

    def searchable() -> bool:
        found = stack.http.get("/api/search", params={"q": words, "type": "posts"}, headers=auth)
        return bool(found.json()["items"])

    alice.wait(searchable, what="the post in the index")
    search.send_keys(erin[:6])
    alice.wait(lambda: listbox.is_displayed(), what="the suggestions open")
    search.send_keys(Keys.ESCAPE)
    alice.wait(lambda: not listbox.is_displayed(), what="the suggestions closed")
    assert search.get_attribute("aria-expanded") == "false"
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(words, Keys.ENTER)
    alice.wait_text(content)

    # A hashtag picked from the list shows its posts too.
    def tagged() -> bool:
        found = stack.http.get("/api/suggest", params={"q": f"#{tag}"}, headers=auth).json()
        return any(item["kind"] == "hashtag" for item in found["items"])

    alice.wait(tagged, what="the hashtag in the index")
    alice.go("#/feed")
    search.send_keys(f"#{tag}")
    alice.wait(lambda: f"#{tag}" in listbox.text, what="the hashtag suggested")
    search.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
    alice.wait(lambda: "#/search/" in alice.driver.execute_script("return location.hash"))
    alice.wait_text(content)
    assert alice.driver.execute_script("return window.__xss") is None
    assert not alice.driver.find_elements(By.CSS_SELECTOR, "header img[src=x], header script")
