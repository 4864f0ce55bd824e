"""The feed's domain and its fan-out consumer against moto (tables from template.yaml)
and the real Redis: crash and retry, calls per read, inactive readers, Redis down."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from unittest.mock import ANY

import pytest
import redis

from relay.accounts import relations
from relay.accounts.relations_table import RelationsTable
from relay.feed import rules as feed_rules
from relay.feed.fanout import FanOut
from relay.feed.feed import Feed
from relay.feed.models import Post
from relay.feed.posts_table import post_of
from relay.feed.rules import Rules
from relay.feed.service import tables
from relay.feed.tables import Tables
from relay.feed.timeline_cache import TimelineCache
from relay.platform.cache import COOLDOWN_MS, RedisGate
from relay.platform.errors import Forbidden, Invalid, NotFound
from tests.support.lambdas import Context, call, handler, http_event

RULES = Rules(celebrity_threshold=50, timeline_length=5, inactive_after_s=3600)


class CountingPool(redis.ConnectionPool):
    """Counts round trips: redis-py takes a connection once per command or pipeline."""

    calls = 0

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        CountingPool.calls += 1
        return super().get_connection(*args, **kwargs)


class HangingPool(CountingPool):
    """A Redis that hangs while `hung`: every command and pipeline times out, as a
    client sees a server stopped mid-request (SIGSTOP) once its socket timeout passes."""

    hung = False

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if HangingPool.hung:
            raise redis.TimeoutError("Timeout reading from socket")
        return super().get_connection(*args, **kwargs)


class Crashing(TimelineCache):
    """A cache whose fan-out dies after `survive` calls, as a process would mid-batch."""

    survive = 10**9

    def fan_out(self, post_id: str, readers: list[str], *, remove: bool = False) -> int:
        if Crashing.survive <= 0:
            raise redis.ConnectionError("the consumer died here")
        Crashing.survive -= 1
        return super().fan_out(post_id, readers, remove=remove)


@pytest.fixture
def world(aws, redis_client, clock):
    pool = HangingPool.from_url(os.environ["REDIS_URL"])
    client = redis.Redis(connection_pool=pool)
    cache = Crashing(client, keep=RULES.timeline_length, ttl_s=RULES.inactive_after_s)
    store = tables(aws.dynamodb)
    gate = RedisGate(clock)
    feed = Feed(store, cache, gate, RULES, clock)
    yield feed, FanOut(store, cache, gate, RULES), client
    HangingPool.hung = False
    client.close()


def records(store: Tables, post_ids: list[str], event: str = "INSERT") -> dict[str, Any]:
    """The stream records of these posts, as the posts table's stream would deliver them."""
    out = []
    for n, post_id in enumerate(post_ids, start=1):
        item = store.client.get_item(TableName="PostsTable", Key={"postId": {"S": post_id}})
        image = "NewImage" if event == "INSERT" else "OldImage"
        out.append(
            {
                "eventName": event,
                "dynamodb": {image: item["Item"], "SequenceNumber": f"{n:024d}"},
            }
        )
    return {"Records": out}


def consumer(monkeypatch, fan_out: FanOut) -> Any:
    fn = handler("FanOut")
    monkeypatch.setattr(sys.modules["relay_fn_FanOut"], "fan_out", lambda: fan_out)
    return lambda event: fn(event, Context())


