"""Request ids for the local stack's own bookkeeping, made without a system call.

`uuid.uuid4()` reads the operating system's randomness on every call, and the
gateway made three per request. These ids name invocations and trace headers;
nothing guesses them to gain anything, so a seeded Mersenne Twister is enough.
Connection ids, which do travel in URLs, use `secrets` (see gateways.events).
"""

from __future__ import annotations

import os
import random

_random = random.Random(os.urandom(16))  # noqa: S311 - not secrets (see above)


def request_id() -> str:
    """A UUID-shaped id: 8-4-4-4-12 lower-case hex digits."""
    text = f"{_random.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def hex_id(digits: int) -> str:
    return f"{_random.getrandbits(digits * 4):0{digits}x}"
