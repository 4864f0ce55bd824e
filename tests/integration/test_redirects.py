import json

import pytest
import redis

from relay.platform.cache import RedisGate
from relay.platform.clock import iso
from relay.platform.errors import Gone, NotFound, RateLimited
from relay.shortener.click_log import ClickLog
from relay.shortener.links import Links, ShortenRequest
from relay.shortener.links_table import LinksTable
from relay.shortener.redirects import LinkCache, Redirects, cache_key

HEADERS = {"referer": "https://news.example/", "user-agent": "curl/8"}


class CountingStore(LinksTable):
    def __init__(self, client):
        super().__init__(client, "LinksTable")
        self.reads = 0

    def get(self, code):
        self.reads += 1
        return super().get(code)


class CountingRedis(redis.Redis):
    """Counts commands sent: each is one network round trip for a plain client."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.round_trips = 0

    def execute_command(self, *args, **options):
        self.round_trips += 1
        return super().execute_command(*args, **options)


@pytest.fixture
def world(aws, redis_client, clock):
    store = CountingStore(aws.dynamodb)
    client = CountingRedis(connection_pool=redis_client.connection_pool)
    gate = RedisGate(clock)
    clicks = []
    redirects = Redirects(client, gate, ClickLog(clicks.append), clock, store)
    links = Links(store, clock, cache=LinkCache(client, gate, clock))
    return store, client, gate, clicks, redirects, links


def test_a_miss_reads_dynamodb_once_then_the_cache_serves(world, redis_client):
    store, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), None).link.code
    redis_client.delete(cache_key(code))
    store.reads = 0

    first = redirects.resolve(code, "198.51.100.1", HEADERS)
    second = redirects.resolve(code, "198.51.100.1", HEADERS)

    assert first.long_url == second.long_url == "https://example.com/a"
    assert first.status == 301
    assert store.reads == 1


def test_a_cache_hit_is_one_round_trip(world):
    _, client, _, _, redirects, links = world
    link = links.shorten(ShortenRequest("https://example.com/a"), None).link
    client.round_trips = 0

    redirects.resolve(link.code, "198.51.100.1", HEADERS)

    assert client.round_trips == 1


def test_an_unknown_code_is_cached_as_missing(world):
    store, _, _, _, redirects, _ = world

    for _ in range(3):
        with pytest.raises(NotFound):
            redirects.resolve("Unknown", "198.51.100.1", HEADERS)

    assert store.reads == 1


def test_a_code_created_after_a_miss_is_found_at_once(world):
    _, _, _, _, redirects, links = world
    with pytest.raises(NotFound):
        redirects.resolve("launch", "198.51.100.1", HEADERS)

    links.shorten(ShortenRequest("https://example.com/a", custom_code="launch"), "alice")

    assert redirects.resolve("launch", "198.51.100.1", HEADERS).long_url == "https://example.com/a"


def test_an_implausible_code_costs_no_lookup(world):
    store, client, _, _, redirects, _ = world
    client.round_trips = 0

    with pytest.raises(NotFound):
        redirects.resolve("no/such", "198.51.100.1", HEADERS)

    assert store.reads == 0 and client.round_trips == 0


@pytest.mark.parametrize("cached", [True, False])
def test_an_expired_link_is_gone(world, clock, cached, redis_client):
    _, _, _, clicks, redirects, links = world
    request = ShortenRequest("https://example.com/a", expires_at=iso(clock.now + 58_000))
    code = links.shorten(request, None).link.code
    redis_client.delete(cache_key(code))
    if cached:
        redirects.resolve(code, "198.51.100.1", HEADERS)
    clicks.clear()

    clock.advance(59)

    with pytest.raises(Gone) as error:
        redirects.resolve(code, "198.51.100.1", HEADERS)
    assert error.value.status == 410
    assert clicks == []


def test_a_deleted_link_stops_redirecting(world):
    _, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), "alice").link.code
    redirects.resolve(code, "198.51.100.1", HEADERS)

    links.delete(code, "alice")

    with pytest.raises(NotFound):
        redirects.resolve(code, "198.51.100.1", HEADERS)


def test_temporary_links_redirect_with_302(world):
    _, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a", redirect_type=302), None).link.code

    assert redirects.resolve(code, "198.51.100.1", HEADERS).status == 302


def test_each_redirect_logs_one_click(world):
    _, _, _, clicks, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), None).link.code

    for _ in range(3):
        redirects.resolve(code, "198.51.100.1", HEADERS)

    logged = [json.loads(line) for line in clicks]
    assert [c["code"] for c in logged] == [code] * 3
    assert logged[0]["referer"] == "https://news.example/"


def test_redirects_are_rate_limited_per_ip(world):
    _, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), None).link.code
    for _ in range(600):
        redirects.resolve(code, "198.51.100.1", HEADERS)

    with pytest.raises(RateLimited) as error:
        redirects.resolve(code, "198.51.100.1", HEADERS)

    assert error.value.headers["RateLimit-Limit"] == "600"
    assert int(error.value.headers["Retry-After"]) >= 1
    assert redirects.resolve(code, "198.51.100.2", HEADERS).long_url == "https://example.com/a"


def test_with_redis_down_redirects_are_served_from_dynamodb(aws, clock):
    store = CountingStore(aws.dynamodb)
    code = Links(store, clock).shorten(ShortenRequest("https://example.com/a"), None).link.code
    dead = CountingRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    gate = RedisGate(clock)
    clicks = []
    redirects = Redirects(dead, gate, ClickLog(clicks.append), clock, store)

    targets = [redirects.resolve(code, "198.51.100.1", HEADERS) for _ in range(3)]

    assert {t.long_url for t in targets} == {"https://example.com/a"}
    assert len(clicks) == 3  # no click lost while the cache is away
    assert dead.round_trips == 1  # the gate kept the next requests off the dead server
    assert not gate.is_open()

    clock.advance(6)
    assert gate.is_open()


def test_shortening_writes_the_link_through_to_the_cache(world):
    store, client, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), "alice").link.code
    store.reads = 0
    client.round_trips = 0

    assert redirects.resolve(code, "198.51.100.1", HEADERS).long_url == "https://example.com/a"
    assert store.reads == 0 and client.round_trips == 1


def dead_redis_cache(clock):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    return LinkCache(dead, RedisGate(clock), clock)


def test_a_delete_that_cannot_reach_redis_stops_the_redirect_within_a_minute(world, clock):
    store, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), "alice").link.code
    redirects.resolve(code, "198.51.100.1", HEADERS)  # cached
    unreachable = Links(store, clock, cache=dead_redis_cache(clock))

    unreachable.delete(code, "alice")  # 204: the cache still holds the link

    clock.advance(59)
    assert redirects.resolve(code, "198.51.100.1", HEADERS).long_url == "https://example.com/a"
    clock.advance(1)
    with pytest.raises(NotFound):
        redirects.resolve(code, "198.51.100.1", HEADERS)


def test_a_cached_link_is_read_again_once_a_minute_old(world, clock):
    store, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), "alice").link.code
    store.reads = 0

    for _ in range(5):  # at 0, 25, 50, 75 and 100 s
        redirects.resolve(code, "198.51.100.1", HEADERS)
        clock.advance(25)

    assert store.reads == 1  # at 75 s, and the entry read then served the last one


def test_a_cache_entry_left_by_an_older_version_is_read_again_not_a_500(world, redis_client):
    store, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), "alice").link.code
    redis_client.set(cache_key(code), b"301||1795000000000|https://old.example/")
    store.reads = 0

    target = redirects.resolve(code, "198.51.100.1", HEADERS)

    assert target.long_url == "https://example.com/a" and store.reads == 1
    redirects.resolve(code, "198.51.100.1", HEADERS)
    assert store.reads == 1  # rewritten in the current form


def test_a_head_answers_like_a_get_and_records_no_click(world):
    _, _, _, clicks, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a", redirect_type=302), None).link.code

    head = redirects.resolve(code, "198.51.100.1", HEADERS, record=False)
    get = redirects.resolve(code, "198.51.100.1", HEADERS)

    assert (
        (head.long_url, head.status) == (get.long_url, get.status) == ("https://example.com/a", 302)
    )
    assert len(clicks) == 1


def test_the_click_line_says_how_the_cache_answered(world, aws, clock, redis_client):
    _, _, _, clicks, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), None).link.code
    redis_client.delete(cache_key(code))
    redirects.resolve(code, "198.51.100.1", HEADERS)
    redirects.resolve(code, "198.51.100.1", HEADERS)
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    lines = []
    table = LinksTable(aws.dynamodb, "LinksTable")
    Redirects(dead, RedisGate(clock), ClickLog(lines.append), clock, table).resolve(
        code, "198.51.100.1", HEADERS
    )

    answers = [json.loads(line)["cache"] for line in clicks + lines]
    assert answers == ["miss", "hit", "down"]


def country_logged(world_or_redirects, headers):
    _, _, _, clicks, redirects, links = world_or_redirects
    code = links.shorten(ShortenRequest("https://example.com/a"), None).link.code
    clicks.clear()
    redirects.resolve(code, "198.51.100.1", headers)
    return json.loads(clicks[-1])["country"]


def test_the_country_header_is_not_trusted_unless_cloudfront_is_in_front(world):
    assert country_logged(world, {"cloudfront-viewer-country": "DE"}) == ""


@pytest.mark.parametrize(
    ("header", "country"),
    [("DE", "DE"), ("de", "DE"), ("Germany", ""), ("D\u00c9", ""), ("1A", ""), ("", "")],
)
def test_behind_cloudfront_the_country_is_two_letters_or_nothing(
    aws, redis_client, clock, header, country
):
    store = LinksTable(aws.dynamodb, "LinksTable")
    gate = RedisGate(clock)
    clicks = []
    redirects = Redirects(
        redis_client, gate, ClickLog(clicks.append), clock, store, trust_country=True
    )
    links = Links(store, clock)
    world = (store, redis_client, gate, clicks, redirects, links)

    assert country_logged(world, {"cloudfront-viewer-country": header}) == country