def test_a_consumer_that_crashes_half_way_leaves_every_feed_right_after_the_retry(
    world, monkeypatch, clock
):
    feed, fan_out, client = world
    readers = [f"reader{n}" for n in range(7)]
    for reader in readers:
        feed.follow(reader, "author")
        feed.read(reader, 20, None)  # cached timelines, so fan-out writes them
    posts = []
    for n in range(3):
        clock.advance(1)
        posts.append(feed.post("author", f"post {n}", []).post_id)
    monkeypatch.setattr(feed_rules, "FOLLOWER_PAGE", 2)  # several pages per post
    run = consumer(monkeypatch, fan_out)
    batch = records(feed.tables, posts)

    Crashing.survive = 6  # the second post dies after its second page of followers
    failed = run(batch)

    assert failed == {"batchItemFailures": [{"itemIdentifier": f"{2:024d}"}]}
    Crashing.survive = 10**9
    assert run(batch) == {"batchItemFailures": []}  # a redelivery of the whole batch
    for reader in readers:
        assert client.zrange(f"feed:tl:{reader}", 0, -1) == [p.encode() for p in [*posts, "~"]]
        assert [item.post.post_id for item in feed.read(reader, 20, None).items] == posts[::-1]


def test_a_feed_read_makes_the_same_few_calls_whatever_the_page_size(world, aws, clock):
    feed, _, _ = world
    big = Rules(celebrity_threshold=3, timeline_length=200, inactive_after_s=3600)
    cache = TimelineCache(feed.cache.client, keep=200, ttl_s=60)
    feed, fan_out = (
        Feed(feed.tables, cache, feed.gate, big, clock),
        FanOut(feed.tables, cache, feed.gate, big),
    )
    for fan in ("reader", "fan2", "fan3"):
        feed.follow(fan, "star")
    feed.follow("reader", "plain")
    feed.read("reader", 5, None)
    for n in range(60):
        clock.advance(1)
        fan_out.created(feed.post("plain" if n % 3 else "star", f"post {n}", []))
    dynamodb_calls = []
    aws.dynamodb.meta.events.register(
        "before-call.dynamodb", lambda **kwargs: dynamodb_calls.append(kwargs["model"].name)
    )

    counts = {}
    for limit in (5, 20, 50):
        CountingPool.calls, dynamodb_calls[:] = 0, []
        page = feed.read("reader", limit, None)
        assert len(page.items) == limit
        counts[limit] = (CountingPool.calls, list(dynamodb_calls))

    # The page's posts, the reader's likes of them and the reader's follow-change number
    # (the cache's check against DynamoDB) in one BatchGetItem: 100 keys a call, so the
    # largest page (101 keys) takes two.
    assert counts[5] == counts[20] == (1, ["BatchGetItem"])
    assert counts[50] == (1, ["BatchGetItem", "BatchGetItem"])


def test_fan_out_skips_readers_whose_timeline_is_not_cached_and_trims_the_rest(world, clock):
    feed, fan_out, client = world
    for reader in ("active", "away"):
        feed.follow(reader, "author")
    feed.read("active", 20, None)
    posts = []
    for n in range(7):
        clock.advance(1)
        posts.append(feed.post("author", f"post {n}", []))
        fan_out.created(posts[-1])

    assert not client.exists("feed:tl:away")
    assert client.zcard("feed:tl:active") == RULES.timeline_length + 1  # and the sentinel
    newest = [p.post_id for p in posts[::-1]][: RULES.timeline_length]
    assert [i.post.post_id for i in feed.read("away", 20, None).items] == newest
    assert client.exists("feed:tl:away")


def test_with_redis_down_the_feed_is_read_from_dynamodb(aws, clock):
    store = tables(aws.dynamodb)
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.05)
    cache = TimelineCache(dead, keep=RULES.timeline_length, ttl_s=60)
    feed = Feed(store, cache, RedisGate(clock), RULES, clock)
    feed.follow("reader", "author")
    posts = []
    for n in range(3):
        clock.advance(1)
        posts.append(feed.post("author", f"post {n}", []).post_id)

    first = feed.read("reader", 2, None)
    rest = feed.read("reader", 2, first.next_cursor)

    assert [i.post.post_id for i in first.items + rest.items] == posts[::-1]


