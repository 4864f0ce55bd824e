"""The social feed end to end: `relay run` with the real template.yaml (a celebrity
threshold of 3 followers), spoken to over HTTP by several users, one test per numbered
point of the feed's issue. Each test has its own users, so the tests share one stack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
import redis

from tests.support.accounts import relay_token
from tests.support.stack import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 3

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def cache() -> redis.Redis:
    client = redis.Redis.from_url(os.environ["RELAY_E2E_REDIS_URL"], decode_responses=True)
    client.flushdb()
    return client


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, cache: redis.Redis) -> Iterator[Stack]:
    running = Stack(
        ROOT,
        tmp_path_factory.mktemp("relay-feed-state"),
        "--parameter-overrides",
        f"CelebrityThreshold={THRESHOLD}",
        env={"REDIS_URL": os.environ["RELAY_E2E_REDIS_URL"]},
    )
    try:
        yield running
    finally:
        running.stop()


class User:
    """One signed-in person speaking to the stack: signed up through the stack's user
    pool by `relay token` (so their profile exists), named by `handle` in paths, and
    stored under `id`, their token's sub."""

    def __init__(self, stack: Stack, handle: str) -> None:
        self.handle = handle
        self.http = stack.http
        # The state dir named: the feed's and the chat's stacks may run at once.
        token = relay_token(stack, handle, "--state-dir", str(stack.state_dir))
        self.headers = {"Authorization": f"Bearer {token}"}
        me = self.call("GET", f"/api/users/{handle}")
        assert me.status_code == 200, me.text
        self.id = str(me.json()["userId"])

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self.headers, **kwargs)

    def post(self, content: str) -> str:
        made = self.call("POST", "/api/posts", json={"content": content})
        assert made.status_code == 201, made.text
        return str(made.json()["postId"])

    def follow(self, other: User) -> dict[str, Any]:
        done = self.call("POST", f"/api/users/{other.handle}/follow")
        assert done.status_code == 200, done.text
        return dict(done.json())

    def feed(self, **params: Any) -> dict[str, Any]:
        page = self.call("GET", "/api/feed", params=params)
        assert page.status_code == 200, page.text
        return dict(page.json())

    def feed_ids(self, **params: Any) -> list[str]:
        return [item["postId"] for item in self.feed(**params)["items"]]


@pytest.fixture
def users(stack: Stack) -> Any:
    run = uuid.uuid4().hex[:6]

    def make(*names: str) -> list[User]:
        return [User(stack, f"{name}_{run}") for name in names]

    return make


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]  # type: ignore[no-any-return]


def test_a_post_reaches_its_authors_followers_within_seconds_and_no_one_else(users):
    alice, bob, carol, dave = users("alice", "bob", "carol", "dave")
    bob.follow(alice)
    carol.follow(alice)
    for reader in (bob, carol, dave):
        assert reader.feed()["items"] == []  # their timelines are cached (and empty) now

    post_id = alice.post("hello from alice")

    for reader in (bob, carol):
        eventually(
            lambda reader=reader: reader.feed_ids()[:1] == [post_id],
            timeout=10,
            what=f"alice's post in {reader.id}'s feed",
        )
    top = bob.feed()["items"][0]
    assert top["authorId"] == alice.id and top["content"] == "hello from alice"
    assert top["authorHandle"] == alice.handle
    assert post_id not in dave.feed_ids()


def test_a_celebrity_post_is_pulled_at_read_time_merged_in_order_once(users, cache):
    star, plain, reader, fan2, fan3 = users("star", "plain", "reader", "fan2", "fan3")
    for fan in (reader, fan2, fan3):
        fan.follow(star)
    reader.follow(plain)
    assert reader.feed()["items"] == []

    first = plain.post("plain one")
    eventually(lambda: reader.feed_ids() == [first], what="the ordinary post, pushed")
    celebrity = star.post("star post")
    last = plain.post("plain two")
    eventually(lambda: reader.feed_ids()[:1] == [last], what="the second ordinary post")

    assert reader.feed_ids() == [last, celebrity, first]
    # Pulled, not pushed: the star's post is in no cached timeline.
    assert cache.zscore(f"feed:tl:{reader.id}", celebrity) is None
    assert cache.zscore(f"feed:tl:{reader.id}", last) == 0
    assert celebrity in fan2.feed_ids() and celebrity in fan3.feed_ids()


