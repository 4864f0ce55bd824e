"""Counting batches of clicks into the clicks table (moto, built from template.yaml)."""

from __future__ import annotations

import json

import pytest

from relay.shortener import analytics
from relay.shortener.clicks import Batch, Click, pack
from relay.shortener.clicks_table import ClicksTable, Conflict, LinkKey, MonthKey, Refused
from relay.shortener.counting import ClickCounter

NOW = 1_795_000_000_000
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


def click(n: int, code: str = "Ab3dE9x", referer: str = "", country: str = "") -> Click:
    return Click(f"{n:032x}", code, 1, NOW + n, referer, IPHONE, country)


def batch_of(*clicks: Click) -> Batch:
    return Batch.of(clicks)


@pytest.fixture
def store(aws):
    return ClicksTable(aws.dynamodb, "ClicksTable")


@pytest.fixture
def pauses():
    return []


@pytest.fixture
def counter(store, pauses):
    return ClickCounter(store, lambda: NOW, pauses.append)


def summary(store, code="Ab3dE9x"):
    return analytics.summary(store, code, 1, NOW)


def test_a_batch_is_counted_once_however_often_it_comes(counter, store):
    batch = batch_of(*(click(i, referer="https://news.example/") for i in range(10)))

    first = counter.count([batch])
    again = counter.count([batch])

    assert (first.counted, again.counted, again.seen) == (10, 0, 10)
    counted = summary(store)
    assert counted.clicks == 10
    assert counted.referrers == {"news.example": 10}
    assert counted.devices == {"mobile": 10}
    assert counted.daily == {"2026-11-18": 10}


@pytest.fixture
def transactions(store):
    """The item count of each transaction the store sends."""
    sizes = []
    client = store.client
    send = client.transact_write_items

    def counted(**kwargs):
        sizes.append(len(kwargs["TransactItems"]))
        return send(**kwargs)

    client.transact_write_items = counted
    return sizes


def test_a_delivery_of_ten_batches_on_one_link_is_one_transaction_of_eleven_items(
    counter, store, transactions
):
    batches = [batch_of(*(click(100 * b + i) for i in range(100))) for b in range(10)]

    outcome = counter.count(batches)

    # Ten markers, and the link's month: its total, day, device, country, direct visits
    assert outcome.counted == 1000
    assert transactions == [11]
    assert summary(store).clicks == 1000


def test_referrer_hosts_ride_on_the_months_item(counter, store, transactions):
    batch = batch_of(
        *(click(i, referer="https://news.example/" if i % 2 else "") for i in range(100))
    )

    counter.count([batch])

    assert transactions == [2]  # the marker, and the month with its referrers
    assert summary(store).referrers == {"direct": 50, "news.example": 50}


def test_a_delivery_holding_a_batch_counted_before_counts_only_the_rest(counter, store):
    old, new = batch_of(click(1), click(2)), batch_of(click(3))
    counter.count([old])

    outcome = counter.count([old, new])

    assert (outcome.counted, outcome.seen) == (1, 2)
    assert summary(store).clicks == 3


def test_a_batch_too_big_for_one_transaction_is_cut_in_halves_counted_once(counter, store):
    # 150 links in one batch: one item each, over a transaction's hundred
    clicks = [click(i, code=f"link{i:03d}", referer="https://a.example/") for i in range(150)]
    batch = batch_of(*clicks)

    first = counter.count([batch])
    again = counter.count([batch])

    assert (first.counted, again.counted, again.seen) == (150, 0, 150)
    assert all(summary(store, f"link{i:03d}").clicks == 1 for i in range(150))


class _RefusingStore:
    """A store that refuses, as DynamoDB's ValidationException, any write holding one click."""

    def __init__(self, store: ClicksTable, poison_code: str) -> None:
        self.store = store
        self.poison = poison_code

    def referrers(self, links):
        return self.store.referrers(links)

    def add(self, batch_ids, increments, referrers, now_ms):
        if any(month.link.code == self.poison for month in increments):
            raise Refused("ValidationException: an item's key is too large")
        self.store.add(batch_ids, increments, referrers, now_ms)