def test_a_deleted_post_leaves_timelines_and_takes_its_comments_and_likes(world, aws, clock):
    feed, fan_out, client = world
    feed.follow("reader", "author")
    feed.read("reader", 20, None)
    post = feed.post("author", "short-lived", [])
    fan_out.created(post)
    feed.comment("reader", post.post_id, "first")
    feed.like("reader", post.post_id)

    feed.delete("author", post.post_id)
    fan_out.deleted(post)

    assert client.zscore("feed:tl:reader", post.post_id) is None
    for table in ("CommentsTable", "LikesTable"):
        left = aws.dynamodb.query(
            TableName=table,
            KeyConditionExpression="postId = :p",
            ExpressionAttributeValues={":p": {"S": post.post_id}},
        )
        assert left["Items"] == []


def test_a_post_fanned_out_while_a_timeline_is_rebuilt_is_kept(world, clock):
    feed, fan_out, _ = world
    feed.follow("reader", "author")
    older = feed.post("author", "before", [])
    clock.advance(1)
    during = feed.post("author", "during the rebuild", [])
    followees = feed.tables.follows.followees

    def followees_while_fanning_out(user: str) -> list[str]:
        found = followees(user)  # the rebuild's DynamoDB reads run; the post lands now
        fan_out.created(during)
        return found

    feed.tables.follows.followees = followees_while_fanning_out  # type: ignore[method-assign]
    feed.tables.posts.recent_ids = lambda author, limit: [older.post_id]  # type: ignore[method-assign,assignment]
    feed.timelines.rebuild("reader")
    del feed.tables.follows.followees, feed.tables.posts.recent_ids

    ids = [item.post.post_id for item in feed.read("reader", 20, None).items]
    assert ids == [during.post_id, older.post_id]


def test_a_share_outlives_the_post_it_shared_and_can_still_be_deleted(world):
    feed, _, _ = world
    original = feed.post("author", "shared then deleted", [])
    share, _ = feed.share("sharer", original.post_id)

    feed.delete("author", original.post_id)
    feed.delete("sharer", share.post_id)

    assert feed.tables.posts.get(share.post_id) is None
    assert feed.tables.profiles.get("sharer").posts == 0


def test_a_celebrity_whose_id_looks_like_a_sentinel_is_still_pulled(world, clock):
    feed, _, _ = world
    rules = Rules(celebrity_threshold=1, timeline_length=5, inactive_after_s=3600)
    feed = Feed(feed.tables, feed.cache, feed.gate, rules, clock)
    feed.follow("reader", "~")
    post = feed.post("~", "tilde", [])
    FanOut(feed.tables, feed.cache, feed.gate, rules).created(post)

    assert [item.post.post_id for item in feed.read("reader", 20, None).items] == [post.post_id]


# ---------------------------------------------------------------- what a client sends
def feed_call(method: str, route: str, path: str, body: str, **params: str) -> dict[str, Any]:
    event = http_event(
        f"{method} {route}", path, body=body, user="alice", path_parameters=params or None
    )
    return call("Feed", event)  # type: ignore[no-any-return]