def test_likes_comments_and_shares_are_counted_once_and_a_share_reaches_the_sharers_followers(
    users,
):
    alice, bob, carol = users("alice", "bob", "carol")
    carol.follow(bob)
    post_id = alice.post("count me")

    first = bob.call("POST", f"/api/posts/{post_id}/like")
    again = bob.call("POST", f"/api/posts/{post_id}/like")
    commented = carol.call("POST", f"/api/posts/{post_id}/comments", json={"content": "nice"})
    shared = bob.call("POST", f"/api/posts/{post_id}/share")

    assert first.status_code == again.status_code == 200
    assert again.json()["likes"] == 1 and again.json()["likedByMe"] is True
    assert commented.status_code == 201 and commented.json()["content"] == "nice"
    assert shared.status_code == 201 and shared.json()["sharedFrom"] == post_id
    seen = alice.call("GET", f"/api/posts/{post_id}").json()
    assert (seen["likes"], seen["comments"], seen["shares"], seen["likedByMe"]) == (1, 1, 1, False)
    comments = alice.call("GET", f"/api/posts/{post_id}/comments").json()
    assert [(c["content"], c["authorHandle"]) for c in comments["items"]] == [
        ("nice", carol.handle)
    ]
    assert bob.call("GET", f"/api/users/{bob.handle}").json() == {
        "userId": bob.id,
        "handle": bob.handle,
        "displayName": ANY,
        "bio": "",
        "avatarUrl": None,
        "createdAt": ANY,
        "followers": 1,
        "following": 0,
        "posts": 1,
        "followedByMe": False,
    }
    assert carol.call("GET", f"/api/users/{bob.handle}").json()["followedByMe"] is True
    assert alice.call("GET", f"/api/users/{alice.handle}").json()["posts"] == 1
    share_id = shared.json()["postId"]
    eventually(lambda: carol.feed_ids()[:1] == [share_id], what="the share in carol's feed")
    assert carol.feed()["items"][0]["sharedFrom"] == post_id

    unliked = bob.call("DELETE", f"/api/posts/{post_id}/like").json()
    assert (unliked["likes"], unliked["likedByMe"]) == (0, False)
    assert bob.call("DELETE", f"/api/posts/{share_id}").status_code == 204
    assert alice.call("GET", f"/api/posts/{post_id}").json()["shares"] == 0
    assert bob.call("GET", f"/api/users/{bob.handle}").json()["posts"] == 0


def test_pages_have_no_gaps_or_repeats_while_posts_arrive_and_top_ranks_engagement(users):
    author, reader = users("author", "reader")
    reader.follow(author)
    assert reader.feed()["items"] == []
    written = [author.post(f"post {n}") for n in range(7)]
    eventually(lambda: reader.feed_ids(limit=1) == [written[-1]], what="the newest post")

    seen: list[str] = []
    page = reader.feed(limit=3)
    while True:
        seen += [item["postId"] for item in page["items"]]
        author.post("arriving while paging")
        if page["nextCursor"] is None:
            break
        page = reader.feed(limit=3, cursor=page["nextCursor"])

    assert seen == written[::-1]

    eventually(lambda: len(reader.feed_ids(limit=50)) == 10, what="the posts that arrived")
    liked = written[2]
    assert reader.call("POST", f"/api/posts/{liked}/like").status_code == 200
    top = reader.feed(rank="top", limit=5)
    rest = reader.feed(rank="top", limit=5, cursor=top["nextCursor"])
    ranked = [i["postId"] for i in top["items"]] + [i["postId"] for i in rest["items"]]
    assert ranked[0] == liked
    assert len(ranked) == len(set(ranked)) == 10 and rest["nextCursor"] is None


