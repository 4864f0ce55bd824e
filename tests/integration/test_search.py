"""Search against moto (tables from template.yaml) and the real Redis: the index fed by
accounts' events and the posts stream, suggestions in one round trip, personalised and
typo-tolerant, trending, post and people search, and an index rebuilt from DynamoDB."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import redis

from relay.feed.follows_table import FollowsTable
from relay.feed.models import Post
from relay.feed.posts_table import PostsTable
from relay.platform.cache import RedisGate
from relay.platform.config import settings
from relay.platform.events import Event, outbox_put
from relay.platform.ratelimit import RULES, RateLimiter
from relay.search import index
from relay.search.follows_table import FollowsView
from relay.search.index import SearchIndex
from relay.search.indexer import Indexer
from relay.search.models import PostHit
from relay.search.posts_table import PostsView
from relay.search.service import handle_owner
from relay.search.suggest import Along, Suggester
from relay.search.trending import Trending
from tests.support.lambdas import call, http_event
from tests.support.people import delete, register


class CountingPool(redis.ConnectionPool):
    """Counts round trips: redis-py takes a connection once per command or pipeline."""

    calls = 0

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        CountingPool.calls += 1
        return super().get_connection(*args, **kwargs)


def person(aws, handle: str, name: str = "") -> str:
    sub = register(aws.dynamodb, handle, f"sub-{handle}")
    if name:
        aws.dynamodb.update_item(
            TableName=settings().users_table,
            Key={"id": {"S": f"u#{sub}"}},
            UpdateExpression="SET displayName = :n",
            ExpressionAttributeValues={":n": {"S": name}},
        )
    return sub


def told(aws, kind: str, sub: str) -> None:
    """An accounts event through the outbox, and its stream record to SearchIndexer."""
    event = Event.now(kind, actor_id=sub, subject_id=sub, at_ms=1_795_000_000_000)
    put = outbox_put(settings().events_table, event)["Put"]
    aws.dynamodb.put_item(TableName=put["TableName"], Item=put["Item"])
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": put["Item"], "SequenceNumber": "1"}}
    assert call("SearchIndexer", {"Records": [record]}) == {"batchItemFailures": []}


def posted(aws, post_id: str, author: str, content: str, ms: int) -> None:
    """A post stored by the feed's own store, and its stream record to SearchIndexer."""
    posts = PostsTable(aws.dynamodb, settings().posts_table)
    aws.dynamodb.transact_write_items(
        TransactItems=[posts.put_new(Post(post_id, author, content, [], ms, 0, 0, 0, None))]
    )
    image = aws.dynamodb.get_item(TableName=posts.name, Key=posts.key(post_id))["Item"]
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": "1"}}
    assert call("SearchIndexer", {"Records": [record]}) == {"batchItemFailures": []}


def unposted(aws, post_id: str) -> dict[str, Any]:
    posts = PostsTable(aws.dynamodb, settings().posts_table)
    image = aws.dynamodb.get_item(TableName=posts.name, Key=posts.key(post_id))["Item"]
    aws.dynamodb.delete_item(TableName=posts.name, Key=posts.key(post_id))
    return {"eventName": "REMOVE", "dynamodb": {"OldImage": image, "SequenceNumber": "2"}}


def suggest(user: str, q: str, limit: int = 8) -> dict[str, Any]:
    event = http_event(
        "GET /api/suggest", "/api/suggest", user=user, query={"q": q, "limit": str(limit)}
    )
    reply = call("SearchApi", event)
    assert reply["statusCode"] == 200, reply
    return dict(json.loads(reply["body"]))


def texts(body: dict[str, Any]) -> list[str]:
    return [item["text"] for item in body["items"]]


def built() -> None:
    assert call("SearchRebuild", {"force": True})["rebuilt"] is True


def test_a_new_person_is_suggested_from_their_event(aws):
    built()
    zoe = person(aws, "zoe_s", "Zoë Saldaña")
    assert texts(suggest("reader", "zo")) == []  # not told yet
    told(aws, "accounts.user_created", zoe)
    body = suggest("reader", "zo")
    assert body["items"][0] | {"score": 0} == {
        "kind": "user",
        "text": "zoe_s",
        "score": 0,
        "userId": zoe,
        "displayName": "Zoë Saldaña",
        "personal": False,
    }


@pytest.mark.parametrize(
    "typed", ["ZOE", "Zoë", "saldaña", "SALDANA", "saldna", "salsana", "saldanna"]
)
def test_case_accents_and_one_typo_are_forgiven(aws, typed):
    person(aws, "zoe_s", "Zoë Saldaña")
    built()
    assert texts(suggest("reader", typed)) == ["zoe_s"]


