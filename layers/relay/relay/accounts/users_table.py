"""UsersTable: one item per person and one per handle, on the key `id`.

- `u#<sub>`: the profile (`handle`, `displayName`, `bio`, `avatarKey`, `createdAt` ms).
- `h#<handle>`: `sub`, the owner of a handle. `state` is `taken` once the account is
  confirmed; `reserved` (with `expiresAt`, the table's TTL) between sign-up and the
  emailed code, so two people cannot confirm the same handle.

A handle item exists for every profile, so a handle names at most one person, and
the two move in one transaction: every write that touches both is here, each one
TransactWriteItems, and may carry the domain event that reports it (the outbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from relay.accounts.models import User
from relay.platform.dynamo import (
    Item,
    Table,
    batch_get,
    cancellation_reasons,
    n,
    s,
    scan_pages,
)
from relay.platform.errors import Conflict

TAKEN = "taken"
RESERVED = "reserved"


def user_key(sub: str) -> Item:
    return {"id": s(f"u#{sub}")}


def handle_key(handle: str) -> Item:
    return {"id": s(f"h#{handle}")}


def user_of(item: Item) -> User:
    return User(
        sub=item["id"]["S"][2:],
        handle=item.get("handle", {}).get("S", ""),
        display_name=item.get("displayName", {}).get("S", ""),
        bio=item.get("bio", {}).get("S", ""),
        avatar_key=item.get("avatarKey", {}).get("S", ""),
        created_ms=int(item.get("createdAt", {}).get("N", "0")),
    )


class UsersTable(Table):
    def user(self, sub: str) -> User | None:
        item = self.client.get_item(TableName=self.name, Key=user_key(sub)).get("Item")
        return user_of(item) if item else None

    def sub_of(self, handle: str) -> str | None:
        """Who owns a (normalized) handle; None when nobody's confirmed account has it."""
        item = self.client.get_item(TableName=self.name, Key=handle_key(handle)).get("Item")
        if not item or item.get("state", {}).get("S") != TAKEN:
            return None
        return str(item["sub"]["S"])

    def subs_of(self, handles: Iterable[str]) -> dict[str, str]:
        """handle -> sub for the (normalized) handles that name a confirmed account."""
        keys = [handle_key(handle) for handle in dict.fromkeys(handles)]
        if not keys:
            return {}
        found = batch_get(self.client, {self.name: keys})[self.name]
        return {
            item["id"]["S"][2:]: item["sub"]["S"]
            for item in found
            if item.get("state", {}).get("S") == TAKEN
        }

    def users(self, subs: Iterable[str]) -> dict[str, User]:
        """sub -> User for the subs that have a profile (unknown ones are absent)."""
        keys = [user_key(sub) for sub in dict.fromkeys(subs)]
        if not keys:
            return {}
        found = batch_get(self.client, {self.name: keys})[self.name]
        return {user.sub: user for user in map(user_of, found)}

    def all_users(self) -> Iterator[User]:
        """Every profile, a page at a time (search rebuilds its index from them)."""
        request = {
            "TableName": self.name,
            "FilterExpression": "begins_with(id, :u)",
            "ExpressionAttributeValues": {":u": s("u#")},
        }
        for items in scan_pages(self.client, request):
            yield from map(user_of, items)

    # ---- writes

    def reserve(self, handle: str, sub: str, now_s: int, expires_s: int) -> bool:
        """Hold `handle` for `sub`'s sign-up until `expires_s`; False when someone else
        holds it (a confirmed account, or a sign-up whose reservation is still alive). A
        reservation of `sub`'s own, or one past its time, is taken over."""
        try:
            self.client.put_item(
                TableName=self.name,
                Item={
                    **handle_key(handle),
                    "sub": s(sub),
                    "state": s(RESERVED),
                    "expiresAt": n(expires_s),
                },
                ConditionExpression=(
                    "attribute_not_exists(id) OR (#state = :reserved AND "
                    "(#sub = :sub OR expiresAt <= :now))"
                ),
                ExpressionAttributeNames={"#state": "state", "#sub": "sub"},
                ExpressionAttributeValues={
                    ":reserved": s(RESERVED),
                    ":sub": s(sub),
                    ":now": n(now_s),
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def create(self, user: User, now_s: int, event: dict[str, Any] | None = None) -> bool:
        """Make `user`'s profile and turn their handle's reservation into `taken`, in one
        transaction (with `event`, an outbox entry); False when the profile was already
        made (a retried confirmation). Conflict (handle_taken) when the handle went to
        another account meanwhile (it was free, or this sign-up's reservation had lapsed
        and somebody else took it)."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": handle_key(user.handle),
                    "UpdateExpression": "SET #sub = :sub, #state = :taken REMOVE expiresAt",
                    "ConditionExpression": (
                        "attribute_not_exists(id) OR #sub = :sub OR "
                        "(#state = :reserved AND expiresAt <= :now)"
                    ),
                    "ExpressionAttributeNames": {"#sub": "sub", "#state": "state"},
                    "ExpressionAttributeValues": {
                        ":sub": s(user.sub),
                        ":taken": s(TAKEN),
                        ":reserved": s(RESERVED),
                        ":now": n(now_s),
                    },
                }
            },
            {
                "Put": {
                    "TableName": self.name,
                    "Item": _profile_item(user),
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
        ]
        if event is not None:
            items.append(event)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if not reasons:
                raise
            if reasons[1] == "ConditionalCheckFailed":
                return False
            if reasons[0] == "ConditionalCheckFailed":
                raise Conflict(
                    f"The handle {user.handle!r} is taken.", code="handle_taken"
                ) from None
            raise
        return True

    def update(
        self, before: User, after: User, now_s: int, event: dict[str, Any] | None = None
    ) -> None:
        """Store `after` over `before` (the profile as it was read): the profile, and when
        the handle changed, the old handle's item gone and the new one taken, in one
        transaction. Conflict (handle_taken) when the new handle is someone else's;
        Conflict (profile_changed) when the profile changed since it was read."""
        profile = {
            "Put": {
                "TableName": self.name,
                "Item": _profile_item(after),
                # Written over what was read: a concurrent change (another handle move,
                # a deletion) makes this one retry rather than undo it.
                "ConditionExpression": "attribute_exists(id) AND handle = :was",
                "ExpressionAttributeValues": {":was": s(before.handle)},
            }
        }
        items: list[dict[str, Any]] = [profile]
        moved = after.handle != before.handle
        if moved:
            items += [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": {
                            **handle_key(after.handle),
                            "sub": s(after.sub),
                            "state": s(TAKEN),
                        },
                        "ConditionExpression": (
                            "attribute_not_exists(id) OR #sub = :sub OR "
                            "(#state = :reserved AND expiresAt <= :now)"
                        ),
                        "ExpressionAttributeNames": {"#sub": "sub", "#state": "state"},
                        "ExpressionAttributeValues": {
                            ":sub": s(after.sub),
                            ":reserved": s(RESERVED),
                            ":now": n(now_s),
                        },
                    }
                },
                self._free_handle(before.handle, after.sub),
            ]
        if event is not None:
            items.append(event)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if not reasons:
                raise
            if moved and reasons[1] == "ConditionalCheckFailed":
                raise Conflict(
                    f"The handle {after.handle!r} is taken.", code="handle_taken"
                ) from None
            raise Conflict(
                "The profile changed meanwhile; read it again and retry.", code="profile_changed"
            ) from None

    def delete(self, user: User, event: dict[str, Any] | None = None) -> None:
        """Remove `user`'s profile and their handle's item (if it is still theirs), with
        `event`, in one transaction. A retry after it went finds nothing to remove."""
        items: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.name, "Key": user_key(user.sub)}},
            self._free_handle(user.handle, user.sub),
        ]
        if event is not None:
            items.append(event)
        self.client.transact_write_items(TransactItems=items)

    def _free_handle(self, handle: str, sub: str) -> dict[str, Any]:
        """The transaction item that removes `handle`'s item if it is gone or `sub`'s."""
        return {
            "Delete": {
                "TableName": self.name,
                "Key": handle_key(handle),
                "ConditionExpression": "attribute_not_exists(id) OR #sub = :sub",
                "ExpressionAttributeNames": {"#sub": "sub"},
                "ExpressionAttributeValues": {":sub": s(sub)},
            }
        }

    def release(self, handle: str, sub: str) -> None:
        """Drop `sub`'s reservation of `handle`, if it is still a reservation of theirs
        (an account deleted before it was confirmed)."""
        try:
            self.client.delete_item(
                TableName=self.name,
                Key=handle_key(handle),
                ConditionExpression="#sub = :sub AND #state = :reserved",
                ExpressionAttributeNames={"#sub": "sub", "#state": "state"},
                ExpressionAttributeValues={":sub": s(sub), ":reserved": s(RESERVED)},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _profile_item(user: User) -> Item:
    item: Item = {
        **user_key(user.sub),
        "handle": s(user.handle),
        "createdAt": n(user.created_ms),
    }
    for name, value in (
        ("displayName", user.display_name),
        ("bio", user.bio),
        ("avatarKey", user.avatar_key),
    ):
        if value:  # an empty field is stored as absent, and read back as empty
            item[name] = s(value)
    return item
