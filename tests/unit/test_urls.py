"""Long URLs as browsers read them: UTS #46 hosts, no credentials, no links to ourselves."""

import pytest

from relay.platform.errors import Invalid
from relay.shortener.links import check_url


def refused(url, own_hosts=()):
    with pytest.raises(Invalid) as error:
        check_url(url, own_hosts)
    return error.value.code


def test_sharp_s_stays_sharp_s_as_browsers_read_it():
    # IDNA 2003 (Python's codec) sends visitors to fass.de, a domain someone else may own.
    assert check_url("https://faß.de/") == "https://xn--fa-hia.de/"


def test_international_hosts_are_stored_in_ascii_with_port_and_path_kept():
    stored = check_url("https://bücher.example:8443/straße?q=ü")

    assert stored == "https://xn--bcher-kva.example:8443/stra%C3%9Fe?q=%C3%BC"


FULL_WIDTH_EXAMPLE = "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45"  # "example", full width


def test_full_width_letters_are_stored_as_the_host_browsers_go_to():
    assert check_url(f"https://{FULL_WIDTH_EXAMPLE}.com/a") == "https://example.com/a"
    assert check_url("https://例え。テスト/") == "https://xn--r8jz45g.xn--zckzah/"


@pytest.mark.parametrize(
    "url",
    [
        "https://a\u200db.example/",  # a zero-width joiner where none may stand
        "https://ex\uff03ample.com/",  # a full-width '#', which maps to a real one
        "https://xn--zz.example/",  # an A-label that does not decode
        "https://\u0660.example/",  # a right-to-left digit breaking the bidi rule
        "https://%65vil.example/",  # percent-encoded hosts disguise where a link goes
        "https://exa<mple.com/",
    ],
)
def test_hosts_browsers_refuse_are_a_400_not_silently_rewritten(url):
    assert refused(url) == "invalid_url"


def test_ascii_hosts_are_kept_as_written_even_where_dns_rules_are_stricter():
    assert check_url("https://my_host.example/") == "https://my_host.example/"


@pytest.mark.parametrize(
    "url",
    [
        "https://paypal.com@evil.example/",
        "https://user:password@example.com/",
        "https://@example.com/",
        "http://bank.example:443@evil.example/login",
    ],
)
def test_urls_with_credentials_are_refused(url):
    assert refused(url) == "credentials_in_url"


def test_an_at_sign_in_the_path_is_no_credential():
    assert check_url("https://example.com/@alice") == "https://example.com/@alice"


def test_a_backslash_before_the_path_is_refused_because_browsers_read_it_as_a_slash():
    # urlsplit sees the host paypal.com; a browser goes to evil.example.
    assert refused("https://evil.example\\@paypal.com/") == "credentials_in_url"
    assert refused("https://evil.example\\.paypal.com/") == "invalid_url"


@pytest.mark.parametrize(
    "url",
    [
        "https://rly.example/Ab3dE9x",
        "https://RLY.example./Ab3dE9x",
        "http://rly.example:8080/x",
    ],
)
def test_links_to_the_shorteners_own_host_are_refused(url):
    assert refused(url, own_hosts={"rly.example"}) == "self_link"


def test_an_international_spelling_of_the_own_host_is_refused_too():
    assert refused("https://BÜCHER.example/x", {"bücher.example"}) == "self_link"
    assert refused("https://xn--bcher-kva.example/x", {"bücher.example"}) == "self_link"


def test_other_hosts_and_subdomains_are_not_self_links():
    assert check_url("https://www.rly.example/", {"rly.example"}) == "https://www.rly.example/"