def assert_error(response: dict[str, Any], status: int, code: str) -> None:
    assert response["statusCode"] == status, response
    assert json.loads(response["body"]) == {"error": {"code": code, "message": ANY}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"content": "a\\ud800b"}', "invalid_content"),  # a lone surrogate: no UTF-8 for it
        ('{"content": "\\udc00"}', "invalid_content"),
        ('{"content": "a", "mediaUrls": ["https://a.example/\\ud800"]}', "invalid_url"),
        ('{"content": "a", "mediaUrls": ["https://\\ud800.example/"]}', "invalid_url"),
        ('{"content": "a", "mediaUrls": ["http://[::1"]}', "invalid_url"),  # urlsplit raises
        ('{"content": "a", "mediaUrls": ["http://[zz]/"]}', "invalid_url"),
        ('{"content": "a", "mediaUrls": ["http://a.example:99999/"]}', "invalid_url"),
        ('{"content": "a", "mediaUrls": ["http://a b.example/"]}', "invalid_url"),
        ('{"content": "a", "mediaUrls": ["http://a.example/\\u0000"]}', "invalid_url"),
        ('{"content": "\\u0000"}', "empty_content"),  # nothing a reader could see
        ('{"content": "\\u200b\\u200e\\u202e \\u2060"}', "empty_content"),
    ],
)
def test_a_post_relay_cannot_store_or_show_is_a_400_not_a_500(aws, body, code):
    assert_error(feed_call("POST", "/api/posts", "/api/posts", body), 400, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [('{"content": "\\ud800"}', "invalid_content"), ('{"content": "\\u0000"}', "empty_content")],
)
def test_a_comment_relay_cannot_store_or_show_is_a_400_not_a_500(aws, body, code):
    created = feed_call("POST", "/api/posts", "/api/posts", '{"content": "hi"}')
    post_id = json.loads(created["body"])["postId"]
    path = f"/api/posts/{post_id}/comments"

    response = feed_call("POST", "/api/posts/{postId}/comments", path, body, postId=post_id)

    assert_error(response, 400, code)


@pytest.mark.parametrize(
    "content",
    ["\U0001f600" * 2_000, "e\u0301" * 1_000, "\u05e9\u05dc\u05d5\u05dd \u202bRelay", "\uff32"],
)
def test_international_text_up_to_the_limit_is_kept_as_sent(aws, content):
    response = feed_call("POST", "/api/posts", "/api/posts", json.dumps({"content": content}))

    assert response["statusCode"] == 201, response
    assert json.loads(response["body"])["content"] == content


def test_a_share_of_a_share_counts_on_the_post_it_shares_and_uncounts_there_too(world):
    feed, _, _ = world
    original = feed.post("author", "worth sharing", [])
    first, _ = feed.share("sharer", original.post_id)

    second, _ = feed.share("other", first.post_id)

    assert second.shared_from == original.post_id
    counts = feed.tables.posts.get_many([original.post_id, first.post_id])
    assert (counts[original.post_id].shares, counts[first.post_id].shares) == (2, 0)
    feed.delete("other", second.post_id)
    feed.delete("sharer", first.post_id)
    assert feed.tables.posts.get(original.post_id).shares == 0  # type: ignore[union-attr]


def test_a_share_of_a_share_whose_post_is_gone_is_a_404(world):
    feed, _, _ = world
    original = feed.post("author", "shared then deleted", [])
    first, _ = feed.share("sharer", original.post_id)
    feed.delete("author", original.post_id)

    with pytest.raises(NotFound):
        feed.share("other", first.post_id)

    assert feed.tables.profiles.get("other").posts == 0


@pytest.mark.parametrize("first", ["follow", "unfollow"])
def test_a_follow_and_an_unfollow_that_cross_leave_the_cached_feed_as_dynamodb_says(
    world, clock, first
):
    feed, _, client = world
    if first == "unfollow":
        feed.follow("reader", "author")
    post = feed.post("author", "before", [])
    feed.read("reader", 20, None)  # a cached timeline, so the cache step matters
    followed = feed.cache.followed

    def the_other_one_meanwhile(*args: Any, on: bool, number: int) -> bool:
        """The first request has committed to DynamoDB; the second runs whole before
        the first one's cache step lands."""
        feed.cache.followed = followed  # type: ignore[method-assign]
        (feed.unfollow if on else feed.follow)("reader", "author")
        return followed(*args, on=on, number=number)

    feed.cache.followed = the_other_one_meanwhile  # type: ignore[method-assign]
    getattr(feed, first)("reader", "author")

    following = first == "unfollow"  # the second request's answer is the last word
    assert feed.tables.follows.is_following("reader", "author") is following
    shown = [item.post.post_id for item in feed.read("reader", 20, None).items]
    assert shown == ([post.post_id] if following else [])
    assert bool(client.sismember("feed:fl:reader", "author")) is following


