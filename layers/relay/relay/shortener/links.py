"""Shortening, listing and deleting links: the shortener's write-side rules.

A link is made once per (owner, URL, options): asking again returns the same code
(200, not 201). Codes are random and made unique by a conditional write, retried on
the rare collision. An expiry must lie in the future. A new link is written to the
redirect's cache, and a deleted one taken out of it, here, so that no caller can
forget to.

What a URL may be (DESIGN): http or https, at most 2048 characters before and after
normalisation, its host read as browsers read it (UTS #46, non-transitional: the
`idna` package, not Python's IDNA 2003 codec, which turns `faß.de` into another
domain), no credentials (`https://paypal.com@evil.example` is a phishing classic),
and not the shortener itself (a link to a short link can loop).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from relay.platform.clock import Clock, SystemClock, parse_iso
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from relay.shortener import codes
from relay.shortener.links_table import (
    CodeTaken,
    Contention,
    DedupRace,
    LinksTable,
    Missing,
    NotOwned,
)
from relay.shortener.models import Link, Shortened, ShortenRequest
from relay.shortener.rules import MAX_ATTEMPTS, MAX_EXPIRY_MS, MAX_PAGE, MAX_URL_LENGTH

__all__ = ["Links", "ShortenRequest", "Shortened", "check_url"]

# Everything printable in ASCII stays as the client wrote it; only what a Location
# header cannot carry is percent-encoded.
_ASCII_PRINTABLE = "".join(chr(i) for i in range(33, 127))
# What a browser refuses in a host (WHATWG's forbidden domain code points, less the
# controls and spaces refused before). `%`: a percent-encoded host is decoded by browsers
# and by nothing else, which makes it a disguise; refused rather than guessed at.
_FORBIDDEN_IN_HOST = frozenset('#%/:<>?@[\\]^|"{}`\x7f')


class LinkCache(Protocol):
    """Where links are cached for the redirect (relay.shortener.redirects.LinkCache)."""

    def remember(self, link: Link) -> None: ...

    def forget(self, code: str) -> None: ...


def _invalid_url(reason: str = "must be an absolute http or https URL") -> Invalid:
    return Invalid(f"longUrl: {reason}.", code="invalid_url")


def _browser_host(host: str) -> str:
    """The host a browser goes to, in ASCII; ValueError (or UnicodeError) when a browser
    would refuse it. ASCII hosts are kept as they are (lower case): browsers accept
    names DNS rules refuse (`my_host.example`). Others are mapped and encoded by UTS #46,
    non-transitional: `ß` stays `ß` (xn--fa-hia.de), full-width letters become the
    letters they look like, and a joiner where none may stand is refused, not dropped."""
    # idna is imported where it is needed: an ASCII host, the usual, costs no import (~5 ms).
    if ":" in host:
        return host  # an IPv6 literal, already checked by urlsplit
    if host.isascii():
        labels = host.split(".")
    else:
        import idna

        labels = idna.uts46_remap(host, std3_rules=False, transitional=False).split(".")
    out: list[str] = []
    for index, label in enumerate(labels):
        if not label and 0 < index == len(labels) - 1:
            out.append(label)  # a trailing dot: the root
        elif label.isascii():
            if _FORBIDDEN_IN_HOST.intersection(label):
                raise ValueError(f"a host cannot hold {label!r}")
            if label.lower().startswith("xn--"):
                import idna

                idna.ulabel(label)  # an A-label must decode, as browsers check
            out.append(label.lower())
        else:
            import idna

            out.append(idna.alabel(label).decode("ascii"))
    return ".".join(out)


def _comparable(host: str) -> str | None:
    """A host as hosts are compared: as browsers go to it, lower case, no final dot."""
    try:
        return _browser_host(host.lower()).rstrip(".")
    except (ValueError, UnicodeError):
        return None


def check_url(url: str, own_hosts: Iterable[str] = ()) -> str:
    """The URL as it will be stored and sent in `Location`: an absolute http(s) URL in
    ASCII (an international host as UTS #46 encodes it, other non-ASCII characters
    percent-encoded). `own_hosts` are the shortener's own: links to them are refused."""
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"longUrl: at most {MAX_URL_LENGTH} characters.", code="url_too_long")
    if any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in url):
        raise _invalid_url("must not contain whitespace or control characters")
    try:
        url.encode("utf-8")  # a lone surrogate has no bytes to send
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise _invalid_url()
        if "@" in parts.netloc:
            raise Invalid(
                "longUrl: must not carry a user name or password (user@host).",
                code="credentials_in_url",
            )
        if "\\" in parts.netloc:
            raise _invalid_url("browsers read a backslash as a slash; use /")
        host = parts.hostname
        port = parts.port  # ValueError when it is not a port
        if not host:
            raise _invalid_url()
        browser_host = _browser_host(host)
        if not host.isascii():
            netloc = browser_host if port is None else f"{browser_host}:{port}"
            url = urlunsplit(parts._replace(netloc=netloc))
        normalised = quote(url, safe=_ASCII_PRINTABLE)
    except (ValueError, UnicodeError) as error:
        raise _invalid_url() from error
    if browser_host.rstrip(".") in {_comparable(own) for own in own_hosts}:
        raise Invalid(
            "longUrl: is a link to this shortener; shorten the target instead.", code="self_link"
        )
    if len(normalised) > MAX_URL_LENGTH:
        raise Invalid(
            f"longUrl: at most {MAX_URL_LENGTH} characters once its host and non-ASCII "
            "characters are encoded.",
            code="url_too_long",
        )
    return normalised


