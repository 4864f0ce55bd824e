"""Text that can be stored and sent: no lone surrogates.

JSON can carry a lone surrogate (`"\\ud800"`), and Python decodes it into a str that
has no UTF-8 bytes: DynamoDB, S3 keys and `@connections` posts then fail deep inside
a write. A field a client sends is checked here, at the edge, so it gets DESIGN's
error naming the field instead.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

NOT_TEXT = "not Unicode text (a lone surrogate?)"


def encodable(text: str) -> bool:
    """Whether `text` has UTF-8 bytes (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: str) -> str:
    if not encodable(value):
        raise ValueError(NOT_TEXT)
    return value


# A str field of a body or frame that must be storable text.
Text = Annotated[str, AfterValidator(_text)]
