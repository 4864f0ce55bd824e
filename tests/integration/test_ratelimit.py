import pytest

from relay.platform.errors import RateLimited
from relay.platform.ratelimit import RateLimiter, Rule

TEN_A_MINUTE = Rule("test-ten", limit=10, period_s=60)
THREE_A_MINUTE = Rule("test-three", limit=3, period_s=60)


def test_a_rule_allows_its_limit_then_denies(redis_client, clock):
    limiter = RateLimiter(redis_client, clock)

    decisions = [limiter.check([(TEN_A_MINUTE, "ip-1")]) for _ in range(11)]

    assert [d.allowed for d in decisions] == [True] * 10 + [False]
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    denied = decisions[-1]
    assert denied.retry_after_s == 6  # one request's worth of a 60 s / 10 budget
    with pytest.raises(RateLimited) as error:
        denied.raise_if_denied()
    assert error.value.status == 429
    assert error.value.headers["Retry-After"] == "6"
    assert error.value.headers["RateLimit-Limit"] == "10"
    assert error.value.headers["RateLimit-Remaining"] == "0"


def test_quota_comes_back_as_time_passes(redis_client, clock):
    limiter = RateLimiter(redis_client, clock)
    for _ in range(10):
        limiter.check([(TEN_A_MINUTE, "ip-1")])

    clock.advance(6)

    assert limiter.check([(TEN_A_MINUTE, "ip-1")]).allowed
    assert not limiter.check([(TEN_A_MINUTE, "ip-1")]).allowed


def test_identities_are_limited_separately(redis_client, clock):
    limiter = RateLimiter(redis_client, clock)
    for _ in range(10):
        limiter.check([(TEN_A_MINUTE, "ip-1")])

    assert limiter.check([(TEN_A_MINUTE, "ip-2")]).allowed


def test_every_instance_shares_the_same_counters(redis_client, clock):
    first, second = RateLimiter(redis_client, clock), RateLimiter(redis_client, clock)

    allowed = [
        (first if i % 2 else second).check([(THREE_A_MINUTE, "u")]).allowed for i in range(4)
    ]

    assert allowed == [True, True, True, False]


def test_rules_are_all_or_nothing(redis_client, clock):
    limiter = RateLimiter(redis_client, clock)
    for _ in range(3):
        limiter.check([(THREE_A_MINUTE, "u")])

    denied = limiter.check([(TEN_A_MINUTE, "u"), (THREE_A_MINUTE, "u")])
    alone = limiter.check([(TEN_A_MINUTE, "u")])

    assert not denied.allowed and denied.limit == 3
    assert alone.allowed and alone.remaining == 9  # the denied request consumed nothing


def test_headers_report_the_tightest_rule(redis_client, clock):
    decision = RateLimiter(redis_client, clock).check([(TEN_A_MINUTE, "u"), (THREE_A_MINUTE, "u")])

    assert decision.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "20",
    }


def test_the_script_is_reloaded_after_a_server_flush(redis_client, clock):
    limiter = RateLimiter(redis_client, clock)
    limiter.check([(TEN_A_MINUTE, "u")])
    redis_client.script_flush()

    assert limiter.check([(TEN_A_MINUTE, "u")]).remaining == 8


def test_the_same_round_trip_can_read_a_key(redis_client, clock):
    redis_client.set("link:abc", b"301||https://example.com")

    decision = RateLimiter(redis_client, clock).check([(TEN_A_MINUTE, "u")], also_get="link:abc")

    assert decision.value == b"301||https://example.com"


def test_counters_expire_with_their_period(redis_client, clock):
    RateLimiter(redis_client, clock).check([(TEN_A_MINUTE, "u")])

    ttl = redis_client.pttl("rl:test-ten:u")

    assert 0 < ttl <= 6000