def test_unfollowed_and_deleted_posts_leave_the_feed_and_comments_go_with_the_post(users):
    alice, bob, carol = users("alice", "bob", "carol")
    carol.follow(alice)
    carol.follow(bob)
    assert carol.feed()["items"] == []
    kept = alice.post("kept")
    deleted = alice.post("deleted")
    from_bob = bob.post("bob's")
    eventually(lambda: len(carol.feed_ids()) == 3, what="three posts in carol's feed")
    assert (
        bob.call("POST", f"/api/posts/{deleted}/comments", json={"content": "x"}).status_code == 201
    )

    unfollowed = carol.call("DELETE", f"/api/users/{bob.handle}/follow")
    assert unfollowed.json()["followedByMe"] is False
    assert alice.call("DELETE", f"/api/posts/{deleted}").status_code == 204

    assert carol.feed_ids() == [kept]
    assert from_bob not in carol.feed_ids()
    assert alice.call("GET", f"/api/posts/{deleted}").status_code == 404
    assert alice.call("GET", f"/api/posts/{deleted}/comments").status_code == 404
    assert alice.call("GET", f"/api/users/{alice.handle}").json()["posts"] == 1


def test_a_feed_that_is_gone_from_the_cache_is_rebuilt_whole_and_cached_again(users, cache):
    alice, bob = users("alice", "bob")
    bob.follow(alice)
    older = alice.post("before the flush")
    eventually(lambda: bob.feed_ids() == [older], what="the first post")

    cache.delete(f"feed:tl:{bob.id}")  # evicted, or expired while bob was away
    newer = alice.post("while bob was away")  # fan-out skips a timeline that is not cached
    assert bob.feed_ids() == [newer, older]
    assert cache.exists(f"feed:tl:{bob.id}")

    cache.flushdb()
    assert bob.feed_ids() == [newer, older]
    assert cache.zscore(f"feed:tl:{bob.id}", newer) == 0


def test_bad_input_gets_designs_errors(users, stack):
    alice, bob = users("alice", "bob")
    post_id = alice.post("mine")
    gone = alice.post("gone")
    assert alice.call("DELETE", f"/api/posts/{gone}").status_code == 204

    empty = alice.call("POST", "/api/posts", json={"content": "   "})
    oversized = alice.call("POST", "/api/posts", json={"content": "x" * 2001})
    self_follow = alice.call("POST", f"/api/users/{alice.handle}/follow")
    shouted = alice.call("POST", f"/api/users/{alice.handle.upper()}/follow")
    unknown = alice.call("POST", "/api/users/nobody_has_this/follow")
    malformed = alice.call("GET", "/api/users/bob%E2%80%8B")  # bob + a zero-width space
    like_gone = bob.call("POST", f"/api/posts/{gone}/like")
    bad_cursor = alice.call("GET", "/api/feed", params={"cursor": "not-a-cursor"})
    not_mine = bob.call("DELETE", f"/api/posts/{post_id}")
    no_token = stack.http.get("/api/feed")
    wrong_shape = alice.call("POST", "/api/posts", json={"text": "hi"})

    assert (empty.status_code, error_of(empty)["code"]) == (400, "empty_content")
    assert (oversized.status_code, error_of(oversized)["code"]) == (413, "content_too_long")
    assert (self_follow.status_code, error_of(self_follow)["code"]) == (400, "cannot_follow_self")
    assert (shouted.status_code, error_of(shouted)["code"]) == (400, "cannot_follow_self")
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "user_not_found")
    assert (malformed.status_code, error_of(malformed)["code"]) == (400, "invalid_handle")
    assert (like_gone.status_code, error_of(like_gone)["code"]) == (404, "not_found")
    assert (bad_cursor.status_code, error_of(bad_cursor)["code"]) == (400, "invalid_cursor")
    assert (not_mine.status_code, error_of(not_mine)["code"]) == (403, "forbidden")
    # Sign-in required: API Gateway's JWT authorizer answers, in its own words.
    assert (no_token.status_code, no_token.json()) == (401, {"message": "Unauthorized"})
    assert wrong_shape.status_code == 400 and "content" in error_of(wrong_shape)["message"]
    assert alice.call("GET", f"/api/posts/{post_id}").status_code == 200


