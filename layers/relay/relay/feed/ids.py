"""Post and comment ids, and the positions the feed's cursors carry.

An id is the creation time in milliseconds (13 digits) and 10 random base32
characters, so ids sort as (createdAt, id) do: the cached timelines order by id
alone (a lexicographic sorted set), the index by author sorts on it, and a list's
position is simply the last id a page showed. New posts sort after every position
already handed out, so pages have no gaps or repeats while posts arrive.

Every list's cursor is the platform's (relay.platform.cursors), bound to the list it
was made for (`scope`: the reader's feed, an author's posts, a post's comments), so
a cursor of one list is refused by every other, alike: 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import re
import secrets

from relay.platform import cursors

_ID = re.compile(r"\d{13}[a-z2-7]{10}")
_IS_ID = cursors.text(_ID.fullmatch)


def new_id(now_ms: int) -> str:
    return f"{now_ms:013d}" + base64.b32encode(secrets.token_bytes(10)).decode()[:10].lower()


def is_id(text: str) -> bool:
    return bool(_ID.fullmatch(text))


def created_ms(post_id: str) -> int:
    return int(post_id[:13])


def cursor_of(scope: str, last_id: str) -> str:
    """The cursor of the page after the one that ended at `last_id`, in the list `scope`."""
    return cursors.encode(scope, [last_id])


def position(scope: str, cursor: str | None) -> str | None:
    """The id a cursor of the list `scope` names (None: the first page); a 400 for any
    cursor not made for this list."""
    if cursor is None:
        return None
    (last_id,) = cursors.decode(cursor, scope, [_IS_ID])
    return str(last_id)
