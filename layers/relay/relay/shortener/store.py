"""The links table: its PynamoDB models, key formats and queries. Nobody else builds a key.

One table holds two kinds of item:
- `LINK#<code>`: the link itself. `owner` and `createdAt` feed the sparse `ByOwner`
  index (anonymous and deleted links carry no owner, so they stay out of it).
- `DEDUP#<digest>`: which code a given (owner, URL, options) already has, so the
  same request twice gets the same code without a scan.
Both are written in one transaction, each with a condition, which is what makes a
random code unique and a concurrent duplicate request harmless. A delete is one
conditional update that checks the owner: of two deletes at once, one wins.

`ttl` lets DynamoDB clean up expired links; expiry itself is decided on read,
since TTL deletion can lag by days. A store is built with its table (tests and
the local stack pass theirs); the models are made per table, never at import.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from relay.platform.clock import iso
from relay.shortener import codes
from relay.shortener.models import Link

__all__ = ["Link", "LinkStore", "Page", "link_key"]

# An expired link answers 410 for this long before TTL may remove it (then: 404).
EXPIRED_GRACE_S = 30 * 86_400
# A deleted code is kept unusable for a while, so nobody can re-register it while
# browsers still hold the old redirect (max-age=60).
TOMBSTONE_S = 86_400
# A cursor carries an owner (a user id of at most 128 characters), a timestamp and a
# code: anything much longer was not made here, and is not worth decoding.
MAX_CURSOR = 1_024
_CREATED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def link_key(code: str) -> str:
    return f"LINK#{code}"


def _dedup_key(owner: str | None, long_url: str, redirect_type: int, expires_ms: int | None) -> str:
    material = f"{owner or ''}\n{long_url}\n{redirect_type}\n{expires_ms or ''}"
    return "DEDUP#" + hashlib.sha256(material.encode()).hexdigest()


def _dedup_key_of(link: Link) -> str:
    return _dedup_key(link.owner, link.long_url, link.redirect_type, link.expires_ms)


class _Models(NamedTuple):
    link: Any
    dedup: Any


@functools.cache
def _models(table: str, region_name: str, host_url: str | None) -> _Models:
    """The table's item models, bound to one table (a store is built with its table)."""

    class TableMeta:
        table_name = table
        region = region_name
        host = host_url

    class ByOwner(GlobalSecondaryIndex["LinkItem"]):
        class Meta:
            index_name = "ByOwner"
            projection = AllProjection()

        owner = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")

    class LinkItem(Model):
        Meta = TableMeta  # type: ignore[assignment]
        pk = UnicodeAttribute(hash_key=True)
        code = UnicodeAttribute()
        long_url = UnicodeAttribute(attr_name="longUrl", null=True)
        owner = UnicodeAttribute(null=True)
        created_at = UnicodeAttribute(attr_name="createdAt")
        created_ms = NumberAttribute(attr_name="createdMs")
        expires_ms = NumberAttribute(attr_name="expiresMs", null=True)
        redirect_type = NumberAttribute(attr_name="redirectType", default=301)
        deleted = BooleanAttribute(null=True)
        ttl = NumberAttribute(null=True)
        by_owner = ByOwner()

    class DedupItem(Model):
        Meta = TableMeta  # type: ignore[assignment]
        pk = UnicodeAttribute(hash_key=True)
        code = UnicodeAttribute()
        ttl = NumberAttribute(null=True)

    return _Models(LinkItem, DedupItem)


class CodeTaken(Exception):
    """The code already names a link (a collision, or a custom code in use)."""


class Contention(Exception):
    """Another transaction touched the same item at the same moment; worth another try."""


class DedupRace(Exception):
    """Another request stored the same (owner, URL, options) first; it holds `code`."""


class Missing(Exception):
    """No live link has this code."""


class NotOwned(Exception):
    """The link exists but belongs to someone else (or to nobody: it was made anonymously)."""


class BadCursor(Exception):
    """A cursor this store did not make, or made for another owner."""


def _link(item: Any) -> Link | None:
    if item.deleted or item.long_url is None:
        return None
    return Link(
        code=item.code,
        long_url=item.long_url,
        owner=item.owner,
        created_ms=int(item.created_ms),
        expires_ms=int(item.expires_ms) if item.expires_ms is not None else None,
        redirect_type=int(item.redirect_type),
    )


def _ttl(link: Link) -> int | None:
    return None if link.expires_ms is None else link.expires_ms // 1000 + EXPIRED_GRACE_S


@dataclass(frozen=True)
class Page:
    links: list[Link]
    next_cursor: str | None


