"""Request bodies, read before any framework sees them, so that nothing a client sends
(too large, not UTF-8, not JSON, nested past any reason) can become a 500.

Relay's API speaks JSON only; its bodies are flat objects of a few hundred bytes.
WebSocket frames are read by the same rules (relay.chat.frames).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from relay.platform.errors import Invalid, TooLarge

# Relay's bodies are a few hundred bytes (a URL is at most 2048 characters, 12 KiB as
# JSON escapes); API Gateway would pass up to 10 MB for every instance to parse.
MAX_BODY_BYTES = 64 * 1024
# Methods whose body a route may read; any other method's body is ignored, as HTTP says.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Relay's bodies are flat objects; a validator that walks a deeper one recurses.
MAX_BODY_DEPTH = 16


def json_body(body: str, base64_encoded: bool) -> str:
    """The body as JSON text, once it is known to be sound: a RelayError (400, 413) for
    anything else. Parsing it here (Powertools parses it again) is what turns a body
    nested past Python's recursion limit into a 400 rather than a 500."""
    try:
        raw = base64.b64decode(body, validate=True) if base64_encoded else body.encode()
        if len(raw) > MAX_BODY_BYTES:
            raise TooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB.")
        text = raw.decode()
        value = json.loads(text)
    except (binascii.Error, UnicodeError) as error:
        raise Invalid("The request body is not UTF-8 JSON.", code="malformed_json") from error
    except RecursionError as error:
        raise Invalid("The request body is nested too deeply.", code="malformed_json") from error
    except ValueError as error:
        raise Invalid("The request body is not valid JSON.", code="malformed_json") from error
    if deeper_than(value, MAX_BODY_DEPTH):
        raise Invalid("The request body is nested too deeply.", code="malformed_json")
    return text


def deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON nests arrays and objects more than `limit` deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False
