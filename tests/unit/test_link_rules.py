import pytest

from relay.platform.errors import Invalid
from relay.shortener.links import check_url, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    "url", ["https://example.com", "http://example.com/a?b=c#d", "HTTPS://EXAMPLE.COM"]
)
def test_http_and_https_urls_are_accepted(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com", "javascript:alert(1)", "example.com", "https://", "https://a b.example"],
)
def test_other_urls_are_refused(url):
    with pytest.raises(Invalid) as error:
        check_url(url)

    assert error.value.code == "invalid_url"


def test_urls_over_2048_characters_are_refused():
    long_url = "https://example.com/" + "a" * 2029
    assert len(long_url) == 2049

    with pytest.raises(Invalid) as error:
        check_url(long_url)

    assert error.value.code == "url_too_long"
    assert check_url(long_url[:-1]) == long_url[:-1]


def test_a_cursor_round_trips_for_its_owner():
    key = {"pk": {"S": "LINK#abc"}, "owner": {"S": "alice"}, "createdAt": {"S": "2026"}}

    assert decode_cursor(encode_cursor(key), "alice") == key


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "e30"])
def test_a_garbled_cursor_is_a_400(cursor):
    with pytest.raises(Invalid):
        decode_cursor(cursor, "alice")


def test_another_owners_cursor_is_refused():
    cursor = encode_cursor({"pk": {"S": "LINK#abc"}, "owner": {"S": "alice"}})

    with pytest.raises(Invalid):
        decode_cursor(cursor, "bob")
