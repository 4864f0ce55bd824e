import pytest

from relay.platform.errors import Invalid
from relay.shortener.links import check_url


@pytest.mark.parametrize(
    "url", ["https://example.com", "http://example.com/a?b=c#d", "HTTPS://EXAMPLE.COM"]
)
def test_http_and_https_urls_are_accepted(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "javascript:alert(1)",
        "example.com",
        "https://",
        "https://a b.example",
        "https:example.com",
        "https:/example.com",
        "https://example.com:99999/",
        "https://example.com:port/",
    ],
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


def test_a_url_that_grows_past_2048_characters_once_encoded_is_refused():
    # 2000 characters as sent, 2000 * 6 once each "€" is percent-encoded for Location.
    url = "https://example.com/" + "€" * 1980

    with pytest.raises(Invalid) as error:
        check_url(url)

    assert error.value.code == "url_too_long"


@pytest.mark.parametrize(
    "url",
    [
        "https://a.com/\ud800",  # a lone surrogate: no bytes to percent-encode
        "https://a.com/?q=\udfff",
        "https://\ud800.example/",
    ],
)
def test_a_url_that_is_not_unicode_text_is_a_400_not_a_crash(url):
    with pytest.raises(Invalid) as error:
        check_url(url)

    assert error.value.code == "invalid_url"
