"""The bounded top-referrers summary (Space-Saving)."""

import random

from relay.shortener.topk import TopK


def test_hosts_under_capacity_are_counted_exactly():
    top = TopK(capacity=3)
    for host, n in (("a", 5), ("b", 2), ("a", 1), ("c", 7)):
        top.add(host, n)

    assert top.top(3) == [("c", 7), ("a", 6), ("b", 2)]


def test_a_new_host_takes_the_smallest_slot_and_carries_its_count_as_error():
    top = TopK(capacity=2)
    top.add("big", 100)
    top.add("small", 3)

    top.add("new", 1)

    assert top.entries == {"big": [100, 0], "new": [4, 3]}
    assert top.top(2) == [("big", 100), ("new", 1)]  # shown at what it surely had


def test_spraying_random_referrers_cannot_push_out_a_real_top_referrer():
    # Given a real referrer with a tenth of the clicks, and thousands of one-off hosts
    rng = random.Random(7)
    top = TopK(capacity=50)
    total = 0
    for i in range(10_000):
        if i % 10 == 0:
            top.add("news.example", 1)
        else:
            top.add(f"junk{rng.randrange(10**9)}.example", 1)
        total += 1

    # Then it is still first, and never shown with more clicks than it had
    (first_host, first_count), *_ = top.top(20)
    assert first_host == "news.example"
    assert 0 < first_count <= 1_000
    # and what is shown never adds up to more than the total
    assert sum(count for _, count in top.top(20)) <= total


def test_the_summary_round_trips_through_its_stored_form():
    top = TopK()
    top.add("a.example", 3)

    assert TopK.loads(top.dumps()) == top
