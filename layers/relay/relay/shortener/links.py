"""Shortening, listing and deleting links: the shortener's write-side rules.

A link is made once per (owner, URL, options): asking again returns the same code
(200, not 201). Codes are random and made unique by a conditional write, retried on
the rare collision. Only http(s) URLs of at most 2048 characters are accepted, and
an expiry must lie in the future.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from relay.platform.clock import Clock, SystemClock, iso, parse_iso
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from relay.shortener import codes
from relay.shortener.store import (
    CodeTaken,
    Contention,
    DedupRace,
    Link,
    LinkStore,
    Page,
    dedup_key,
)

MAX_URL_LENGTH = 2048
# At the seed's five-year load 5.2 % of the code space is used: eight collisions in a
# row then happen once in 2e10 shortenings (docs/decisions.md).
MAX_ATTEMPTS = 8
MAX_PAGE = 100


@dataclass(frozen=True)
class ShortenRequest:
    long_url: str
    custom_code: str | None = None
    expires_at: str | None = None
    redirect_type: int = 301


@dataclass(frozen=True)
class Shortened:
    link: Link
    created: bool


# Everything printable in ASCII stays as the client wrote it; only what a Location
# header cannot carry is percent-encoded.
_ASCII_PRINTABLE = "".join(chr(i) for i in range(33, 127))
# The latest expiry that still has a four-digit year (9999-12-31T23:59:59Z).
MAX_EXPIRY_MS = 253_402_300_799_000


def check_url(url: str) -> str:
    """The URL as it will be stored and sent in `Location`: an absolute http(s) URL in
    ASCII (an international host in IDNA, other non-ASCII characters percent-encoded)."""
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"longUrl: at most {MAX_URL_LENGTH} characters.", code="url_too_long")
    if any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in url):
        raise Invalid(
            "longUrl: must not contain whitespace or control characters.", code="invalid_url"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise ValueError("not an absolute http(s) URL")
        if not host.isascii():
            userinfo, at, _ = parts.netloc.rpartition("@")
            port = f":{parts.port}" if parts.port is not None else ""
            netloc = f"{userinfo}{at}{host.encode('idna').decode('ascii')}{port}"
            url = urlunsplit(parts._replace(netloc=netloc))
    except (ValueError, UnicodeError) as error:
        raise Invalid(
            "longUrl: must be an absolute http or https URL.", code="invalid_url"
        ) from error
    normalised = quote(url, safe=_ASCII_PRINTABLE)
    if len(normalised) > MAX_URL_LENGTH:
        raise Invalid(f"longUrl: at most {MAX_URL_LENGTH} characters.", code="url_too_long")
    return normalised


def _expiry(text: str | None, now_ms: int) -> int | None:
    if text is None:
        return None
    try:
        expires_ms = parse_iso(text)
    except (ValueError, OverflowError) as error:
        raise Invalid("expiresAt: not an ISO-8601 timestamp.", code="invalid_expiry") from error
    if expires_ms <= now_ms:
        raise Invalid("expiresAt: must be in the future.", code="expiry_in_past")
    if expires_ms > MAX_EXPIRY_MS:
        raise Invalid("expiresAt: at the latest 9999-12-31T23:59:59Z.", code="invalid_expiry")
    return expires_ms


class Links:
    def __init__(self, store: LinkStore, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()

    def shorten(self, request: ShortenRequest, owner: str | None) -> Shortened:
        now = self._clock.now_ms()
        long_url = check_url(request.long_url)
        if request.redirect_type not in (301, 302):
            raise Invalid("redirectType: 301 or 302.", code="invalid_redirect_type")
        expires_ms = _expiry(request.expires_at, now)
        if request.custom_code is not None:
            if owner is None:
                raise Unauthorized(
                    "customCode: custom codes need a token, so that their owner can manage them."
                )
            return self._claim(
                codes.check_custom(request.custom_code), long_url, owner, now, expires_ms, request
            )

        dedup = dedup_key(owner, long_url, request.redirect_type, expires_ms)
        stale = self._store.find_dedup(dedup)
        if stale is not None:
            existing = self._store.get(stale)
            if existing is not None and self._same(existing, owner, long_url, request, now):
                return Shortened(existing, created=False)
        for _ in range(MAX_ATTEMPTS):
            link = Link(codes.generate(), long_url, owner, now, expires_ms, request.redirect_type)
            try:
                self._store.create(link, iso(now), dedup, stale)
                return Shortened(link, created=True)
            except (CodeTaken, Contention):
                continue
            except DedupRace as race:
                winner = self._store.get(str(race))
                if winner is not None:
                    return Shortened(winner, created=False)
                stale = self._store.find_dedup(dedup)
        raise Conflict("Could not find a free code; try again.", code="code_space_busy")

    @staticmethod
    def _same(
        link: Link, owner: str | None, long_url: str, request: ShortenRequest, now: int
    ) -> bool:
        """Whether a dedup entry still names this very request's live link."""
        return (link.owner, link.long_url, link.redirect_type) == (
            owner,
            long_url,
            request.redirect_type,
        ) and not link.is_expired(now)

    def _claim(
        self,
        code: str,
        long_url: str,
        owner: str | None,
        now: int,
        expires_ms: int | None,
        request: ShortenRequest,
    ) -> Shortened:
        link = Link(code, long_url, owner, now, expires_ms, request.redirect_type)
        for _ in range(MAX_ATTEMPTS):
            try:
                self._store.create(link, iso(now), dedup=None, stale_code=None)
                return Shortened(link, created=True)
            except Contention:
                continue  # someone else's write to the same item was in flight
            except CodeTaken:
                existing = self._store.get(code)
                if existing is not None and self._same(existing, owner, long_url, request, now):
                    return Shortened(existing, created=False)
                raise Conflict(f"The code '{code}' is taken.", code="code_taken") from None
        raise Conflict(f"The code '{code}' is busy; try again.", code="code_busy")

    def owned(self, code: str, owner: str) -> Link:
        link = self._store.get(code)
        if link is None:
            raise NotFound(f"No link '{code}'.")
        if link.owner != owner:
            raise Forbidden(f"The link '{code}' is not yours.")
        return link

    def readable(self, code: str, user_id: str | None) -> Link:
        """A link whose analytics the caller may read: anonymous links are public."""
        link = self._store.get(code)
        if link is None:
            raise NotFound(f"No link '{code}'.")
        if link.owner is not None and user_id is None:
            raise Unauthorized("This link's analytics need its owner's token.")
        if link.owner is not None and link.owner != user_id:
            raise Forbidden(f"The link '{code}' is not yours.")
        return link

    def delete(self, code: str, owner: str) -> None:
        link = self.owned(code, owner)
        dedup = dedup_key(link.owner, link.long_url, link.redirect_type, link.expires_ms)
        self._store.delete(link, dedup, self._clock.now_ms())

    def list(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Link], str | None]:
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit: between 1 and {MAX_PAGE}.", code="invalid_limit")
        page: Page = self._store.by_owner(owner, limit, decode_cursor(cursor, owner))
        return page.links, encode_cursor(page.last_key)


def encode_cursor(key: dict[str, dict[str, str]] | None) -> str | None:
    if not key:
        return None
    return (
        base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(cursor: str | None, owner: str) -> dict[str, dict[str, str]] | None:
    """The page position a cursor carries; it must be one of this owner's pages."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        valid = (
            isinstance(key, dict)
            and set(key) == {"pk", "owner", "createdAt"}
            and all(
                isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
                for v in key.values()
            )
            and key["owner"]["S"] == owner
            and key["pk"]["S"].startswith("LINK#")
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise Invalid("cursor: not a cursor this API gave you.", code="invalid_cursor")
    return key  # type: ignore[no-any-return]
