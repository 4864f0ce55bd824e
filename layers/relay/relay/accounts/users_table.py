"""UsersTable: one item per person and one per handle, on the key `id`.

- `u#<sub>`: the profile (`handle`, `displayName`, `bio`, `avatarKey`, `createdAt` ms).
- `h#<handle>`: `sub`, the owner of a handle. `state` is `taken` once the account is
  confirmed; `reserved` (with `expiresAt`, the table's TTL) between sign-up and the
  emailed code, so two people cannot confirm the same handle.

A handle item exists for every profile, so a handle names at most one person, and
the two move in one transaction (accounts' logic composes them).
"""

from __future__ import annotations

from collections.abc import Iterable

from relay.accounts.models import User
from relay.platform.dynamo import Item, Table, batch_get, s

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
