"""The handle rule, written once: the one name people type and paths use.

A handle is 3 to 30 characters of `[a-z0-9_]` once NFKC-normalized and case-folded,
and not a reserved word. `normalize` is the only way a handle enters Relay: the
pre-sign-up trigger, PATCH /api/me and every path or body that names a person call it,
so `ALICE`, its full-width form and `alice` are one person, and `bob\\u200b`, ` bob` or
`\\u202eevil` are refused rather than made into look-alikes.
"""

from __future__ import annotations

import re
import unicodedata

from relay.platform.errors import Invalid

MIN_LENGTH = 3
MAX_LENGTH = 30
_HANDLE = re.compile(rf"[a-z0-9_]{{{MIN_LENGTH},{MAX_LENGTH}}}")

# Names a person could use to pass as Relay itself, or that routes and clients treat
# specially. Compared after normalization.
RESERVED = frozenset(
    {
        "admin", "administrator", "api", "anonymous", "help", "me", "mod", "moderator",
        "null", "none", "operator", "operators", "relay", "root", "security", "staff",
        "support", "system", "undefined", "config", "settings", "www",
    }
)  # fmt: skip

RULE = (
    f"A handle is {MIN_LENGTH} to {MAX_LENGTH} letters, digits or underscores "
    "(a-z, 0-9, _), and not a reserved word."
)


def normalize(raw: object) -> str:
    """The handle `raw` names, in its one canonical form; Invalid (400 invalid_handle)
    when it is not a string, breaks the rule or is reserved."""
    if not isinstance(raw, str) or len(raw) > 4 * MAX_LENGTH:
        raise Invalid(RULE, code="invalid_handle")
    try:
        handle = unicodedata.normalize("NFKC", raw).casefold()
        # NFKC after case folding too: folding can undo a normal form (Unicode's
        # NFKC_Casefold is the pair).
        handle = unicodedata.normalize("NFKC", handle)
    except UnicodeError:  # pragma: no cover - str methods do not raise on surrogates
        raise Invalid(RULE, code="invalid_handle") from None
    if not _HANDLE.fullmatch(handle):
        raise Invalid(RULE, code="invalid_handle")
    if handle in RESERVED:
        raise Invalid(f"The handle {handle!r} is reserved.", code="handle_reserved")
    return handle


def is_valid(raw: object) -> bool:
    try:
        normalize(raw)
    except Invalid:
        return False
    return True