def test_the_same_request_twenty_times_at_once_counts_once(users, stack):
    from concurrent.futures import ThreadPoolExecutor

    alice, bob = users("alice", "bob")
    post_id = alice.post("liked in a hurry")

    def twenty(method: str, path: str) -> set[int]:
        def once(_: int) -> int:
            with httpx.Client(base_url=stack.http.base_url, timeout=30) as client:
                return client.request(method, path, headers=bob.headers).status_code

        with ThreadPoolExecutor(20) as pool:
            return set(pool.map(once, range(20)))

    assert twenty("POST", f"/api/posts/{post_id}/like") == {200}
    assert alice.call("GET", f"/api/posts/{post_id}").json()["likes"] == 1
    assert twenty("POST", f"/api/users/{alice.handle}/follow") == {200}
    assert alice.call("GET", f"/api/users/{alice.handle}").json()["followers"] == 1
    assert twenty("DELETE", f"/api/users/{alice.handle}/follow") == {200}
    assert bob.call("GET", f"/api/users/{bob.handle}").json()["following"] == 0
    assert twenty("DELETE", f"/api/posts/{post_id}/like") == {200}
    assert alice.call("GET", f"/api/posts/{post_id}").json()["likes"] == 0


def test_anyone_may_read_a_profile_and_its_posts_and_signed_in_readers_see_their_follow(
    users, stack
):
    alice, bob = users("alice", "bob")
    bob.follow(alice)
    post_id = alice.post("for everyone")

    anonymous = stack.http.get(f"/api/users/{alice.handle}")
    signed_in = bob.call("GET", f"/api/users/{alice.handle}")
    posts = stack.http.get(f"/api/users/{alice.handle}/posts")

    assert anonymous.status_code == 200, anonymous.text
    assert (anonymous.json()["followers"], anonymous.json()["followedByMe"]) == (1, False)
    assert signed_in.json()["followedByMe"] is True
    assert posts.status_code == 200, posts.text
    assert [(p["postId"], p["authorHandle"], p["likedByMe"]) for p in posts.json()["items"]] == [
        (post_id, alice.handle, False)
    ]
    assert stack.http.post(f"/api/users/{alice.handle}/follow").status_code == 401


def test_a_post_is_shared_once_per_person_undone_and_gone_with_its_post(users):
    alice, bob, carol, reader = users("alice", "bob", "carol", "reader")
    reader.follow(bob)
    post_id = alice.post("share this once")
    path = f"/api/posts/{post_id}/share"

    first = bob.call("POST", path)
    again = bob.call("POST", path)
    with ThreadPoolExecutor(max_workers=6) as pool:
        at_once = list(pool.map(lambda _: carol.call("POST", path), range(6)))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["postId"] == first.json()["postId"]
    assert sorted(r.status_code for r in at_once) == [200] * 5 + [201]
    assert len({r.json()["postId"] for r in at_once}) == 1
    assert alice.call("GET", f"/api/posts/{post_id}").json()["shares"] == 2
    assert carol.call("DELETE", path).status_code == 204
    assert error_of(carol.call("DELETE", path))["code"] == "not_shared"
    assert alice.call("GET", f"/api/posts/{post_id}").json()["shares"] == 1
    share_id = first.json()["postId"]
    eventually(lambda: reader.feed_ids() == [share_id], what="bob's share in reader's feed")

    assert alice.call("DELETE", f"/api/posts/{post_id}").status_code == 204

    assert reader.feed_ids() == []  # no text through the share, at once
    assert bob.call("GET", f"/api/posts/{share_id}").status_code == 404
    eventually(
        lambda: bob.call("GET", f"/api/users/{bob.handle}").json()["posts"] == 0,
        what="the share deleted with its post",
    )


