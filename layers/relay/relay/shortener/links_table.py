"""The links table: its items, key formats and queries. Nobody else builds a key.

One table holds two kinds of item:
- `LINK#<code>`: the link itself. `owner` and `createdAt` feed the sparse `ByOwner`
  index (anonymous and deleted links carry no owner, so they stay out of it).
- `DEDUP#<digest>`: which code a given (owner, URL, options) already has, so the
  same request twice gets the same code without a scan.
Both are written in one transaction, each with a condition, which is what makes a
random code unique and a concurrent duplicate request harmless. A delete is one
conditional update that checks the owner: of two deletes at once, one wins.

`ttl` lets DynamoDB clean up expired links; expiry itself is decided on read,
since TTL deletion can lag by days. A thin store over boto3's low-level client
(relay.platform.dynamo), handed its client and table name: tests and the local
stack pass theirs.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.platform import cursors
from relay.platform.clock import iso
from relay.platform.dynamo import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    Item,
    Table,
    cancellation_reasons,
    is_condition_failed,
    n,
    put_new,
    s,
)
from relay.shortener import codes
from relay.shortener.models import Link
from relay.shortener.rules import EXPIRED_GRACE_S, TOMBSTONE_S

INDEX = "ByOwner"
_CREATED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
# A page's position in the owner's index, as its cursor carries it: createdAt, code.
_POSITION = (cursors.text(_CREATED_AT.fullmatch), cursors.text(codes.PLAUSIBLE.fullmatch))


def link_key(code: str) -> str:
    return f"LINK#{code}"


def _dedup_key(owner: str | None, long_url: str, redirect_type: int, expires_ms: int | None) -> str:
    material = f"{owner or ''}\n{long_url}\n{redirect_type}\n{expires_ms or ''}"
    return "DEDUP#" + hashlib.sha256(material.encode()).hexdigest()


def _dedup_key_of(link: Link) -> str:
    return _dedup_key(link.owner, link.long_url, link.redirect_type, link.expires_ms)


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


def _expiring(item: Item, link: Link) -> Item:
    """The item, with the `ttl` that lets DynamoDB remove it once an expiring link has been
    gone for EXPIRED_GRACE_S (a link that never expires has none)."""
    if link.expires_ms is not None:
        item["ttl"] = n(link.expires_ms // 1000 + EXPIRED_GRACE_S)
    return item


def _item(link: Link) -> Item:
    """A link as its item (absent values are absent attributes: the index is sparse)."""
    item = {
        "pk": s(link_key(link.code)),
        "code": s(link.code),
        "longUrl": s(link.long_url),
        "createdAt": s(iso(link.created_ms)),
        "createdMs": n(link.created_ms),
        "redirectType": n(link.redirect_type),
    }
    if link.owner is not None:
        item["owner"] = s(link.owner)
    if link.expires_ms is not None:
        item["expiresMs"] = n(link.expires_ms)
    return _expiring(item, link)


def _link(item: Item) -> Link | None:
    """The live link an item holds; None for a tombstone."""
    if item.get("deleted", {}).get("BOOL") or "longUrl" not in item:
        return None
    expires = item.get("expiresMs")
    return Link(
        code=item["code"]["S"],
        long_url=item["longUrl"]["S"],
        owner=item["owner"]["S"] if "owner" in item else None,
        created_ms=int(item["createdMs"]["N"]),
        expires_ms=int(expires["N"]) if expires is not None else None,
        redirect_type=int(item.get("redirectType", {}).get("N", "301")),
    )


@dataclass(frozen=True)
class Page:
    links: list[Link]
    next_cursor: str | None


class LinksTable(Table):
    """The links table, handed its client and name."""

    def _get(self, key: str) -> Item | None:
        reply = self.client.get_item(TableName=self.name, Key={"pk": s(key)}, ConsistentRead=True)
        item: Item | None = reply.get("Item")
        return item

    def get(self, code: str) -> Link | None:
        if not codes.is_plausible(code):
            return None  # no such key can exist, and DynamoDB refuses the longest
        item = self._get(link_key(code))
        return _link(item) if item is not None else None

    def find_same(
        self, owner: str | None, long_url: str, redirect_type: int, expires_ms: int | None
    ) -> str | None:
        """The code a link with the same owner, URL and options was given, if any."""
        item = self._get(_dedup_key(owner, long_url, redirect_type, expires_ms))
        return item["code"]["S"] if item is not None else None

    def create(self, link: Link, *, dedup: bool, stale_code: str | None = None) -> None:
        """Store a new link (and, with `dedup`, the entry that finds it again) if its code
        is free and nobody raced us; `stale_code` is what the entry held when we read it."""
        writes: list[dict[str, Any]] = [put_new(self.name, _item(link), "pk")]
        if dedup:
            entry = _expiring({"pk": s(_dedup_key_of(link)), "code": s(link.code)}, link)
            if stale_code is None:
                writes.append(put_new(self.name, entry, "pk"))
            else:  # the entry names a deleted link: ours replaces it, unless another did
                put = {
                    "TableName": self.name,
                    "Item": entry,
                    "ConditionExpression": "#code = :stale",
                    "ExpressionAttributeNames": {"#code": "code"},
                    "ExpressionAttributeValues": {":stale": s(stale_code)},
                }
                writes.append({"Put": put})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if TRANSACTION_CONFLICT in reasons:
                raise Contention(link.code) from error
            if reasons and reasons[0] == CONDITION_FAILED:
                raise CodeTaken(link.code) from error
            if len(reasons) > 1 and reasons[1] == CONDITION_FAILED:
                same = self.find_same(
                    link.owner, link.long_url, link.redirect_type, link.expires_ms
                )
                raise DedupRace(same or "") from error
            raise

    def delete(self, code: str, owner: str, now_ms: int) -> Link:
        """Tombstone the owner's link in one conditional write (out of the owner index, the
        code kept unusable for TOMBSTONE_S); Missing or NotOwned when the condition fails."""
        if not codes.is_plausible(code):
            raise Missing(code)
        try:
            reply = self.client.update_item(
                TableName=self.name,
                Key={"pk": s(link_key(code))},
                UpdateExpression="SET #deleted = :yes, #ttl = :ttl REMOVE #owner, #longUrl",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#deleted": "deleted",
                    "#ttl": "ttl",
                    "#owner": "owner",
                    "#longUrl": "longUrl",
                },
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":ttl": n(now_ms // 1000 + TOMBSTONE_S),
                    ":owner": s(owner),
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            if self.get(code) is None:
                raise Missing(code) from None
            raise NotOwned(code) from None
        link = _link(reply["Attributes"])
        if link is None:  # the condition saw an owner, so the item was live
            raise Missing(code)
        # A failed condition means the entry points at a newer link already: leave it be.
        # Left behind for any other reason, it names a deleted link, which the next
        # shortening of the same URL finds dead and writes over (stale_code).
        with contextlib.suppress(ClientError, BotoCoreError):
            self.client.delete_item(
                TableName=self.name,
                Key={"pk": s(_dedup_key_of(link))},
                ConditionExpression="#code = :code",
                ExpressionAttributeNames={"#code": "code"},
                ExpressionAttributeValues={":code": s(link.code)},
            )
        return link

    def by_owner(self, owner: str, limit: int, cursor: str | None) -> Page:
        """A page of the owner's links, newest first, from where `cursor` left off
        (Invalid, 400 `invalid_cursor`, for a cursor not made for this owner)."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": INDEX,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": s(owner)},
            "ScanIndexForward": False,
        }
        if cursor:
            created_at, code = cursors.decode(cursor, owner, _POSITION)
            request["ExclusiveStartKey"] = {
                "pk": s(link_key(str(code))),
                "owner": s(owner),
                "createdAt": s(str(created_at)),
            }
        # Not the kit's query_pages, which reads to the last page: this page stops at
        # `limit` links, each call asks only for what it still lacks (a call may stop
        # short at DynamoDB's 1 MB), and the last key read becomes the next cursor.
        links: list[Link] = []
        while True:
            page = self.client.query(**request, Limit=limit - len(links))
            links += [link for item in page.get("Items", []) if (link := _link(item)) is not None]
            last = page.get("LastEvaluatedKey")
            if last is None or len(links) >= limit:
                break
            request["ExclusiveStartKey"] = last
        next_cursor = None
        if last is not None:
            position = [last["createdAt"]["S"], last["pk"]["S"].removeprefix("LINK#")]
            next_cursor = cursors.encode(owner, position)
        return Page(links, next_cursor)
