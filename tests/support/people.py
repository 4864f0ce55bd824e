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
from relay.platform.dynamo import n, s


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
