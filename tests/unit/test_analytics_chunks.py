from relay.shortener.analytics import MAX_ITEMS, chunks, counters_key, dimensions
from relay.shortener.clicks import Click

GENERATION = 1_790_000_000_000


def click(i, code="Ab3dE9x", referer=""):
    return Click(f"id{i}", code, GENERATION, 1_795_000_000_000, referer, "curl/8", "DE")


def test_a_click_counts_in_five_dimensions():
    assert dimensions(click(1, referer="https://news.example/")) == [
        "TOTAL",
        "DAY#2026-11-18",
        "REF#news.example",
        "CTRY#DE",
        "DEV#bot",
    ]


def test_clicks_on_one_link_share_their_counters():
    result = chunks([click(i) for i in range(500)])

    assert sum(len(chunk.clicks) for chunk in result) == 500
    assert (
        sum(chunk.counters[(counters_key("Ab3dE9x", GENERATION), "TOTAL")] for chunk in result)
        == 500
    )
    # One marker per click plus five shared counters: 95 clicks fit one transaction.
    assert [len(chunk.clicks) for chunk in result] == [95] * 5 + [25]


def test_chunks_never_need_more_than_one_transaction():
    many = [click(i, code=f"code{i:04d}") for i in range(300)]

    result = chunks(many)

    assert all(chunk.items() <= MAX_ITEMS for chunk in result)
    assert sum(len(chunk.clicks) for chunk in result) == 300
    assert chunks(many) == result  # the same clicks always cut the same way


def test_a_click_repeated_within_a_batch_counts_once():
    [chunk] = chunks([click(1), click(1), click(2)])

    assert [c.id for c in chunk.clicks] == ["id1", "id2"]


def test_a_reused_code_is_another_link():
    assert counters_key("Ab3dE9x", 1) != counters_key("Ab3dE9x", 2)
