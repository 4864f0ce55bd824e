from relay.shortener.analytics import MAX_COUNTERS, chunks, dimensions, marker_key
from relay.shortener.clicks import Click


def click(i, code="Ab3dE9x", referer=""):
    return Click(f"id{i}", code, 1_795_000_000_000, referer, "curl/8", "DE")


def test_a_click_counts_in_five_dimensions():
    assert dimensions(click(1, referer="https://news.example/")) == [
        "TOTAL",
        "DAY#2026-11-18",
        "REF#news.example",
        "CTRY#DE",
        "DEV#bot",
    ]


def test_clicks_on_one_link_share_their_counters():
    [chunk] = chunks([click(i) for i in range(500)])

    assert len(chunk.click_ids) == 500
    assert chunk.counters[("LINK#Ab3dE9x", "TOTAL")] == 500


def test_chunks_never_need_more_than_one_transaction():
    many = [click(i, code=f"code{i:04d}") for i in range(300)]

    result = chunks(many)

    assert all(len(chunk.counters) <= MAX_COUNTERS for chunk in result)
    assert sum(len(chunk.click_ids) for chunk in result) == 300
    assert chunks(many) == result  # the same clicks always cut the same way


def test_marker_names_the_exact_set_of_clicks():
    assert marker_key(["a", "b"]) == marker_key(["a", "b"])
    assert marker_key(["a", "b"]) != marker_key(["a", "c"])