def test_an_edited_post_reads_edited_everywhere_and_comments_go_by_their_authors(users):
    alice, bob, carol = users("alice", "bob", "carol")
    bob.follow(alice)
    post_id = alice.post("teh first draft")
    eventually(lambda: bob.feed_ids() == [post_id], what="alice's post in bob's feed")
    assert bob.feed()["items"][0]["editedAt"] is None

    edited = alice.call("PATCH", f"/api/posts/{post_id}", json={"content": "the first draft"})
    refused = bob.call("PATCH", f"/api/posts/{post_id}", json={"content": "mine now"})
    empty = alice.call("PATCH", f"/api/posts/{post_id}", json={})

    assert edited.status_code == 200 and edited.json()["editedAt"] is not None
    assert (refused.status_code, empty.status_code) == (403, 400)
    (item,) = bob.feed()["items"]
    assert (item["content"], item["editedAt"]) == ("the first draft", edited.json()["editedAt"])

    made = carol.call("POST", f"/api/posts/{post_id}/comments", json={"content": "typo!"})
    comment_path = f"/api/posts/{post_id}/comments/{made.json()['commentId']}"
    assert error_of(bob.call("DELETE", comment_path))["code"] == "forbidden"
    assert alice.call("DELETE", comment_path).status_code == 204
    assert alice.call("DELETE", comment_path).status_code == 404
    assert alice.call("GET", f"/api/posts/{post_id}").json()["comments"] == 0


def test_followers_following_and_likers_are_listed_by_handle_a_page_at_a_time(users):
    alice, bob, carol = users("alice", "bob", "carol")
    bob.follow(alice)
    carol.follow(alice)
    post_id = alice.post("like me")
    assert bob.call("POST", f"/api/posts/{post_id}/like").status_code == 200

    first = alice.call("GET", f"/api/users/{alice.handle}/followers", params={"limit": 1})
    rest = alice.call(
        "GET",
        f"/api/users/{alice.handle}/followers",
        params={"limit": 1, "cursor": first.json()["nextCursor"]},
    )
    following = bob.call("GET", f"/api/users/{bob.handle}/following").json()
    likers = alice.call("GET", f"/api/posts/{post_id}/likes").json()
    wrong = alice.call(
        "GET", f"/api/posts/{post_id}/likes", params={"cursor": first.json()["nextCursor"]}
    )

    handles = {item["handle"] for item in first.json()["items"] + rest.json()["items"]}
    assert handles == {bob.handle, carol.handle}
    assert following == {
        "items": [{"userId": alice.id, "handle": alice.handle}],
        "nextCursor": None,
    }
    assert likers["items"] == [{"userId": bob.id, "handle": bob.handle}]
    assert error_of(wrong)["code"] == "invalid_cursor"


def test_a_post_names_whom_it_mentions_by_handle_and_its_hashtags(users):
    alice, bob = users("alice", "bob")

    made = alice.call(
        "POST", "/api/posts", json={"content": f"hi @{bob.handle.upper()} and @nobody_x #Relay"}
    )

    assert made.status_code == 201, made.text
    assert made.json()["mentions"] == [{"userId": bob.id, "handle": bob.handle}]
    assert made.json()["hashtags"] == ["relay"]


def test_a_blocked_person_cannot_follow_or_see_the_blocker_and_follows_are_gone(users):
    alice, pest = users("alice", "pest")
    pest.follow(alice)
    post_id = alice.post("before the block")
    eventually(lambda: pest.feed_ids() == [post_id], what="alice's post in pest's feed")

    blocked = alice.call("POST", f"/api/users/{pest.handle}/block")

    assert blocked.status_code == 204
    assert pest.feed_ids() == []
    assert error_of(pest.call("POST", f"/api/users/{alice.handle}/follow"))["code"] == "blocked"
    assert pest.call("GET", f"/api/posts/{post_id}").status_code == 404
    assert pest.call("GET", f"/api/users/{alice.handle}/posts").status_code == 404
    assert alice.call("GET", f"/api/users/{alice.handle}").json()["followers"] == 0
    assert alice.call("POST", f"/api/users/{pest.handle}/mute").status_code == 204
    assert alice.call("DELETE", f"/api/users/{pest.handle}/block").status_code == 204
    assert pest.call("POST", f"/api/users/{alice.handle}/follow").status_code == 200
