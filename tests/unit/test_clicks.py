import json

import pytest

from relay.shortener import clicks
from relay.shortener.click_log import ClickLog


def logged_click(code="Ab3dE9x", **headers):
    lines = []
    ClickLog(lines.append).record(code, 1_790_000_000_000, 1_795_000_000_000, headers)
    return lines


def test_a_click_is_one_json_line_with_the_raw_request_facts():
    lines = logged_click(referer="https://news.example/x", **{"user-agent": "Mozilla/5.0 (iPhone)"})

    assert len(lines) == 1 and lines[0].endswith("\n") and lines[0].count("\n") == 1
    click = json.loads(lines[0])
    assert (
        click["kind"] == "click" and click["code"] == "Ab3dE9x" and click["ts"] == 1_795_000_000_000
    )
    assert click["referer"] == "https://news.example/x"
    assert len(click["id"]) == 32


def test_every_click_gets_its_own_id():
    ids = {json.loads(logged_click()[0])["id"] for _ in range(100)}

    assert len(ids) == 100


def test_oversized_headers_are_cut_so_a_line_stays_small():
    line = logged_click(referer="https://x.example/" + "a" * 5000)[0]

    assert len(json.loads(line)["referer"]) == clicks.MAX_HEADER


def test_pack_is_deterministic_and_bounded():
    lines = [logged_click(code=f"code{i:03d}")[0] for i in range(250)]

    first, again = clicks.pack(lines), clicks.pack(lines)

    assert first == again
    assert [len(batch.clicks) for batch in first] == [100, 100, 50]
    assert len({batch.id for batch in first}) == 3


def test_a_batch_travels_as_a_message_and_comes_back_the_same():
    batch = clicks.pack([logged_click(code=f"code{i}")[0] for i in range(5)])[0]

    assert clicks.unpack(batch.body()) == batch


def test_a_batch_whose_clicks_were_changed_is_refused():
    body = json.loads(clicks.pack([logged_click()[0]])[0].body())
    body["clicks"][0]["code"] = "another"

    with pytest.raises(ValueError, match="batch id"):
        clicks.unpack(json.dumps(body))


def test_halves_are_batches_with_ids_derived_from_the_whole():
    batch = clicks.pack([logged_click(code=f"code{i}")[0] for i in range(5)])[0]

    first, second = batch.halves()

    assert (first.id, second.id) == (f"{batch.id}.0", f"{batch.id}.1")
    assert first.clicks + second.clicks == batch.clicks
    assert batch.halves() == (first, second)


def test_pack_skips_lines_that_are_not_clicks():
    lines = ["START RequestId: 1", '{"kind": "other"}', "[" * 5000, logged_click()[0]]

    [batch] = clicks.pack(lines)

    assert len(batch.clicks) == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"clicks": 3}',
        '{"clicks": [{"code": "x"}]}',
        "[" * 5000,
        '{"batch": "x", "clicks": [{"id": "1", "code": "abcd", "gen": 1, "ts": 1}]}',
    ],
)
def test_unpack_refuses_a_message_that_is_not_ours(body):
    with pytest.raises(ValueError):
        clicks.unpack(body)


def test_the_cache_answer_and_a_trusted_country_travel_in_the_line():
    line = []
    ClickLog(line.append).record("Ab3dE9x", 1, 2, {}, country="DE", cache="hit")

    click = json.loads(line[0])
    assert (click["country"], click["cache"]) == ("DE", "hit")


def test_a_click_line_never_takes_its_country_from_a_header_by_itself():
    click = json.loads(logged_click(**{"cloudfront-viewer-country": "DE"})[0])

    assert click["country"] == ""


@pytest.mark.parametrize(
    ("referer", "host"),
    [
        ("", "direct"),
        ("https://www.news.example/a", "news.example"),
        ("https://NEWS.example./a", "news.example"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://" + "\u6f22" * 300 + ".example/", "other"),
        ("https://a_b.example/", "other"),
        ("not a url at all", "direct"),
        ("https://[::1/", "other"),
        ("https://" + "a" * 60 + "." + "b" * 60 + ".example/", "b" * 60 + ".example"),
    ],
)
def test_referrer_hosts_are_bounded_ascii_host_names(referer, host):
    assert clicks.referrer_host(referer) == host
    assert len(clicks.referrer_host(referer).encode()) <= clicks.MAX_HOST_BYTES


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", "mobile"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36", "mobile"),
        ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) Mobile/15E148", "tablet"),
        ("Mozilla/5.0 (Linux; Android 13; SM-X700) Safari/537.36", "tablet"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0", "desktop"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15", "desktop"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "bot"),
        ("curl/8.5.0", "bot"),
        ("", "other"),
        ("SomethingElse/1.0", "other"),
    ],
)
def test_device_class(agent, expected):
    assert clicks.device_class(agent) == expected


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("https://www.news.example/story?id=1", "news.example"),
        ("http://Blog.Example:8080/a", "blog.example"),
        ("", "direct"),
        ("not a url", "direct"),
    ],
)
def test_referrer_host(referer, expected):
    assert clicks.referrer_host(referer) == expected


def test_country_codes_are_normalised():
    assert clicks.country("de") == "DE"
    assert clicks.country("") == "unknown"
    assert clicks.country("Germany") == "unknown"
