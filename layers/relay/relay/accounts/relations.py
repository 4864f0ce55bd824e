"""Blocks and mutes between two people, for every system: the feed refuses a follow
and hides posts across a block; chat (its own issue) asks `is_blocked` before it lets
one message the other. A block holds both ways; a mute only hides, and tells nobody.
"""

from __future__ import annotations

import functools

from relay.accounts.relations_table import BLOCKED, MUTED, RelationsTable
from relay.platform.config import settings
from relay.platform.dynamo import dynamodb_client


@functools.cache
def relations_table() -> RelationsTable:
    return RelationsTable(dynamodb_client(), settings().relations_table)


def is_blocked(a: str, b: str, table: RelationsTable | None = None) -> bool:
    """Whether either of the two people (user ids) blocked the other."""
    return a != b and (table or relations_table()).blocked_between(a, b)


def block(user_id: str, other: str, *, on: bool, table: RelationsTable | None = None) -> None:
    (table or relations_table()).set(user_id, other, BLOCKED, on=on)


def mute(user_id: str, other: str, *, on: bool, table: RelationsTable | None = None) -> None:
    (table or relations_table()).set(user_id, other, MUTED, on=on)
