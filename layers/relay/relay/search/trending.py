"""Trending: hashtags and searches rising now (GET /api/trending).

Each use of a term (a hashtag in a post, a search run) is counted in its minute's bucket
once per person per DEDUPE_S, so one person repeating a term is one person. A read
sums the last TRENDING_WINDOW_BUCKETS minutes with a half-life of TRENDING_HALF_LIFE_S
and sets that against what the TRENDING_BASELINE_BUCKETS minutes before would predict:
a term rises when it is used by more people than it usually is. Computed at each read
(one round trip), so it is as fresh as the last count.
"""

from __future__ import annotations

import math

import redis

from relay.platform.clock import Clock
from relay.search import index, rules
from relay.search.models import Trend


def bucket_of(at_ms: int) -> int:
    return at_ms // 1000 // rules.BUCKET_S


class Trending:
    def __init__(self, client: redis.Redis, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    def count(self, term_id: str, person: str, at_ms: int | None = None) -> bool:
        """Count `person` using a term (`h:<tag>` or `q:<query>`); False when they were
        counted for it already in this period."""
        at_ms = self.clock.now_ms() if at_ms is None else at_ms
        period = at_ms // 1000 // rules.DEDUPE_S
        seen = index.bucket_people_key(period, term_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(seen, person)
        pipe.expire(seen, rules.DEDUPE_S * 2)
        first = bool(pipe.execute()[0])
        if first:
            bucket = index.bucket_key(bucket_of(at_ms))
            pipe = self.client.pipeline(transaction=False)
            pipe.zincrby(bucket, 1, term_id)
            pipe.expire(bucket, rules.BUCKET_TTL_S)
            pipe.execute()
        return first

    def top(self, size: int = rules.TRENDING_SIZE) -> list[Trend]:
        now = bucket_of(self.clock.now_ms())
        window = {
            index.bucket_key(now - age): 0.5 ** (age * rules.BUCKET_S / rules.TRENDING_HALF_LIFE_S)
            for age in range(rules.TRENDING_WINDOW_BUCKETS)
        }
        baseline = [
            index.bucket_key(now - rules.TRENDING_WINDOW_BUCKETS - age)
            for age in range(rules.TRENDING_BASELINE_BUCKETS)
        ]
        pipe = self.client.pipeline(transaction=False)
        pipe.zunion(window, withscores=True)
        pipe.zunion(list(window), withscores=True)
        pipe.zunion(baseline, withscores=True)
        recent, people, before = pipe.execute()
        weight = sum(window.values())
        usual = {term: count for term, count in before}
        seen = {term: count for term, count in people}
        trends: list[Trend] = []
        for term, decayed in recent:
            expected = usual.get(term, 0.0) / rules.TRENDING_BASELINE_BUCKETS * weight
            score = (decayed - expected) / math.sqrt(expected + 1.0)
            if score <= 0:
                continue
            name = term.decode() if isinstance(term, bytes) else str(term)
            people = int(seen.get(term, 0))
            if name.startswith("h:"):
                trends.append(Trend("hashtag", name[2:], round(score, 4), people))
            else:
                trends.append(Trend("query", name[2:], round(score, 4), people))
        trends.sort(key=lambda t: (-t.score, t.text))
        return trends[:size]
