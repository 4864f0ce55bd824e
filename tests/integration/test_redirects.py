import json

import pytest
import redis

from relay.platform.cache import RedisGate
from relay.platform.clock import iso
from relay.platform.errors import Gone, NotFound, RateLimited
from relay.shortener.clicks import ClickLog
from relay.shortener.links import Links, ShortenRequest
from relay.shortener.redirects import Redirects, forget, remember
from relay.shortener.store import LinkStore

HEADERS = {"referer": "https://news.example/", "user-agent": "curl/8"}


class CountingStore(LinkStore):
    def __init__(self):
        super().__init__()
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
    store = CountingStore()
    client = CountingRedis(connection_pool=redis_client.connection_pool)
    gate = RedisGate(clock)
    clicks = []
    redirects = Redirects(client, gate, ClickLog(clicks.append), clock, store)
    links = Links(store, clock)
    return store, client, gate, clicks, redirects, links


def test_a_miss_reads_dynamodb_once_then_the_cache_serves(world):
    store, _, _, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), None).link.code
    store.reads = 0

    first = redirects.resolve(code, "198.51.100.1", HEADERS)
    second = redirects.resolve(code, "198.51.100.1", HEADERS)

    assert first.long_url == second.long_url == "https://example.com/a"
    assert first.status == 301
    assert store.reads == 1


def test_a_cache_hit_is_one_round_trip(world):
    _, client, gate, _, redirects, links = world
    link = links.shorten(ShortenRequest("https://example.com/a"), None).link
    remember(client, gate, link)
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
    _, client, gate, _, redirects, links = world
    with pytest.raises(NotFound):
        redirects.resolve("launch", "198.51.100.1", HEADERS)

    link = links.shorten(
        ShortenRequest("https://example.com/a", custom_code="launch"), "alice"
    ).link
    remember(client, gate, link)

    assert redirects.resolve("launch", "198.51.100.1", HEADERS).long_url == "https://example.com/a"


def test_an_implausible_code_costs_no_lookup(world):
    store, client, _, _, redirects, _ = world
    client.round_trips = 0

    with pytest.raises(NotFound):
        redirects.resolve("no/such", "198.51.100.1", HEADERS)

    assert store.reads == 0 and client.round_trips == 0


@pytest.mark.parametrize("cached", [True, False])
def test_an_expired_link_is_gone(world, clock, cached):
    _, _, _, clicks, redirects, links = world
    request = ShortenRequest("https://example.com/a", expires_at=iso(clock.now + 60_000))
    code = links.shorten(request, None).link.code
    if cached:
        redirects.resolve(code, "198.51.100.1", HEADERS)
    clicks.clear()

    clock.advance(61)

    with pytest.raises(Gone) as error:
        redirects.resolve(code, "198.51.100.1", HEADERS)
    assert error.value.status == 410
    assert clicks == []


def test_a_deleted_link_stops_redirecting(world):
    _, client, gate, _, redirects, links = world
    code = links.shorten(ShortenRequest("https://example.com/a"), "alice").link.code
    redirects.resolve(code, "198.51.100.1", HEADERS)

    links.delete(code, "alice")
    forget(client, gate, code)

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
    store = CountingStore()
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
