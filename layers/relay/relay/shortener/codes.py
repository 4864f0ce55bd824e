"""Short codes: 7 characters of base62 from a CSPRNG, and the rules for custom codes.

Random codes replace the seed's key generation service: a conditional put makes
each code unique, so there is no key pool to run, pre-fill or lose on a crash, and
codes are unpredictable. The collision arithmetic is in docs/decisions.md.
"""

from __future__ import annotations

import re
import secrets
import string

from relay.platform.errors import Invalid

ALPHABET = string.ascii_letters + string.digits
LENGTH = 7

# Custom codes share the path space with the API and with whatever a deployment
# serves beside it; these would shadow or impersonate it.
RESERVED = frozenset(
    {
        "api",
        "admin",
        "docs",
        "health",
        "healthz",
        "login",
        "logout",
        "static",
        "assets",
        "favicon.ico",
        "robots.txt",
        "openapi.json",
        "www",
        "help",
        "about",
        "status",
    }
)
_CUSTOM = re.compile(r"[A-Za-z0-9_-]{4,32}")
# Any code a link could ever have: generated or custom. Anything else is a 404 before a
# single lookup, which also keeps every key sent to DynamoDB within its limits (a key
# over 2,048 bytes is a ValidationException there, not a miss).
PLAUSIBLE = re.compile(r"[A-Za-z0-9_-]{4,32}")


def is_plausible(code: str) -> bool:
    """Whether some link could have this code."""
    return PLAUSIBLE.fullmatch(code) is not None


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def check_custom(code: str) -> str:
    if code.lower() in RESERVED:
        raise Invalid(f"customCode: '{code}' is reserved.", code="reserved_code")
    if not _CUSTOM.fullmatch(code):
        raise Invalid(
            "customCode: use 4 to 32 letters, digits, '-' or '_'.", code="invalid_custom_code"
        )
    return code
