"""Part: the suggest handler (GET /api/suggest) warm, against a bare redis-py pipeline
fetching the same data, in the same run.

The index holds people named by Faker (seeded), hashtags and searches from wordfreq's
English list with their Zipf frequencies as popularity: data the packages ship, nothing
downloaded. Queries are prefixes (2 to 9 characters, now and then with one typo) of
terms drawn by the same frequencies. Each call comes from one of many callers, each
with a copy of whom they follow, so the hot path meets what a deployed one meets: the
caller's sign-out mark, their rate limit and the suggestion script, one pipeline.
The bare call sends that very pipeline with redis-py and nothing else. Round trips are
counted on the client's connections (one `get_connection` per pipeline or command).
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from bench.common import REDIS_URL, PartResult, Row, flush_bench_db, percentile, us, verdict

PEOPLE = 20_000
HASHTAGS = 3_000
SEARCHES = 5_000
CALLERS = 2_000
N = 4_000
BLOCK = 100
WARMUP = 400


def _index(client: Any) -> list[str]:
    """Fill the index; the terms queries are drawn from, by popularity."""
    from faker import Faker
    from wordfreq import top_n_list, word_frequency

    from relay.accounts.models import User
    from relay.platform.clock import SystemClock
    from relay.search.index import SearchIndex
    from relay.search.indexer import Indexer, hashtag_doc, query_doc
    from relay.search.trending import Trending

    fake = Faker("en_US")
    Faker.seed(20)
    search_index = SearchIndex(client)
    indexer = Indexer(search_index, Trending(client, SystemClock()), SystemClock())
    words = [w for w in top_n_list("en", 20_000) if w.isalpha() and len(w) > 2]
    terms: list[str] = []
    for n in range(PEOPLE):
        first, last = fake.first_name(), fake.last_name()
        handle = f"{first}_{last}{n}".lower()[:30]
        user = User(f"sub{n}", handle, f"{first} {last}", "", "", 0)
        indexer.person(user, popularity=1 + int(random.paretovariate(1.2)))
        terms += [handle, last.lower()]
    for word in words[:HASHTAGS]:
        search_index.put(hashtag_doc(word), int(word_frequency(word, "en") * 1e7) + 1)
    for n in range(SEARCHES):
        phrase = f"{words[n % 4000]} {words[(n * 7) % 9000]}"
        search_index.put(query_doc(phrase), int(word_frequency(words[n % 4000], "en") * 1e6) + 3)
    search_index.mark_built(0)
    weighted = words[:HASHTAGS] + terms
    return weighted


def _queries(terms: list[str], count: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for _ in range(count):
        # Zipf over the list (its head is the common words): rank ~ 1/u.
        term = terms[min(len(terms) - 1, int(len(terms) * rng.random() ** 3))]
        size = rng.randint(2, min(9, max(2, len(term))))
        typed = term[:size]
        if size >= 5 and rng.random() < 0.2:
            at = rng.randrange(size)
            typed = typed[:at] + typed[at + 1 :]
        out.append(typed)
    return out


def run() -> PartResult:
    import redis

    from relay.platform import cache
    from relay.platform.ratelimit import RULES, RateLimiter
    from relay.search import rules
    from relay.search.index import BUILT, SUGGEST, SearchIndex
    from relay.search.suggest import Query, Suggester
    from tests.support.lambdas import Context, handler, http_event

    result = PartResult("search")
    flush_bench_db()
    bare = redis.Redis.from_url(REDIS_URL)
    started = time.perf_counter()
    terms = _index(bare)
    filled_s = time.perf_counter() - started
    memory = int(bare.info("memory")["used_memory"])
    index = SearchIndex(bare)
    for n in range(CALLERS):
        index.keep_follows(f"caller{n}", [f"sub{(n * 13 + k) % PEOPLE}" for k in range(30)])
        for k in range(3):
            index.remember_search(f"caller{n}", terms[(n + k * 101) % len(terms)], k)
    queries = _queries(terms, N + WARMUP)

    lambda_handler = handler("SearchApi")
    context = Context()

    def event(n: int, q: str) -> dict[str, Any]:
        return http_event(
            "GET /api/suggest", "/api/suggest", user=f"caller{n % CALLERS}", query={"q": q}
        )

    events = [event(n, q) for n, q in enumerate(queries)]
    limiter = RateLimiter(bare)
    suggester = Suggester(bare, cache.RedisGate(), handle_owner=lambda h: None, followees=list)
    RateLimiter.load(bare)
    bare.script_load(SUGGEST.text)

    def bare_call(n: int, q: str) -> None:
        sub = f"caller{n % CALLERS}"
        keys, exact = suggester.keys(sub, Query.of(q))
        checks = [(RULES["suggest-user"], sub)]
        pipe = bare.pipeline(transaction=False)
        pipe.get(f"relay:signed-out:{sub}")
        limiter.queue(pipe, checks)
        pipe.exists(BUILT)
        pipe.evalsha(SUGGEST.sha, len(keys), *keys, exact, rules.TOP_K, rules.TYPO_READ, 20)
        pipe.execute()

    for n in range(WARMUP):
        reply = lambda_handler(events[n], context)
        bare_call(n, queries[n])
    assert reply["statusCode"] == 200, reply

    handler_ns: list[int] = []
    bare_ns: list[int] = []
    perf = time.perf_counter_ns
    statuses: dict[int, int] = {}
    found = 0
    for block in range(WARMUP, WARMUP + N, BLOCK):
        for n in range(block, block + BLOCK):
            start = perf()
            reply = lambda_handler(events[n], context)
            handler_ns.append(perf() - start)
            statuses[reply["statusCode"]] = statuses.get(reply["statusCode"], 0) + 1
            found += bool(json.loads(reply["body"]).get("items"))
        for n in range(block, block + BLOCK):
            start = perf()
            bare_call(n, queries[n])
            bare_ns.append(perf() - start)

    # Round trips, outside the timed loop.
    pool = cache.redis_client().connection_pool
    taken = {"n": 0}
    original = pool.get_connection

    def counting(*args: Any, **kwargs: Any) -> Any:
        taken["n"] += 1
        return original(*args, **kwargs)

    pool.get_connection = counting  # type: ignore[method-assign]
    for n in range(200):
        lambda_handler(events[WARMUP + n], context)
    pool.get_connection = original  # type: ignore[method-assign]
    trips = taken["n"] / 200

    h50, h99 = percentile(handler_ns, 50), percentile(handler_ns, 99)
    b50, b99 = percentile(bare_ns, 50), percentile(bare_ns, 99)
    mean_s = sum(handler_ns) / len(handler_ns) / 1e9
    result.rows += [
        Row(
            "search",
            "suggest handler p50",
            us(h50),
            us(b50),
            h50 / b50,
            "<= 1.5x",
            verdict(h50 / b50, 1.5),
            "bare: the same pipeline with redis-py",
        ),
        Row(
            "search",
            "suggest handler p99",
            us(h99),
            us(b99),
            h99 / b99,
            "<= 2x",
            verdict(h99 / b99, 2.0),
        ),
        Row(
            "search",
            "suggest Redis round trips per query",
            f"{trips:.2f}",
            "",
            None,
            "1",
            "PASS" if trips <= 1.0 else "MISS",
        ),
        Row(
            "search",
            "suggest throughput per core",
            f"{1 / mean_s:,.0f} /s",
            "",
            None,
            "",
            "",
            f"1 / mean handler time; {statuses}",
        ),
        Row(
            "search",
            "index memory",
            f"{memory / 2**20:.0f} MiB",
            "",
            None,
            "",
            "",
            f"{PEOPLE:,} people, {HASHTAGS:,} hashtags, {SEARCHES:,} searches; "
            f"filled in {filled_s:.0f} s",
        ),
    ]
    result.details.append(
        f"Suggest: {N:,} warm calls over {CALLERS:,} callers, prefixes of 2 to 9 characters "
        f"drawn by Zipf frequency, a fifth of the longer ones with one typo; {found:,} "
        "answered with at least one suggestion."
    )
    return result
