"""Search end to end: `relay run` with the real template.yaml, people signed up through
its user pool, their events and posts reaching the index through the streams, and
suggestions, trending and search asked over HTTP. Each test has its own people."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.accounts import relay_token
from tests.support.stack import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis.Redis.from_url(os.environ["RELAY_E2E_REDIS_URL"]).flushdb()
    running = Stack(
        ROOT,
        tmp_path_factory.mktemp("relay-search-state"),
        env={"REDIS_URL": os.environ["RELAY_E2E_REDIS_URL"]},
    )
    try:
        yield running
    finally:
        running.stop()


class Person:
    def __init__(self, stack: Stack, handle: str) -> None:
        self.handle = handle
        self.http = stack.http
        token = relay_token(stack, handle, "--state-dir", str(stack.state_dir))
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self.headers, **kwargs)

    def named(self, name: str) -> None:
        done = self.call("PATCH", "/api/me", json={"displayName": name})
        assert done.status_code == 200, done.text

    def suggest(self, q: str, limit: int = 8) -> list[str]:
        got = self.call("GET", "/api/suggest", params={"q": q, "limit": limit})
        assert got.status_code == 200, got.text
        return [item["text"] for item in got.json()["items"]]

    def search(self, q: str, kind: str = "posts") -> list[dict[str, Any]]:
        got = self.call("GET", "/api/search", params={"q": q, "type": kind})
        assert got.status_code == 200, got.text
        return list(got.json()["items"])

    def post(self, content: str) -> str:
        made = self.call("POST", "/api/posts", json={"content": content})
        assert made.status_code == 201, made.text
        return str(made.json()["postId"])

    def follow(self, other: Person) -> None:
        done = self.call("POST", f"/api/users/{other.handle}/follow")
        assert done.status_code == 200, done.text


@pytest.fixture
def people(stack: Stack) -> Any:
    run = uuid.uuid4().hex[:5]

    def make(*names: str) -> list[Person]:
        return [Person(stack, f"{name}_{run}") for name in names]

    return make


def test_a_new_person_is_suggested_within_seconds_forgiving_case_accents_and_a_typo(people):
    (zoe, reader) = people("zoe", "reader")
    eventually(lambda: zoe.handle in reader.suggest(zoe.handle[:6]), what="the new handle")
    zoe.named("Zoë Quixotelle")
    for typed in ("quixotelle", "QUIXOTELLE", "Quíxotelle", "quixotele", "quixottelle"):

        def found(typed: str = typed) -> bool:
            return zoe.handle in reader.suggest(typed)

        eventually(found, what=typed)
    assert zoe.handle not in reader.suggest("zoa")


def test_two_people_see_their_own_ranking(people):
    popular, quiet, fan, stranger = people("vexa_popular", "vexa_quiet", "fan", "stranger")
    for n in range(3):
        popular.post(f"note {n}")
    eventually(
        lambda: stranger.suggest("vexa")[:2] == [popular.handle, quiet.handle],
        what="the popular one first",
    )
    fan.follow(quiet)
    fan.suggest("vexa")  # the first ask copies whom they follow
    assert fan.suggest("vexa")[:2] == [quiet.handle, popular.handle]
    assert stranger.suggest("vexa")[:2] == [popular.handle, quiet.handle]


def test_a_hashtag_many_people_use_now_is_trending(people):
    tag = "launch" + uuid.uuid4().hex[:6]
    crowd = people("p1", "p2", "p3", "p4")
    for person in crowd:
        person.post(f"Today! #{tag}")

    def trending() -> list[dict[str, Any]]:
        got = crowd[0].call("GET", "/api/trending")
        assert got.status_code == 200, got.text
        return [t for t in got.json()["items"] if t["text"] == tag]

    (trend,) = eventually(trending, what="the tag trending")
    assert trend["kind"] == "hashtag" and trend["people"] == 4
    assert tag in crowd[1].suggest("#" + tag[:8])


def test_post_search_finds_posts_and_a_deleted_post_disappears(people):
    (author, reader) = people("author", "reader")
    word = "zephyr" + uuid.uuid4().hex[:6]
    first = author.post(f"one {word}")
    second = author.post(f"two {word}")
    eventually(
        lambda: [p["postId"] for p in reader.search(word)] == [second, first],
        what="both posts, newest first",
    )
    gone = author.call("DELETE", f"/api/posts/{second}")
    assert gone.status_code == 204, gone.text
    assert [p["postId"] for p in reader.search(word)] == [first]
    assert [u["handle"] for u in reader.search(author.handle, "users")] == [author.handle]


def test_bad_input_is_a_400_in_designs_shape(people):
    (reader,) = people("reader")
    got = reader.call("GET", "/api/suggest", params={"q": "x" * 101})
    assert got.status_code == 400
    assert set(got.json()["error"]) == {"code", "message"}
    got = reader.call("GET", "/api/suggest", params={"q": "zo", "limit": 0})
    assert got.status_code == 400