class LinkStore:
    """The links table. Without arguments: the deployment's, as the template names it."""

    def __init__(
        self, table: str | None = None, region: str | None = None, host: str | None = None
    ) -> None:
        if table is None or region is None:
            from relay.platform.config import settings

            conf = settings()
            table = table or conf.links_table
            region = region or conf.aws_region
            host = host or conf.aws_endpoint_url
        self._models = _models(table, region, host)
        self._connection = Connection(region=region, host=host)

    def get(self, code: str) -> Link | None:
        if not codes.is_plausible(code):
            return None  # no such key can exist, and DynamoDB refuses the longest
        try:
            return _link(self._models.link.get(link_key(code), consistent_read=True))
        except DoesNotExist:
            return None

    def find_same(
        self, owner: str | None, long_url: str, redirect_type: int, expires_ms: int | None
    ) -> str | None:
        """The code a link with the same owner, URL and options was given, if any."""
        key = _dedup_key(owner, long_url, redirect_type, expires_ms)
        try:
            return str(self._models.dedup.get(key, consistent_read=True).code)
        except DoesNotExist:
            return None

    def create(self, link: Link, *, dedup: bool, stale_code: str | None = None) -> None:
        """Store a new link (and, with `dedup`, the entry that finds it again) if its code
        is free and nobody raced us; `stale_code` is what the entry held when we read it."""
        item_model, dedup_model = self._models
        item = item_model(
            link_key(link.code),
            code=link.code,
            long_url=link.long_url,
            owner=link.owner,
            created_at=iso(link.created_ms),
            created_ms=link.created_ms,
            expires_ms=link.expires_ms,
            redirect_type=link.redirect_type,
            ttl=_ttl(link),
        )
        dedup_key = _dedup_key_of(link)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(item, condition=item_model.pk.does_not_exist())
                if dedup:
                    entry = dedup_model(dedup_key, code=link.code, ttl=_ttl(link))
                    fresh = dedup_model.pk.does_not_exist()
                    tx.save(
                        entry,
                        condition=fresh if stale_code is None else dedup_model.code == stale_code,
                    )
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in error.cancellation_reasons]
            if "TransactionConflict" in reasons:
                raise Contention(link.code) from error
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise CodeTaken(link.code) from error
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed" and dedup:
                same = self.find_same(
                    link.owner, link.long_url, link.redirect_type, link.expires_ms
                )
                raise DedupRace(same or "") from error
            raise

    def delete(self, code: str, owner: str, now_ms: int) -> Link:
        """Tombstone the owner's link in one conditional write (out of the owner index, the
        code kept unusable for TOMBSTONE_S); Missing or NotOwned when the condition fails."""
        item_model, dedup_model = self._models
        if not codes.is_plausible(code):
            raise Missing(code)
        try:
            reply = item_model._get_connection().update_item(
                link_key(code),
                actions=[
                    item_model.deleted.set(True),
                    item_model.owner.remove(),
                    item_model.long_url.remove(),
                    item_model.ttl.set(now_ms // 1000 + TOMBSTONE_S),
                ],
                condition=item_model.owner == owner,
                return_values=ALL_OLD,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            if self.get(code) is None:
                raise Missing(code) from None
            raise NotOwned(code) from None
        link = _link(item_model.from_raw_data(reply["Attributes"]))
        if link is None:  # the condition saw an owner, so the item was live
            raise Missing(code)
        # A failed condition means the entry points at a newer link already: leave it be.
        with contextlib.suppress(DeleteError):
            dedup_model(_dedup_key_of(link)).delete(condition=dedup_model.code == link.code)
        return link

    def by_owner(self, owner: str, limit: int, cursor: str | None) -> Page:
        """A page of the owner's links, newest first, from where `cursor` left off."""
        results = self._models.link.by_owner.query(
            owner,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_position(cursor, owner) if cursor else None,
        )
        links = [link for item in results if (link := _link(item)) is not None]
        return Page(links, _cursor(results.last_evaluated_key))


def _cursor(key: dict[str, dict[str, str]] | None) -> str | None:
    """The opaque cursor of a page position: [owner, createdAt, code], base64url JSON."""
    if not key:
        return None
    position = [key["owner"]["S"], key["createdAt"]["S"], key["pk"]["S"].removeprefix("LINK#")]
    text = json.dumps(position, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _position(cursor: str, owner: str) -> dict[str, dict[str, str]]:
    """The index position a cursor names; BadCursor unless this store made it for `owner`."""
    if len(cursor) > MAX_CURSOR:
        raise BadCursor("too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as error:
        raise BadCursor("not base64 JSON") from error
    if not (
        isinstance(position, list)
        and len(position) == 3
        and all(isinstance(part, str) for part in position)
        and position[0] == owner
        and _CREATED_AT.fullmatch(position[1])
        and codes.is_plausible(position[2])
    ):
        raise BadCursor("not a position in this owner's links")
    _, created_at, code = position
    return {"pk": {"S": link_key(code)}, "owner": {"S": owner}, "createdAt": {"S": created_at}}