def test_a_click_dynamodb_refuses_is_set_aside_and_the_rest_counted_once(store, pauses):
    set_aside = []
    counter = ClickCounter(
        _RefusingStore(store, "poison"),
        lambda: NOW,
        pauses.append,
        lambda c, why: set_aside.append(c),
    )
    good = [click(i, code=f"good{i % 3}") for i in range(20)]
    bad = click(99, code="poison")
    batch = batch_of(*good[:10], bad, *good[10:])

    outcome = counter.count([batch])
    again = counter.count([batch])

    assert outcome.counted == 20 and [c.id for c in outcome.set_aside] == [bad.id]
    assert [c.id for c in set_aside] == [bad.id, bad.id]  # refused again on redelivery
    assert again.counted == 0 and again.seen == 20
    assert sum(summary(store, f"good{i}").clicks for i in range(3)) == 20


class _ConflictingStore:
    def __init__(self, store: ClicksTable, conflicts: int) -> None:
        self.store = store
        self.conflicts = conflicts

    def referrers(self, links):
        return self.store.referrers(links)

    def add(self, batch_ids, increments, referrers, now_ms):
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict()
        self.store.add(batch_ids, increments, referrers, now_ms)


def test_a_conflicting_write_is_retried_after_a_pause(store, pauses):
    counter = ClickCounter(_ConflictingStore(store, 2), lambda: NOW, pauses.append)

    assert counter.count([batch_of(click(1))]).counted == 1
    assert len(pauses) == 2 and 0 < pauses[0] <= 0.01 and 0 < pauses[1] <= 0.02


def test_endless_conflicts_give_up_so_the_message_is_retried_later(store, pauses):
    counter = ClickCounter(_ConflictingStore(store, 100), lambda: NOW, pauses.append)

    with pytest.raises(Conflict):
        counter.count([batch_of(click(1))])
    assert summary(store).clicks == 0


def test_concurrent_writers_of_one_links_referrers_both_count(store, pauses):
    # Given a consumer that read the referrer summary just before another one wrote it
    counter = ClickCounter(store, lambda: NOW, pauses.append)
    first = batch_of(click(1, referer="https://a.example/"))
    month = MonthKey(LinkKey("Ab3dE9x", 1), "2026-11")
    stale = store.referrers([month])
    counter.count([first])

    # When the stale writer writes, its condition fails: it reads again and retries
    from relay.shortener.topk import TopK

    late = batch_of(click(2, referer="https://b.example/"))
    with pytest.raises(Conflict):
        from relay.shortener.counting import increments

        top = TopK()
        top.add("b.example", 1)
        store.add([late.id], increments([late]), {month: (stale[month], top)}, NOW)
    counter.count([late])

    assert summary(store).referrers == {"a.example": 1, "b.example": 1}


def test_referrers_and_countries_are_the_top_20_plus_other_summing_to_the_total(counter, store):
    clicks = [click(i, referer=f"https://site{i % 30}.example/") for i in range(300)]
    clicks += [click(1000 + i, referer="https://news.example/") for i in range(100)]
    for batch in pack(json.dumps({"kind": "click", **vars(c)}) for c in clicks):
        counter.count([batch])

    counted = summary(store)

    assert counted.clicks == 400
    assert len(counted.referrers) == 21 and counted.referrers["news.example"] == 100
    assert sum(counted.referrers.values()) == 400
    assert counted.countries == {"unknown": 400}
    assert sum(counted.devices.values()) == 400


def test_random_referrers_keep_the_summary_bounded(counter, store):
    clicks = [click(i, referer=f"https://r{i}.example/") for i in range(500)]
    for batch in pack(json.dumps({"kind": "click", **vars(c)}) for c in clicks):
        counter.count([batch])

    refs = store.read(LinkKey("Ab3dE9x", 1)).referrers

    assert len(refs) <= 50
    assert sum(summary(store).referrers.values()) == 500


def test_clicks_across_a_month_boundary_add_up_in_the_summary(store, pauses):
    # Given clicks on the last day of October and the first of November (UTC)
    oct_31, nov_1 = 1_793_491_200_000 - 1_000, 1_793_491_200_000
    counter = ClickCounter(store, lambda: nov_1, pauses.append)
    clicks = [
        Click(
            f"{i:032x}",
            "Ab3dE9x",
            1,
            oct_31 if i < 3 else nov_1,
            f"https://s{i % 2}.example/",
            IPHONE,
            "DE",
        )
        for i in range(5)
    ]

    counter.count([batch_of(*clicks)])
    counted = analytics.summary(store, "Ab3dE9x", 1, nov_1)

    assert counted.clicks == 5
    assert counted.daily == {"2026-10-31": 3, "2026-11-01": 2}
    assert counted.referrers == {"s0.example": 3, "s1.example": 2}
    assert counted.countries == {"DE": 5}