@pytest.mark.parametrize("change", ["unfollow", "follow"])
def test_a_follow_or_unfollow_while_a_timeline_is_rebuilt_is_not_undone_by_it(world, clock, change):
    feed, _, client = world
    feed.follow("reader", "kept")
    if change == "unfollow":
        feed.follow("reader", "author")
    post = feed.post("author", "by the author", [])
    followees = feed.tables.follows.followees

    def followees_then_the_change(user: str) -> list[str]:
        found = followees(user)  # the rebuild has read whom the reader follows; now:
        feed.tables.follows.followees = followees  # type: ignore[method-assign]
        getattr(feed, change)("reader", "author")  # (the cache is still being rebuilt)
        return found

    feed.tables.follows.followees = followees_then_the_change  # type: ignore[method-assign]
    feed.timelines.rebuild("reader")

    following = change == "follow"
    shown = [item.post.post_id for item in feed.read("reader", 20, None).items]
    assert shown == ([post.post_id] if following else [])
    assert bool(client.sismember("feed:fl:reader", "author")) is following


def test_a_stream_record_without_its_image_is_reported_failed_not_thrown(world, monkeypatch):
    _, fan_out, _ = world
    run = consumer(monkeypatch, fan_out)
    batch = {
        "Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": None, "SequenceNumber": "7"}}]
    }

    assert run(batch) == {"batchItemFailures": [{"itemIdentifier": "7"}]}


# ---------------------------------------------------------------- Redis is only a cache

CELEBRITY_AT_2 = Rules(celebrity_threshold=2, timeline_length=50, inactive_after_s=3600)


@pytest.fixture
def celebrity_world(world, clock):
    """The world with a celebrity threshold of 2 followers."""
    feed, _, client = world
    cache = TimelineCache(client, keep=50, ttl_s=3600)
    gate = RedisGate(clock)
    return (
        Feed(feed.tables, cache, gate, CELEBRITY_AT_2, clock),
        FanOut(feed.tables, cache, gate, CELEBRITY_AT_2),
        client,
    )


def shown(feed: Feed, reader: str) -> list[str]:
    return [item.post.post_id for item in feed.read(reader, 20, None).items]


def test_a_celebrity_made_while_redis_hangs_still_reaches_every_follower_and_themself(
    celebrity_world, clock
):
    feed, fan_out, client = celebrity_world
    feed.follow("early", "star")
    for reader in ("early", "late", "star"):
        feed.read(reader, 20, None)  # cached timelines and a cached set of celebrities

    HangingPool.hung = True  # Redis hangs at the moment "star" becomes a celebrity
    profile, following = feed.follow("late", "star")
    HangingPool.hung = False
    clock.advance(COOLDOWN_MS + 1)  # the gate opens again

    assert (profile.followers, profile.celebrity, following) == (2, True, True)
    post = feed.post("star", "now a celebrity", [])
    assert fan_out.created(post).celebrity
    for reader in ("early", "late", "star"):
        assert shown(feed, reader)[:1] == [post.post_id], reader
    assert client.sismember("feed:celebs", "star")


def test_a_follow_whose_cache_write_redis_lost_shows_the_followed_posts_on_the_next_read(
    world, clock
):
    feed, fan_out, _ = world
    older = feed.post("author", "posted before the follow", [])
    fan_out.created(older)
    feed.read("reader", 20, None)

    HangingPool.hung = True
    feed.follow("reader", "author")
    HangingPool.hung = False
    clock.advance(COOLDOWN_MS + 1)

    assert shown(feed, "reader") == [older.post_id]
    clock.advance(1)
    newer = feed.post("author", "posted after", [])
    fan_out.created(newer)
    assert shown(feed, "reader") == [newer.post_id, older.post_id]


