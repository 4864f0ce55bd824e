"""Post and comment ids, and the feed's cursor.

An id is the creation time in milliseconds (13 digits) and 10 random base32
characters, so ids sort as (createdAt, id) do: the cached timelines order by id
alone (a lexicographic sorted set), the index by author sorts on it, and a cursor
is simply the last id a page showed. New posts sort after every cursor already
handed out, so pages have no gaps or repeats while posts arrive.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from relay.platform.errors import Invalid

_ID = re.compile(r"\d{13}[a-z2-7]{10}")
MAX_CURSOR = 64


def new_id(now_ms: int) -> str:
    return f"{now_ms:013d}" + base64.b32encode(secrets.token_bytes(10)).decode()[:10].lower()


def is_id(text: str) -> bool:
    return bool(_ID.fullmatch(text))


def created_ms(post_id: str) -> int:
    return int(post_id[:13])


def cursor_of(post_id: str | None) -> str | None:
    if post_id is None:
        return None
    return base64.urlsafe_b64encode(post_id.encode()).decode().rstrip("=")


def position(cursor: str | None) -> str | None:
    """The id a cursor names; a 400 for anything this module did not make."""
    if cursor is None:
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError) as error:
        raise Invalid("cursor: not a cursor of this feed.", code="invalid_cursor") from error
    if not is_id(text):
        raise Invalid("cursor: not a cursor of this feed.", code="invalid_cursor")
    return text