def test_short_words_forgive_no_typo_and_later_words_must_match(aws):
    person(aws, "zoe_s", "Zoë Saldaña")
    built()
    assert texts(suggest("reader", "zoa")) == []
    assert texts(suggest("reader", "zoe sal")) == ["zoe_s"]
    assert texts(suggest("reader", "bob sal")) == []


def test_a_deleted_person_leaves_suggestions_and_a_rebuild_does_not_bring_them_back(aws):
    zoe = person(aws, "zoe_s", "Zoë")
    built()
    assert texts(suggest("reader", "zoe")) == ["zoe_s"]
    delete(aws.dynamodb, "zoe_s")
    told(aws, "accounts.user_deleted", zoe)
    assert texts(suggest("reader", "zoe")) == []
    built()
    assert texts(suggest("reader", "zoe")) == []


def test_two_people_see_their_own_ranking(aws, redis_client):
    """Popularity ranks for everyone; the people one follows and one's own searches
    come first for them."""
    person(aws, "annie_popular")
    quiet = person(aws, "annie_quiet")
    for n in range(5):
        posted(aws, f"p{n}", "sub-annie_popular", f"post {n}", 1_795_000_000_000 + n)
    built()
    follows = FollowsTable(aws.dynamodb, settings().follows_table)
    aws.dynamodb.transact_write_items(TransactItems=[follows.put_new("fan", quiet, 1)])
    # The follows view reads what the feed's store wrote.
    assert FollowsView(aws.dynamodb, settings().follows_table).followees("fan") == [quiet]
    suggest("fan", "ann")  # the first call copies whom they follow into Redis
    assert texts(suggest("stranger", "ann")) == ["annie_popular", "annie_quiet"]
    mine = suggest("fan", "ann")
    assert texts(mine) == ["annie_quiet", "annie_popular"]
    assert mine["items"][0]["personal"] is True
    # A search of one's own is suggested to them, not to others.
    call(
        "SearchApi",
        http_event("GET /api/search", "/api/search", user="fan", query={"q": "Annual report"}),
    )
    assert "annual report" in texts(suggest("fan", "ann"))
    assert "annual report" not in texts(suggest("stranger", "ann"))


def test_the_personal_lift_is_capped(aws, redis_client):
    for n in range(4):
        person(aws, f"sam_{n}")
    built()
    for n in range(4):
        for _ in range(n + 1):
            call(
                "SearchApi",
                http_event(
                    "GET /api/search", "/api/search", user=f"u{n}", query={"q": f"samba {n}"}
                ),
            )
    body = suggest("u0", "sam", limit=4)
    assert sum(item["personal"] for item in body["items"]) <= 2


def test_suggest_is_one_redis_round_trip_with_its_rate_limit_and_session(aws, redis_client):
    person(aws, "zoe_s", "Zoë")
    built()
    pool = CountingPool.from_url(os.environ["REDIS_URL"])
    client = redis.Redis(connection_pool=pool)
    suggester = Suggester(client, RedisGate(), handle_owner=lambda h: None, followees=lambda s: [])
    SearchIndex(client).keep_follows("reader", [])
    limiter = RateLimiter(client)
    checks = [(RULES["suggest-user"], "reader")]
    seen: list[Any] = []

    def queue(pipe: Any) -> None:
        pipe.get("relay:signed-out:reader")
        limiter.queue(pipe, checks)

    along = Along(queue=queue, count=2, take=seen.extend, load=limiter.load)
    suggester.suggest("reader", "zoë saldna", 8, along)  # loads the scripts
    CountingPool.calls = 0
    found = suggester.suggest("reader", "zoe", 8, along)
    assert [s.text for s in found.items] == ["zoe_s"]
    assert CountingPool.calls == 1
    assert limiter.decision(checks, seen[-1]).allowed
    client.close()


def test_an_empty_redis_serves_degraded_answers_then_rebuilds_itself(aws, redis_client):
    zoe = person(aws, "zoe_s", "Zoë")
    built()
    redis_client.flushdb()  # the node restarted empty
    body = suggest("reader", "zoe_s")
    assert body["degraded"] is True
    assert texts(body) == ["zoe_s"]  # the exact handle, from DynamoDB
    assert call("SearchRebuild", {})["rebuilt"] is True  # the schedule finds no mark
    assert call("SearchRebuild", {})["rebuilt"] is False  # and then does nothing
    body = suggest("reader", "zo")
    assert body["degraded"] is False
    assert body["items"][0]["userId"] == zoe


