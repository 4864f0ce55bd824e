import pytest

from relay.platform.clock import iso
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from relay.shortener import codes
from relay.shortener.links import Links, ShortenRequest
from relay.shortener.store import LinkStore


@pytest.fixture
def links(aws, clock):
    return Links(LinkStore(), clock)


def test_shortening_the_same_url_twice_gives_the_same_code(links):
    first = links.shorten(ShortenRequest("https://example.com/a"), owner="alice")
    again = links.shorten(ShortenRequest("https://example.com/a"), owner="alice")

    assert first.created and not again.created
    assert again.link.code == first.link.code
    assert len(first.link.code) == 7


def test_different_owners_or_options_get_different_codes(links):
    alice = links.shorten(ShortenRequest("https://example.com/a"), owner="alice")
    bob = links.shorten(ShortenRequest("https://example.com/a"), owner="bob")
    temporary = links.shorten(
        ShortenRequest("https://example.com/a", redirect_type=302), owner="alice"
    )

    assert len({alice.link.code, bob.link.code, temporary.link.code}) == 3


def test_a_collision_is_retried_with_a_new_code(links, monkeypatch):
    taken = links.shorten(ShortenRequest("https://example.com/a"), owner=None).link.code
    offered = iter([taken, "Fresh12"])
    monkeypatch.setattr(codes, "generate", lambda: next(offered))

    result = links.shorten(ShortenRequest("https://example.com/b"), owner=None)

    assert result.created and result.link.code == "Fresh12"


def test_a_taken_custom_code_is_a_conflict(links):
    links.shorten(ShortenRequest("https://example.com/a", custom_code="launch"), owner="alice")

    with pytest.raises(Conflict) as error:
        links.shorten(ShortenRequest("https://example.com/b", custom_code="launch"), owner="bob")

    assert error.value.status == 409 and error.value.code == "code_taken"


def test_asking_for_ones_own_custom_code_again_is_not_a_conflict(links):
    first = links.shorten(
        ShortenRequest("https://example.com/a", custom_code="launch"), owner="alice"
    )
    again = links.shorten(
        ShortenRequest("https://example.com/a", custom_code="launch"), owner="alice"
    )

    assert first.created and not again.created and again.link.code == "launch"


def test_an_expiry_in_the_past_is_refused(links, clock):
    with pytest.raises(Invalid) as error:
        links.shorten(
            ShortenRequest("https://example.com/a", expires_at=iso(clock.now - 1)), owner=None
        )

    assert error.value.code == "expiry_in_past"


def test_listing_pages_through_ones_links_newest_first(links, clock):
    made = []
    for i in range(5):
        made.append(
            links.shorten(ShortenRequest(f"https://example.com/{i}"), owner="alice").link.code
        )
        clock.advance(1)
    links.shorten(ShortenRequest("https://example.com/bob"), owner="bob")

    seen, cursor, pages = [], None, 0
    while True:
        items, cursor = links.list("alice", 2, cursor)
        seen += [link.code for link in items]
        pages += 1
        if cursor is None:
            break

    assert seen == list(reversed(made))
    assert pages >= 3


def test_only_the_owner_may_delete_and_then_the_code_is_gone(links):
    code = links.shorten(ShortenRequest("https://example.com/a"), owner="alice").link.code

    with pytest.raises(Forbidden):
        links.delete(code, "bob")
    links.delete(code, "alice")

    with pytest.raises(NotFound):
        links.delete(code, "alice")
    assert links.list("alice", 10, None) == ([], None)


def test_a_deleted_code_cannot_be_claimed_straight_away(links):
    links.shorten(ShortenRequest("https://example.com/a", custom_code="launch"), owner="alice")
    links.delete("launch", "alice")

    with pytest.raises(Conflict):
        links.shorten(
            ShortenRequest("https://evil.example/", custom_code="launch"), owner="mallory"
        )


def test_shortening_after_a_delete_makes_a_new_link(links):
    first = links.shorten(ShortenRequest("https://example.com/a"), owner="alice").link.code
    links.delete(first, "alice")

    again = links.shorten(ShortenRequest("https://example.com/a"), owner="alice")

    assert again.created and again.link.code != first


def test_analytics_are_readable_by_the_owner_only(links):
    owned = links.shorten(ShortenRequest("https://example.com/a"), owner="alice").link.code
    anonymous = links.shorten(ShortenRequest("https://example.com/b"), owner=None).link.code

    assert links.readable(owned, "alice").code == owned
    assert links.readable(anonymous, None).code == anonymous
    with pytest.raises(Forbidden):
        links.readable(owned, "bob")
    with pytest.raises(Unauthorized):
        links.readable(owned, None)
    with pytest.raises(NotFound):
        links.readable("Nothere", "alice")