def test_an_unfollow_whose_cache_write_redis_lost_hides_the_unfollowed_posts(world, clock):
    feed, fan_out, _ = world
    feed.follow("reader", "author")
    post = feed.post("author", "soon unfollowed", [])
    fan_out.created(post)
    assert shown(feed, "reader") == [post.post_id]

    HangingPool.hung = True
    feed.unfollow("reader", "author")
    HangingPool.hung = False
    clock.advance(COOLDOWN_MS + 1)

    assert shown(feed, "reader") == []


def test_a_redis_restarted_empty_loses_no_feed_and_no_celebrity(celebrity_world, clock):
    feed, fan_out, client = celebrity_world
    for fan in ("fan1", "fan2"):
        feed.follow(fan, "star")
    feed.follow("fan1", "plain")
    before = [feed.post("star", "by a celebrity", []), feed.post("plain", "by a person", [])]
    for post in before:
        fan_out.created(post)
    expected = sorted((p.post_id for p in before), reverse=True)
    assert shown(feed, "fan1") == expected

    client.flushdb()  # a restart with nothing saved

    assert shown(feed, "fan1") == expected
    clock.advance(1)
    after = feed.post("star", "after the restart", [])
    fan_out.created(after)
    assert shown(feed, "fan1")[0] == after.post_id
    assert shown(feed, "fan2")[0] == after.post_id
    assert shown(feed, "star")[0] == after.post_id


def test_a_celebrity_post_whose_fan_out_meets_a_hung_redis_is_retried_not_lost(
    celebrity_world, monkeypatch, clock
):
    feed, fan_out, client = celebrity_world
    for fan in ("fan1", "fan2"):
        feed.follow(fan, "star")
    assert shown(feed, "fan1") == []  # the set of celebrities is cached now
    assert client.srem("feed:celebs", "star") == 1  # a promotion the cache missed
    post = feed.post("star", "fanned out on the second try", [])
    run = consumer(monkeypatch, fan_out)
    batch = records(feed.tables, [post.post_id])

    HangingPool.hung = True
    assert run(batch) == {"batchItemFailures": [{"itemIdentifier": f"{1:024d}"}]}
    HangingPool.hung = False
    assert run(batch) == {"batchItemFailures": []}

    assert shown(feed, "fan1") == [post.post_id]


# ---------------------------------------------------------------- shares


def test_sharing_a_post_twice_answers_with_the_first_share_and_counts_once(world):
    feed, _, _ = world
    original = feed.post("author", "share me", [])

    first, created = feed.share("sharer", original.post_id)
    again, created_again = feed.share("sharer", original.post_id)
    via_the_share, created_via = feed.share("sharer", first.post_id)

    assert (created, created_again, created_via) == (True, False, False)
    assert again == first and via_the_share == first
    assert feed.tables.posts.get(original.post_id).shares == 1  # type: ignore[union-attr]
    assert feed.tables.profiles.get("sharer").posts == 1


def test_an_undone_share_is_uncounted_and_can_be_shared_again(world, clock):
    feed, fan_out, _ = world
    feed.follow("reader", "sharer")
    original = feed.post("author", "share me", [])
    share, _ = feed.share("sharer", original.post_id)
    fan_out.created(share)
    assert shown(feed, "reader") == [share.post_id]

    feed.unshare("sharer", original.post_id)
    fan_out.deleted(share)

    assert feed.tables.posts.get(original.post_id).shares == 0  # type: ignore[union-attr]
    assert feed.tables.profiles.get("sharer").posts == 0
    assert shown(feed, "reader") == []
    with pytest.raises(NotFound):
        feed.unshare("sharer", original.post_id)
    clock.advance(1)
    _, created = feed.share("sharer", original.post_id)
    assert created
    assert feed.tables.posts.get(original.post_id).shares == 1  # type: ignore[union-attr]