def test_a_dead_redis_serves_degraded_answers_not_errors(aws, clock):
    person(aws, "zoe_s", "Zoë")
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    suggester = Suggester(dead, RedisGate(clock), handle_owner=handle_owner, followees=lambda s: [])
    found = suggester.suggest("reader", "zoe_s", 8)
    assert found.degraded is True
    assert [s.text for s in found.items] == ["zoe_s"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"q": "a" * 101}, "invalid_request"),
        ({"q": "zo\udc80"}, "invalid_request"),
        ({"q": "zo\x00"}, "invalid_query"),
        ({"q": "zo", "limit": "0"}, "invalid_request"),
        ({"q": "zo", "limit": "21"}, "invalid_request"),
        ({"q": "zo", "limit": "many"}, "invalid_request"),
    ],
)
def test_bad_suggest_input_is_a_400(aws, query, code):
    reply = call(
        "SearchApi", http_event("GET /api/suggest", "/api/suggest", user="alice", query=query)
    )
    assert reply["statusCode"] == 400, reply
    assert json.loads(reply["body"])["error"]["code"] == code


def test_post_search_pages_newest_first_and_drops_what_is_deleted(aws, redis_client):
    person(aws, "ann")
    for n in range(5):
        posted(aws, f"post{n}", "sub-ann", f"Shipping #Relay build {n}", 1_795_000_000_000 + n)
    posted(aws, "other", "sub-ann", "nothing to see", 1_795_000_000_100)

    def page(cursor=None, q="relay build"):
        query = {"q": q, "limit": "2"} | ({"cursor": cursor} if cursor else {})
        reply = call(
            "SearchApi", http_event("GET /api/search", "/api/search", user="bob", query=query)
        )
        assert reply["statusCode"] == 200, reply
        return json.loads(reply["body"])

    first = page()
    assert [p["postId"] for p in first["items"]] == ["post4", "post3"]
    second = page(first["nextCursor"])
    assert [p["postId"] for p in second["items"]] == ["post2", "post1"]
    # Deleted: gone at once (the table says so), then out of the index (the stream).
    record = unposted(aws, "post4")
    assert [p["postId"] for p in page()["items"]] == ["post3"]
    assert call("SearchIndexer", {"Records": [record]}) == {"batchItemFailures": []}
    assert [p["postId"] for p in page()["items"]] == ["post3", "post2"]
    # Another query's cursor is refused.
    reply = call(
        "SearchApi",
        http_event(
            "GET /api/search",
            "/api/search",
            user="bob",
            query={"q": "nothing", "cursor": first["nextCursor"]},
        ),
    )
    assert reply["statusCode"] == 400
    assert json.loads(reply["body"])["error"]["code"] == "invalid_cursor"


def test_people_search_finds_handles_and_names_and_not_the_deleted(aws, redis_client):
    person(aws, "zoe_s", "Zoë Saldaña")
    person(aws, "zack", "Zack Saldana")
    built()

    def found(q):
        event = http_event(
            "GET /api/search", "/api/search", user="bob", query={"q": q, "type": "users"}
        )
        return [u["handle"] for u in json.loads(call("SearchApi", event)["body"])["items"]]

    assert sorted(found("saldana")) == ["zack", "zoe_s"]
    delete(aws.dynamodb, "zack")  # before its event arrives
    assert found("saldana") == ["zoe_s"]


def test_a_hashtag_many_people_use_now_is_trending_and_one_repeater_is_one_person(
    aws, redis_client, clock
):
    search_index = SearchIndex(redis_client)
    trending = Trending(redis_client, clock)
    indexer = Indexer(search_index, trending, clock)
    posts = PostsView(aws.dynamodb, settings().posts_table)
    now = clock.now_ms()
    # Yesterday's steady tag: used all along, so not rising.
    for minute in range(200, 30, -10):
        indexer.post_created(
            PostHit(f"old{minute}", f"p{minute}", "#weather", now - minute * 60_000)
        )
    for n in range(6):
        indexer.post_created(PostHit(f"n{n}", f"person{n}", "Launch day! #Launch", now - n * 1000))
    for n in range(10):
        indexer.post_created(PostHit(f"r{n}", "repeater", "#spam", now - n * 1000))
    top = trending.top()
    assert top[0].text == "launch" and top[0].kind == "hashtag" and top[0].people == 6
    spam = next(t for t in top if t.text == "spam")
    assert spam.people == 1
    assert top.index(spam) > 0
    # Fresh: an hour on, nothing of now is rising any more.
    clock.advance(3 * 3600)
    assert [t.text for t in trending.top()] == []
    assert posts.get_many([]) == {}
    assert index.hashtag_id("launch") == "h:launch"


def test_a_record_search_cannot_read_is_reported_and_the_rest_wait_for_the_retry(aws):
    person(aws, "zoe_s", "Zoë")
    broken = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"postId": {"S": "p"}}, "SequenceNumber": "7"},
    }
    other = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"pk": {"S": "x"}}, "SequenceNumber": "8"},
    }
    assert call("SearchIndexer", {"Records": [broken, other]}) == {
        "batchItemFailures": [{"itemIdentifier": "7"}]
    }
    # Not an event and not a post: skipped, nothing search could ever index.
    assert call("SearchIndexer", {"Records": [other]}) == {"batchItemFailures": []}
