"""People for tests that run functions in-process (moto): accounts made in the users
table as a confirmed sign-up leaves them, so paths and bodies can name them by handle.

`register(aws.dynamodb, "alice")` makes alice with sub "alice" (any string serves as a
sub: Relay treats it as opaque), and tokens or events for user "alice" then speak for
her. Tests of sign-up itself go through the accounts functions and the triggers.
"""

from __future__ import annotations

from typing import Any

from relay.accounts.users_table import TAKEN, handle_key, user_key
from relay.platform.config import settings
from relay.platform.dynamo import batch_write, n, s


def register(dynamodb: Any, handle: str, sub: str | None = None, *, created_ms: int = 0) -> str:
    """A confirmed account with this (already normal) handle; its sub, `handle` unless given."""
    sub = sub or handle
    table = settings().users_table
    dynamodb.put_item(
        TableName=table,
        Item={**handle_key(handle), "sub": s(sub), "state": s(TAKEN)},
    )
    dynamodb.put_item(
        TableName=table,
        Item={**user_key(sub), "handle": s(handle), "createdAt": n(created_ms)},
    )
    return sub


def register_all(dynamodb: Any, *handles: str) -> list[str]:
    return [register(dynamodb, handle) for handle in handles]


def register_many(dynamodb: Any, subs: dict[str, str]) -> None:
    """Many confirmed accounts at once (handle -> sub), in batch writes: a big group's."""
    items = []
    for handle, sub in subs.items():
        items.append({**handle_key(handle), "sub": s(sub), "state": s(TAKEN)})
        items.append({**user_key(sub), "handle": s(handle), "createdAt": n(0)})
    batch_write(dynamodb, settings().users_table, puts=items)


def rename(dynamodb: Any, old: str, new: str) -> None:
    """Move a person from handle `old` to `new` as accounts does: the new handle item,
    the profile's `handle`, and the old handle item gone (its sub stays)."""
    table = settings().users_table
    item = dynamodb.get_item(TableName=table, Key=handle_key(old))["Item"]
    sub = item["sub"]["S"]
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": {**handle_key(new), "sub": s(sub), "state": s(TAKEN)},
                }
            },
            {
                "Update": {
                    "TableName": table,
                    "Key": user_key(sub),
                    "UpdateExpression": "SET handle = :new",
                    "ExpressionAttributeValues": {":new": s(new)},
                }
            },
            {"Delete": {"TableName": table, "Key": handle_key(old)}},
        ]
    )


def delete(dynamodb: Any, handle: str) -> str:
    """Delete a person's account as accounts does (profile and handle items gone); their
    sub, which other tables still name."""
    table = settings().users_table
    sub = str(dynamodb.get_item(TableName=table, Key=handle_key(handle))["Item"]["sub"]["S"])
    dynamodb.delete_item(TableName=table, Key=user_key(sub))
    dynamodb.delete_item(TableName=table, Key=handle_key(handle))
    return sub