def test_a_share_that_crosses_another_by_the_same_person_counts_once(world):
    feed, _, _ = world
    original = feed.post("author", "twice at once", [])
    transact = feed.tables.transact
    others: list[tuple[Post, bool]] = []

    def the_other_one_first(items: list[Any]) -> None:
        """The first request has read the post; the second runs whole before it writes."""
        object.__setattr__(feed.tables, "transact", transact)
        others.append(feed.share("sharer", original.post_id))
        transact(items)

    object.__setattr__(feed.tables, "transact", the_other_one_first)
    share, created = feed.share("sharer", original.post_id)

    assert others == [(share, True)] and created is False
    assert feed.tables.posts.get(original.post_id).shares == 1  # type: ignore[union-attr]
    assert feed.tables.profiles.get("sharer").posts == 1


def test_a_deleted_post_shows_no_text_through_its_shares_and_takes_them(world, clock):
    feed, fan_out, _ = world
    feed.follow("reader", "sharer")
    original = feed.post("author", "soon deleted text", [])
    share, _ = feed.share("sharer", original.post_id)
    fan_out.created(share)
    assert [i.post.content for i in feed.read("reader", 20, None).items] == ["soon deleted text"]

    feed.delete("author", original.post_id)

    assert feed.read("reader", 20, None).items == []  # before the consumer runs
    with pytest.raises(NotFound):
        feed.get("reader", share.post_id)
    fan_out.deleted(original)
    assert feed.tables.posts.get(share.post_id) is None
    assert feed.tables.profiles.get("sharer").posts == 0
    fan_out.deleted(original)  # a redelivery changes nothing
    assert feed.tables.profiles.get("sharer").posts == 0


# ---------------------------------------------------------------- edits and comments


def test_an_edit_shows_in_every_timeline_and_share_with_when_it_was_made(world, clock):
    feed, fan_out, _ = world
    feed.follow("reader", "author")
    feed.follow("other", "sharer")
    post = feed.post("author", "first draft", [])
    fan_out.created(post)
    share, _ = feed.share("sharer", post.post_id)
    fan_out.created(share)
    assert [i.post.content for i in feed.read("other", 20, None).items] == ["first draft"]
    clock.advance(5_000)

    edited = feed.edit("author", post.post_id, "second draft", None)

    assert (edited.post.content, edited.post.edited_ms) == ("second draft", clock.now_ms())
    for reader in ("reader", "other", "author"):
        (item,) = feed.read(reader, 20, None).items
        assert (item.post.content, item.post.edited_ms) == ("second draft", clock.now_ms())
    assert feed.get("other", share.post_id).post.content == "second draft"


def test_only_its_author_edits_a_post_and_a_share_has_nothing_to_edit(world):
    feed, _, _ = world
    post = feed.post("author", "mine", [])
    share, _ = feed.share("sharer", post.post_id)

    with pytest.raises(Forbidden):
        feed.edit("sharer", post.post_id, "not yours", None)
    with pytest.raises(Invalid) as refused:
        feed.edit("sharer", share.post_id, "a share", None)
    assert refused.value.code == "share_not_editable"
    with pytest.raises(Invalid):
        feed.edit("author", post.post_id, " \u200b ", None)
    assert feed.tables.posts.get(post.post_id).content == "mine"  # type: ignore[union-attr]


def test_a_comment_is_deleted_by_its_author_or_the_posts_and_no_one_else(world):
    feed, _, _ = world
    post = feed.post("author", "discuss", [])
    first = feed.comment("commenter", post.post_id, "one")
    second = feed.comment("commenter", post.post_id, "two")

    with pytest.raises(Forbidden):
        feed.delete_comment("stranger", post.post_id, first.comment_id)
    feed.delete_comment("commenter", post.post_id, first.comment_id)
    feed.delete_comment("author", post.post_id, second.comment_id)

    assert feed.comments(post.post_id, 20, None).items == []
    assert feed.tables.posts.get(post.post_id).comments == 0  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        feed.delete_comment("author", post.post_id, second.comment_id)


# ---------------------------------------------------------------- lists


