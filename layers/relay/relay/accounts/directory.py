"""Who a handle is, for every system: the one door the others use into accounts.

Paths and bodies speak handles; storage speaks subs. `resolve` turns a handle a client
sent into the sub it names (400 for a handle that breaks the rule, 404 for one nobody
has); `handles` turns stored subs back into the handles to show.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from relay.accounts.handles import normalize
from relay.accounts.models import User
from relay.accounts.users_table import UsersTable
from relay.platform.config import settings
from relay.platform.dynamo import dynamodb_client
from relay.platform.errors import NotFound


@functools.cache
def users_table() -> UsersTable:
    return UsersTable(dynamodb_client(), settings().users_table)


def resolve(raw_handle: object, table: UsersTable | None = None) -> str:
    """The sub of the person `raw_handle` names."""
    handle = normalize(raw_handle)
    sub = (table or users_table()).sub_of(handle)
    if sub is None:
        raise NotFound(f"Nobody has the handle {handle!r}.", code="user_not_found")
    return sub


def resolve_all(raw_handles: Iterable[object], table: UsersTable | None = None) -> list[str]:
    """The subs of several handles, in order, duplicates kept once; 404 naming the first
    handle nobody has."""
    handles = list(dict.fromkeys(normalize(raw) for raw in raw_handles))
    found = (table or users_table()).subs_of(handles)
    for handle in handles:
        if handle not in found:
            raise NotFound(f"Nobody has the handle {handle!r}.", code="user_not_found")
    return [found[handle] for handle in handles]


def people(subs: Iterable[str], table: UsersTable | None = None) -> dict[str, User]:
    """sub -> User for the subs that still have a profile (a deleted account is absent)."""
    return (table or users_table()).users(subs)