def _expiry(text: str | None, now_ms: int) -> int | None:
    if text is None:
        return None
    try:
        expires_ms = parse_iso(text)
    except (ValueError, OverflowError, OSError) as error:
        raise Invalid("expiresAt: not an ISO-8601 timestamp.", code="invalid_expiry") from error
    if expires_ms <= now_ms:
        raise Invalid("expiresAt: must be in the future.", code="expiry_in_past")
    if expires_ms > MAX_EXPIRY_MS:
        raise Invalid("expiresAt: at the latest 9999-12-31T23:59:59Z.", code="invalid_expiry")
    return expires_ms


def _redirect_type(value: object) -> int:
    # 301.0 equals 301, but a float would be stored and cached as "301.0".
    if type(value) is int and value in (301, 302):
        return value
    raise Invalid("redirectType: 301 or 302.", code="invalid_redirect_type")


def _unknown(code: str) -> NotFound:
    # A code no link can have is not echoed back: it may be anything, of any length.
    return NotFound(f"No link '{code}'." if codes.is_plausible(code) else "No such link.")


class Links:
    def __init__(
        self, store: LinksTable, clock: Clock | None = None, cache: LinkCache | None = None
    ) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self._cache = cache

    def shorten(
        self, request: ShortenRequest, owner: str | None, own_hosts: Iterable[str] = ()
    ) -> Shortened:
        result = self._shorten(request, owner, own_hosts)
        if result.created and self._cache is not None:
            # Also replaces a negative entry left by someone who tried the code first.
            self._cache.remember(result.link)
        return result

    def _shorten(
        self, request: ShortenRequest, owner: str | None, own_hosts: Iterable[str]
    ) -> Shortened:
        now = self._clock.now_ms()
        long_url = check_url(request.long_url, own_hosts)
        redirect_type = _redirect_type(request.redirect_type)
        expires_ms = _expiry(request.expires_at, now)
        if request.custom_code is not None:
            if owner is None:
                raise Unauthorized(
                    "customCode: custom codes need a token, so that their owner can manage them."
                )
            code = codes.check_custom(request.custom_code)
            return self._claim(Link(code, long_url, owner, now, expires_ms, redirect_type), now)

        stale = self._store.find_same(owner, long_url, redirect_type, expires_ms)
        if stale is not None:
            existing = self._store.get(stale)
            if existing is not None and self._same(existing, owner, long_url, redirect_type, now):
                return Shortened(existing, created=False)
        for _ in range(MAX_ATTEMPTS):
            link = Link(codes.generate(), long_url, owner, now, expires_ms, redirect_type)
            try:
                self._store.create(link, dedup=True, stale_code=stale)
                return Shortened(link, created=True)
            except (CodeTaken, Contention):
                continue
            except DedupRace as race:
                winner = self._store.get(str(race))
                if winner is not None:
                    return Shortened(winner, created=False)
                stale = self._store.find_same(owner, long_url, redirect_type, expires_ms)
        raise Conflict("Could not find a free code; try again.", code="code_space_busy")

    @staticmethod
    def _same(link: Link, owner: str | None, long_url: str, redirect_type: int, now: int) -> bool:
        """Whether a dedup entry still names this very request's live link."""
        same = (link.owner, link.long_url, link.redirect_type) == (owner, long_url, redirect_type)
        return same and not link.is_expired(now)

    def _claim(self, link: Link, now: int) -> Shortened:
        for _ in range(MAX_ATTEMPTS):
            try:
                self._store.create(link, dedup=False)
                return Shortened(link, created=True)
            except Contention:
                continue  # someone else's write to the same item was in flight
            except CodeTaken:
                existing = self._store.get(link.code)
                if existing is not None and self._same(
                    existing, link.owner, link.long_url, link.redirect_type, now
                ):
                    return Shortened(existing, created=False)
                raise Conflict(f"The code '{link.code}' is taken.", code="code_taken") from None
        raise Conflict(f"The code '{link.code}' is busy; try again.", code="code_busy")

    def readable(self, code: str, user_id: str | None) -> Link:
        """A link whose analytics the caller may read: anonymous links are public."""
        link = self._store.get(code)
        if link is None:
            raise _unknown(code)
        if link.owner is not None and user_id is None:
            raise Unauthorized("This link's analytics need its owner's token.")
        if link.owner is not None and link.owner != user_id:
            raise Forbidden(f"The link '{code}' is not yours.")
        return link

    def delete(self, code: str, owner: str) -> None:
        """One conditional write that checks the owner: of two deletes at once, one wins
        and the other finds nothing (404)."""
        try:
            self._store.delete(code, owner, self._clock.now_ms())
        except Missing:
            raise _unknown(code) from None
        except NotOwned:
            raise Forbidden(f"The link '{code}' is not yours.") from None
        if self._cache is not None:
            self._cache.forget(code)

    def list(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Link], str | None]:
        """A page of the owner's links, newest first; a cursor made for anyone else's
        links, or not made here, is a 400 (`invalid_cursor`)."""
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit: between 1 and {MAX_PAGE}.", code="invalid_limit")
        page = self._store.by_owner(owner, limit, cursor or None)
        return page.links, page.next_cursor
