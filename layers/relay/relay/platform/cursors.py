"""The one cursor codec: every page of every API hands out and takes back cursors here.

A cursor is opaque to clients (base64url of a small JSON array) and bound to the
list it was made for: its first element is a short digest of the list's scope (the
owner of the links, the reader of the feed, the post whose comments these are), so
a cursor from one list is refused by another, and a client cannot walk someone
else's list by editing one. What follows is the position, in whatever parts the
store needs (a sort key, a timestamp, an id), each checked by the store's own
rule before it reaches a query.

Anything a client sends that this module did not make for this scope is refused
alike, everywhere: 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence

from relay.platform.errors import Invalid

# Positions are a few ids and numbers; anything much longer was not made here.
MAX_CURSOR = 1_024
_SCOPE_CHARS = 8

Part = str | int
Check = Callable[[Part], bool]


def _scope_tag(scope: str) -> str:
    digest = hashlib.sha256(scope.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_SCOPE_CHARS]


def encode(scope: str, position: Sequence[Part]) -> str:
    """The cursor of `position` in the list named by `scope`."""
    text = json.dumps([_scope_tag(scope), *position], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def refused() -> Invalid:
    return Invalid("cursor: not a cursor this API gave you.", code="invalid_cursor")


def decode(cursor: str, scope: str, checks: Sequence[Check]) -> list[Part]:
    """The position a cursor names: one part per check, each passing its check.

    Invalid (400 `invalid_cursor`) for a cursor made for another scope, edited, too
    long, or not made here at all."""
    if len(cursor) > MAX_CURSOR:
        raise refused()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError, RecursionError) as error:
        raise refused() from error
    if (
        not isinstance(value, list)
        or len(value) != len(checks) + 1
        or value[0] != _scope_tag(scope)
    ):
        raise refused()
    position: list[Part] = value[1:]
    for part, check in zip(position, checks, strict=True):
        if isinstance(part, bool) or not isinstance(part, str | int) or not check(part):
            raise refused()
    return position


def text(pattern: Callable[[str], object]) -> Check:
    """A check for a string part that `pattern` (a compiled regex's fullmatch, say) accepts."""
    return lambda part: isinstance(part, str) and bool(pattern(part))


def whole(minimum: int = 0, maximum: int = 2**63 - 1) -> Check:
    """A check for an integer part within [minimum, maximum]."""
    return lambda part: isinstance(part, int) and minimum <= part <= maximum