def walk(feed: Feed, kind: str, subject: str, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        page = feed.people(kind, subject, limit, cursor)
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_followers_following_and_likers_come_in_pages_each_cursor_bound_to_its_list(world):
    feed, _, _ = world
    fans = [f"fan{n}" for n in range(5)]
    for fan in fans:
        feed.follow(fan, "author")
    for followee in ("a1", "a2", "a3"):
        feed.follow("fan0", followee)
    post = feed.post("author", "likeable", [])
    for fan in fans[:3]:
        feed.like(fan, post.post_id)

    assert walk(feed, "followers", "author", 2) == fans
    assert walk(feed, "following", "fan0", 2) == ["a1", "a2", "a3", "author"]
    assert walk(feed, "likes", post.post_id, 2) == fans[:3]
    cursor = feed.people("followers", "author", 2, None).next_cursor
    with pytest.raises(Invalid) as refused:
        feed.people("following", "author", 2, cursor)
    assert refused.value.code == "invalid_cursor"
    with pytest.raises(NotFound):
        feed.people("likes", "0000000000000aaaaaaaaaa", 2, None)


# ---------------------------------------------------------------- mentions and hashtags


def test_mentions_and_hashtags_are_stored_with_the_text_for_the_stream_to_carry(world, clock):
    feed, _, _ = world
    known = {"bob": "sub-bob", "carol": "sub-carol"}
    feed = Feed(
        feed.tables,
        feed.cache,
        feed.gate,
        RULES,
        clock,
        subs_of=lambda handles: {h: known[h] for h in handles if h in known},
    )

    post = feed.post("author", "@Bob @nobody_here @carol: #Relay #relay", [])
    comment = feed.comment("bob", post.post_id, "thanks @carol #thanks")
    edited = feed.edit("author", post.post_id, "just @bob now", None).post

    (image,) = [r["dynamodb"]["NewImage"] for r in records(feed.tables, [post.post_id])["Records"]]
    assert (post.mentions, post.hashtags) == (["sub-bob", "sub-carol"], ["relay"])
    assert (comment.mentions, comment.hashtags) == (["sub-carol"], ["thanks"])
    assert (edited.mentions, edited.hashtags) == (["sub-bob"], [])
    assert post_of(image).mentions == ["sub-bob"]  # what the stream hands on
    assert feed.comments(post.post_id, 5, None).items[0].mentions == ["sub-carol"]


# ---------------------------------------------------------------- blocks and mutes


def test_a_block_ends_follows_both_ways_and_the_blocked_cannot_follow_mention_or_see(
    world, aws, clock
):
    feed, fan_out, _ = world
    table = RelationsTable(aws.dynamodb, "RelationsTable")
    feed = Feed(
        feed.tables,
        feed.cache,
        feed.gate,
        RULES,
        clock,
        subs_of=lambda handles: {h: h for h in handles},
        blocked=lambda a, b: relations.is_blocked(a, b, table),
    )
    feed.follow("pest", "author")
    feed.follow("author", "pest")
    post = feed.post("author", "before the block", [])
    fan_out.created(post)
    assert shown(feed, "pest") == [post.post_id]

    relations.block("author", "pest", on=True, table=table)
    feed.blocked_now("author", "pest")

    assert relations.is_blocked("pest", "author", table)  # both ways, for chat too
    assert not feed.tables.follows.is_following("pest", "author")
    assert not feed.tables.follows.is_following("author", "pest")
    assert shown(feed, "pest") == []
    with pytest.raises(Forbidden) as refused:
        feed.follow("pest", "author")
    assert refused.value.code == "blocked"
    with pytest.raises(NotFound):
        feed.get("pest", post.post_id)
    with pytest.raises(NotFound):
        feed.posts_of("pest", "author", 20, None)
    assert feed.post("pest", "hey @author", []).mentions == []
    relations.block("author", "pest", on=False, table=table)
    assert not relations.is_blocked("pest", "author", table)
    feed.follow("pest", "author")
