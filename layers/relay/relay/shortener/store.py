"""The links table: its PynamoDB models, key formats and queries. Nobody else builds a key.

One table holds two kinds of item:
- `LINK#<code>`: the link itself. `owner` and `createdAt` feed the sparse `ByOwner`
  index (anonymous and deleted links carry no owner, so they stay out of it).
- `DEDUP#<digest>`: which code a given (owner, URL, options) already has, so the
  same request twice gets the same code without a scan.
Both are written in one transaction, each with a condition, which is what makes a
random code unique and a concurrent duplicate request harmless.

`ttl` lets DynamoDB clean up expired links; expiry itself is decided on read,
since TTL deletion can lag by days.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from relay.platform.config import settings

_conf = settings()

# An expired link answers 410 for this long before TTL may remove it (then: 404).
EXPIRED_GRACE_S = 30 * 86_400
# A deleted code is kept unusable for a while, so nobody can re-register it while
# browsers still hold the old redirect (max-age=60).
TOMBSTONE_S = 86_400


def link_key(code: str) -> str:
    return f"LINK#{code}"


def dedup_key(owner: str | None, long_url: str, redirect_type: int, expires_ms: int | None) -> str:
    material = f"{owner or ''}\n{long_url}\n{redirect_type}\n{expires_ms or ''}"
    return "DEDUP#" + hashlib.sha256(material.encode()).hexdigest()


class _Table:
    table_name = _conf.links_table
    region = _conf.aws_region
    host = _conf.aws_endpoint_url


class ByOwner(GlobalSecondaryIndex["LinkItem"]):
    class Meta:
        index_name = "ByOwner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class LinkItem(Model):
    class Meta(_Table):
        pass

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
    class Meta(_Table):
        pass

    pk = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute()
    ttl = NumberAttribute(null=True)


@dataclass(frozen=True)
class Link:
    code: str
    long_url: str
    owner: str | None
    created_ms: int
    expires_ms: int | None
    redirect_type: int

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_ms is not None and now_ms >= self.expires_ms


class CodeTaken(Exception):
    """The code already names a link (a collision, or a custom code in use)."""


class Contention(Exception):
    """Another transaction touched the same item at the same moment; worth another try."""


class DedupRace(Exception):
    """Another request stored the same (owner, URL, options) first; it holds `code`."""


def _link(item: LinkItem) -> Link | None:
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
    last_key: dict[str, dict[str, str]] | None


class LinkStore:
    def __init__(self) -> None:
        self._connection = Connection(region=_conf.aws_region, host=_conf.aws_endpoint_url)

    def get(self, code: str) -> Link | None:
        try:
            return _link(LinkItem.get(link_key(code), consistent_read=True))
        except DoesNotExist:
            return None

    def find_dedup(self, key: str) -> str | None:
        try:
            return str(DedupItem.get(key, consistent_read=True).code)
        except DoesNotExist:
            return None

    def create(
        self, link: Link, created_at: str, dedup: str | None, stale_code: str | None
    ) -> None:
        """Store a new link (and its dedup entry) if its code is free and nobody raced us."""
        item = LinkItem(
            link_key(link.code),
            code=link.code,
            long_url=link.long_url,
            owner=link.owner,
            created_at=created_at,
            created_ms=link.created_ms,
            expires_ms=link.expires_ms,
            redirect_type=link.redirect_type,
            ttl=_ttl(link),
        )
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(item, condition=LinkItem.pk.does_not_exist())
                if dedup is not None:
                    entry = DedupItem(dedup, code=link.code, ttl=_ttl(link))
                    fresh = DedupItem.pk.does_not_exist()
                    tx.save(
                        entry,
                        condition=fresh if stale_code is None else DedupItem.code == stale_code,
                    )
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in error.cancellation_reasons]
            if "TransactionConflict" in reasons:
                raise Contention(link.code) from error
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise CodeTaken(link.code) from error
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed" and dedup is not None:
                raise DedupRace(self.find_dedup(dedup) or "") from error
            raise

    def delete(self, link: Link, dedup: str, now_ms: int) -> None:
        """Tombstone the link (out of the owner index) and drop its dedup entry if it is ours."""
        with TransactWrite(connection=self._connection) as tx:
            tx.update(
                LinkItem(link_key(link.code)),
                actions=[
                    LinkItem.deleted.set(True),
                    LinkItem.owner.remove(),
                    LinkItem.long_url.remove(),
                    LinkItem.ttl.set(now_ms // 1000 + TOMBSTONE_S),
                ],
                condition=LinkItem.pk.exists(),
            )
        # A failed condition means it points at a newer link already: leave it be.
        with contextlib.suppress(DeleteError):
            DedupItem(dedup).delete(condition=DedupItem.code == link.code)

    def by_owner(self, owner: str, limit: int, start: dict[str, dict[str, str]] | None) -> Page:
        results = LinkItem.by_owner.query(
            owner, scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        links = [link for item in results if (link := _link(item)) is not None]
        return Page(links, results.last_evaluated_key)
