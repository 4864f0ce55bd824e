"""Short codes: random ones from a CSPRNG, and the rules for custom codes.

Random codes replace the seed's key generation service: a conditional put makes
each code unique, so there is no key pool to run, pre-fill or lose on a crash, and
codes are unpredictable. The collision arithmetic is in docs/decisions.md; the
alphabet, the length and the custom-code pattern are relay.shortener.rules.
"""

from __future__ import annotations

import re
import secrets

from relay.platform.errors import Invalid
from relay.shortener.rules import (
    ALPHABET,
    CODE_LENGTH,
    CODE_PATTERN,
    CUSTOM_CODE_MAX,
    CUSTOM_CODE_MIN,
    RESERVED_CODES,
)

__all__ = ["ALPHABET", "PLAUSIBLE", "check_custom", "generate", "is_plausible"]

# Any code a link could ever have: generated or custom. Anything else is a 404 before a
# single lookup, which also keeps every key sent to DynamoDB within its limits (a key
# over 2,048 bytes is a ValidationException there, not a miss).
PLAUSIBLE = re.compile(CODE_PATTERN)


def is_plausible(code: str) -> bool:
    """Whether some link could have this code."""
    return PLAUSIBLE.fullmatch(code) is not None


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def check_custom(code: str) -> str:
    if code.lower() in RESERVED_CODES:
        raise Invalid(f"customCode: '{code}' is reserved.", code="reserved_code")
    if not PLAUSIBLE.fullmatch(code):
        raise Invalid(
            f"customCode: use {CUSTOM_CODE_MIN} to {CUSTOM_CODE_MAX} letters, digits, '-' or '_'.",
            code="invalid_custom_code",
        )
    return code
