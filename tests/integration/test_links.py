import base64

import pytest

from relay.platform.clock import iso
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from relay.shortener import codes
from relay.shortener.links import Links, ShortenRequest
from relay.shortener.links_table import LinksTable


@pytest.fixture
def links(aws, clock):
    return Links(LinksTable(aws.dynamodb, "LinksTable"), clock)


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


def test_a_store_is_built_with_its_table(aws, clock):
    elsewhere = Links(LinksTable(aws.dynamodb, "NoSuchTable"), clock)

    with pytest.raises(Exception, match=r"NoSuchTable|non-existent|not found"):
        elsewhere.shorten(ShortenRequest("https://example.com/a"), owner="alice")


@pytest.mark.parametrize("code", ["x" * 3_000, "a/b", "ab", "\u00fcber1", "\ud800abcd"])
def test_a_code_no_link_can_have_is_unknown_without_asking_dynamodb(aws, clock, code):
    # The store points at a table that does not exist: any call to DynamoDB would fail.
    # (Real DynamoDB refuses a key over 2,048 bytes with ValidationException; moto says 404.)
    links = Links(LinksTable(aws.dynamodb, "NoSuchTable"), clock)

    with pytest.raises(NotFound):
        links.readable(code, "alice")
    with pytest.raises(NotFound):
        links.delete(code, "alice")


class InterleavingStore(LinksTable):
    """Lets another client's whole delete land just before this one's write reaches the
    table: after anything this delete read or checked, before what it writes."""

    def __init__(self, client):
        super().__init__(client, "LinksTable")
        self.meanwhile = None

    def delete(self, *args, **kwargs):
        other, self.meanwhile = self.meanwhile, None
        if other is not None:
            other()
        return super().delete(*args, **kwargs)


def test_of_two_concurrent_deletes_one_succeeds_and_the_other_finds_nothing(aws, clock):
    # (Threads would not show it: moto applies a condition and its write without a lock.)
    store = InterleavingStore(aws.dynamodb)
    links = Links(store, clock)
    code = links.shorten(ShortenRequest("https://example.com/a"), owner="alice").link.code
    outcomes = []

    def delete():
        try:
            links.delete(code, "alice")
            outcomes.append(204)
        except NotFound:
            outcomes.append(404)

    store.meanwhile = delete
    delete()

    assert outcomes == [204, 404]  # the other client's, then this one's


def test_an_anonymous_link_cannot_be_deleted_by_anyone(links):
    code = links.shorten(ShortenRequest("https://example.com/a"), owner=None).link.code

    with pytest.raises(Forbidden):
        links.delete(code, "alice")


def test_a_deleted_link_is_gone_for_analytics_too(links):
    code = links.shorten(ShortenRequest("https://example.com/a"), owner="alice").link.code
    links.delete(code, "alice")

    with pytest.raises(NotFound):
        links.readable(code, "alice")


def cursor_of(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        cursor_of("not json"),
        cursor_of("{}"),
        cursor_of("[" * 5_000 + "]" * 5_000),  # nested past Python's recursion limit
        cursor_of("[" * 400 + "]" * 400),
        cursor_of('["alice", "2026-11-25T13:00:00.000Z", "' + "x" * 2_000 + '"]'),
        cursor_of('["alice", "next week", "Ab3dE9x"]'),
        cursor_of('["alice", "2026-11-25T13:00:00.000Z", "Ab3dE9x", "extra"]'),
        "A" * 100_000,
    ],
)
def test_a_cursor_this_api_did_not_make_is_a_400(links, cursor):
    with pytest.raises(Invalid) as error:
        links.list("alice", 10, cursor)

    assert error.value.code == "invalid_cursor"


def test_another_owners_cursor_is_refused(links, clock):
    for i in range(3):
        links.shorten(ShortenRequest(f"https://example.com/{i}"), owner="alice")
        clock.advance(1)
    _, cursor = links.list("alice", 1, None)

    with pytest.raises(Invalid):
        links.list("bob", 1, cursor)


@pytest.mark.parametrize("redirect_type", [301.0, "301", True, 307, None])
def test_a_redirect_type_that_is_not_301_or_302_as_a_number_is_refused(links, redirect_type):
    request = ShortenRequest("https://example.com/a", redirect_type=redirect_type)

    with pytest.raises(Invalid) as error:
        links.shorten(request, owner="alice")

    assert error.value.code == "invalid_redirect_type"


@pytest.mark.parametrize(
    "expires_at",
    [
        "0001-01-01T00:00:00+14:00",  # before the epoch and out of range once in UTC
        "9999-12-31T23:59:59-14:00",
        "2026-13-01T00:00:00Z",
        "\ud800",
        "2" * 10_000,
    ],
)
def test_an_expiry_out_of_any_range_is_a_400(links, expires_at):
    with pytest.raises(Invalid) as error:
        links.shorten(ShortenRequest("https://example.com/a", expires_at=expires_at), None)

    assert error.value.code in ("invalid_expiry", "expiry_in_past")
