"""CloudWatch Logs filter patterns, as far as the local stack can match them faithfully.

`compile_pattern` turns `{ $.a = "x" }`, `{ $.a = * }`, `&&` of those, and plain
terms into a matcher; any other form is refused (at start, when the template is
read) rather than matched wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from relay_local.template.model import TemplateError

Matcher = Callable[[str], bool]

_JSON_TERM = re.compile(
    r"""\s*\$\.(?P<path>[A-Za-z0-9_.$-]+)\s*(?P<op>!?=)\s*
    (?:"(?P<quoted>[^"]*)"|(?P<star>\*)|(?P<bare>[^\s&|)]+))\s*""",
    re.VERBOSE,
)


def compile_pattern(pattern: str) -> Matcher:
    """A matcher for `{ $.a = "x" }`, `{ $.a = * }`, `&&` of those, or plain terms."""
    text = pattern.strip()
    if not text:
        return lambda line: True
    if text.startswith("{"):
        if not text.endswith("}") or "||" in text:
            raise TemplateError(f"unsupported filter pattern {pattern!r}")
        conditions = []
        for term in text[1:-1].split("&&"):
            match = _JSON_TERM.fullmatch(term)
            if match is None:
                raise TemplateError(f"unsupported filter pattern term {term.strip()!r}")
            value = match.group("quoted")
            if value is None:
                value = match.group("bare")
            conditions.append((match.group("path").split("."), match.group("op") == "!=", value))
        return lambda line: _json_matches(line, conditions)
    terms = re.findall(r'"([^"]*)"|(\S+)', text)
    words = [quoted or bare for quoted, bare in terms]
    if any(w.startswith(("?", "-", "[")) for w in words):
        raise TemplateError(f"unsupported filter pattern {pattern!r}")
    return lambda line: all(word in line for word in words)


def _json_matches(line: str, conditions: list[tuple[list[str], bool, str | None]]) -> bool:
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        return False
    for path, negated, expected in conditions:
        value: Any = document
        for key in path:
            if not isinstance(value, dict) or key not in value:
                value = _MISSING
                break
            value = value[key]
        if expected is None:  # `= *`: the field exists
            ok = value is not _MISSING
        elif value is _MISSING or isinstance(value, (dict, list)):
            ok = False
        else:
            text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
            ok = text == expected
        if ok == negated:
            return False
    return True


_MISSING = object()
