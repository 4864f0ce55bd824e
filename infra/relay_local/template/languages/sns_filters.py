"""Amazon SNS subscription filter policies, so the local stack delivers a published
message only to the subscriptions whose policy matches it, as SNS does. A policy
is checked once, when compiled, against what SNS enforces when a subscription is
created (operators and operands, five keys, 150 combinations, the wildcard budget,
no nesting in attribute scope), so a policy SNS would refuse fails at start rather
than silently matching nothing; matching then follows the engine SNS filters with
(aws/event-ruler): the message attributes or the JSON body become one JSON object
whose leaves are matched by dotted path, strings against string rules and numbers
against numeric ones, an array matching when any element does, two keys only
satisfied together by the same element of an array of objects, `exists` looking
at leaves only, and Binary attributes ignored.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import ROUND_HALF_UP, Decimal
from itertools import count
from typing import Any

__all__ = ["FilterPolicyError", "Matcher", "compile_event_pattern", "compile_filter_policy"]

Matcher = Callable[[dict[str, dict[str, str]], str], bool]

_SCOPES = ("MessageAttributes", "MessageBody")
_MAX_KEYS = 5
_MAX_COMBINATIONS = 150
_MAX_POLICY_BYTES = 256 * 1024
_MAX_WILDCARDS_PER_PATTERN = 3
_MAX_WILDCARD_COMPLEXITY = 100
_NUMERIC_LIMIT = Decimal(10) ** 9

# The engine refuses these as field names inside "$or"; a policy that uses them
# there is not an OR at all, and "$or" becomes an ordinary key.
_RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
# SNS documents five digits of accuracy after the point; the engine keeps six,
# and SNS was observed to treat 100.123456789 and 100.1234567 as equal but not
# 100.1234561, which is rounding at the sixth digit.
_PRECISION = Decimal("0.000001")
_EXACT_ABOVE = Decimal(10) ** 15
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MASK_BITS = re.compile(r"[+-]?\d+")

_Scalar = str | bool | Decimal | None
_Trail = tuple[tuple[int, int], ...]
_Test = Callable[[_Scalar], bool]


class FilterPolicyError(ValueError):
    """A filter policy SNS would refuse; the message says what is wrong and where."""


def compile_filter_policy(
    policy: dict[str, Any] | str | None, scope: str = "MessageAttributes"
) -> Matcher:
    """Check `policy` as SNS does when a subscription is created, and return its matcher."""
    if scope not in _SCOPES:
        raise FilterPolicyError(f"FilterPolicyScope: {scope!r} is not one of {', '.join(_SCOPES)}")
    document = _load(policy)
    if not document:
        return lambda attributes, body: True
    branches = _Compiler(scope).compile(document)
    fields = tuple(tuple(branch.values()) for branch in branches)
    prefixes = _path_prefixes(path for branch in branches for path in branch)

    if scope == "MessageAttributes":

        def match_attributes(attributes: dict[str, dict[str, str]], body: str) -> bool:
            event = _attribute_event(attributes or {})
            # "exists": false only matches when at least one attribute is present
            # (SNS key matching), so a message without attributes never matches.
            return bool(event) and _matches(fields, event, prefixes)

        return match_attributes

    def match_body(attributes: dict[str, dict[str, str]], body: str) -> bool:
        event = _body_event(body)
        return bool(event) and _matches(fields, event, prefixes)

    return match_body


def compile_event_pattern(pattern: dict[str, Any] | str) -> Callable[[Any], bool]:
    """A Lambda event filter's pattern (FilterCriteria), matched against a whole record.

    The record's numbers are compared as numbers, its strings as strings, as the
    pattern engine does for SNS; SNS's own limits do not apply.
    """
    document = _load(pattern)
    if not document:
        raise FilterPolicyError("Pattern: an empty pattern is not allowed")
    branches = _Compiler("MessageBody", sns_limits=False).compile(document)
    fields = tuple(tuple(branch.values()) for branch in branches)
    prefixes = _path_prefixes(path for branch in branches for path in branch)

    def match(record: Any) -> bool:
        try:
            event = _parse_json(json.dumps(record))
        except (TypeError, ValueError, RecursionError):
            return False
        return isinstance(event, dict) and _matches(fields, event, prefixes)

    return match


# --- Reading and checking the policy ------------------------------------------------------


def _load(policy: dict[str, Any] | str | None) -> dict[str, Any]:
    if policy is None:
        return {}
    if isinstance(policy, str):
        if not policy.strip():
            # Setting FilterPolicy to an empty string is how SNS removes a policy.
            return {}
        size = len(policy.encode("utf-8"))
        try:
            document = _parse_json(policy)
        except (ValueError, RecursionError) as error:
            raise FilterPolicyError(f"FilterPolicy: not valid JSON: {error}") from None
    else:
        document = policy
        try:
            size = len(json.dumps(policy, default=str).encode("utf-8"))
        except (TypeError, ValueError):
            size = 0  # keys JSON cannot hold; compiling names them
    if not isinstance(document, dict):
        raise FilterPolicyError("FilterPolicy: Filter is not an object")
    if size > _MAX_POLICY_BYTES:
        raise FilterPolicyError(
            f"FilterPolicy: the policy is {size} bytes; SNS allows {_MAX_POLICY_BYTES}"
        )
    return document


def _fail(reason: str, where: str) -> FilterPolicyError:
    location = f" (at {where})" if where else ""
    return FilterPolicyError(f"FilterPolicy: {reason}{location}")


def _path_prefixes(paths: Iterable[str]) -> frozenset[str]:
    prefixes: set[str] = set()
    for path in paths:
        parts = path.split(".")
        prefixes.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return frozenset(prefixes)


@dataclass(frozen=True)
class _Field:
    """One policy key: a leaf at `path` must pass one of `tests`, or be absent if allowed."""

    path: str
    tests: tuple[_Test, ...]
    absent_ok: bool


@dataclass
class _Compiler:
    """Turns a policy into alternatives of fields, checking it the way SNS does."""

    scope: str
    # SNS's own limits (five keys, 150 combinations, the wildcard budget); Lambda's
    # event filtering runs the same engine without them.
    sns_limits: bool = True
    nested_at: str = ""
    has_wildcard: bool = False
    # (points, patterns) per key, for the wildcard budget.
    wildcard_keys: list[tuple[int, int]] = dataclass_field(default_factory=list)

    def compile(self, document: dict[str, Any]) -> list[dict[str, _Field]]:
        branches, combinations = self.alternatives(document, "", "", 1)
        # The engine's parse errors come first; the SNS limits are checked on a
        # policy that parsed.
        if not self.sns_limits:
            return branches
        if self.scope == "MessageAttributes" and self.nested_at:
            raise _fail(
                "Filter policy scope MessageAttributes does not support nested filter policy",
                self.nested_at,
            )
        for branch in branches:
            if len(branch) > _MAX_KEYS:
                raise _fail(
                    f"Filter policy can not have more than {_MAX_KEYS} keys "
                    f"({', '.join(sorted(branch))} are matched together)",
                    "",
                )
        if combinations > _MAX_COMBINATIONS:
            raise _fail(
                f"Filter policy is too complex: {combinations} combinations, "
                f"SNS allows {_MAX_COMBINATIONS}",
                "",
            )
        if self.has_wildcard:
            total = sum(points * patterns for points, patterns in self.wildcard_keys)
            if total > _MAX_WILDCARD_COMPLEXITY:
                raise _fail(
                    f"wildcard complexity is {total}; SNS allows {_MAX_WILDCARD_COMPLEXITY}", ""
                )
        return branches

    def alternatives(
        self, node: Mapping[str, Any], prefix: str, where: str, depth: int
    ) -> tuple[list[dict[str, _Field]], int]:
        """The alternatives (each a conjunction of fields) of an object, and its combinations.

        Combinations are counted as the SNS constraints page does: a key's values
        times its nesting level, multiplied across keys; "$or" branches add up.
        """
        if not node:
            raise _fail("Empty objects are not allowed", where)
        branches: list[dict[str, _Field]] = [{}]
        combinations = 1
        for key, value in node.items():
            if not isinstance(key, str):
                raise _fail(f"key {key!r} is not a string", where)
            here = f"{where}.{key}" if where else key
            path = f"{prefix}.{key}" if prefix else key
            if key == "$or" and _is_or(value):
                choices: list[dict[str, _Field]] = []
                total = 0
                for position, branch in enumerate(value):
                    sub, sub_combinations = self.alternatives(
                        branch, prefix, f"{here}[{position}]", depth
                    )
                    choices.extend(sub)
                    total += sub_combinations
                branches = [_merge(b, c) for b in branches for c in choices]
                combinations *= total
            elif isinstance(value, dict):
                self.nested_at = self.nested_at or here
                sub, sub_combinations = self.alternatives(value, path, here, depth + 1)
                branches = [_merge(b, s) for b in branches for s in sub]
                combinations *= sub_combinations
            elif isinstance(value, list):
                compiled = self.key_field(path, value, here)
                branches = [_merge(b, {path: compiled}) for b in branches]
                combinations *= len(value) * depth
            else:
                raise _fail(f'"{key}" must be an object or an array', here)
            if self.sns_limits and len(branches) > _MAX_COMBINATIONS:
                # Every alternative counts at least once, so the policy is over the
                # limit already; stop before expanding it any further.
                raise _fail(
                    f"Filter policy is too complex: more than {_MAX_COMBINATIONS} combinations",
                    "",
                )
        return branches, combinations

    def key_field(self, path: str, values: list[Any], where: str) -> _Field:
        if not values:
            raise _fail("Empty arrays are not allowed", where)
        tests: list[_Test] = []
        absent_ok = False
        points = 0
        for value in values:
            if isinstance(value, dict):
                test, value_points = self.expression(value, where)
                points += value_points
                if test is None:
                    absent_ok = True
                else:
                    tests.append(test)
            elif isinstance(value, list):
                raise _fail("Match value must be String, number, true, false, or null", where)
            else:
                tests.append(_exact(value, where))
        if points:
            self.wildcard_keys.append((points, sum(1 for value in values if _scored(value))))
        return _Field(path, tuple(tests), absent_ok)

    def expression(self, expression: dict[str, Any], where: str) -> tuple[_Test | None, int]:
        """A match expression's test (None for "exists": false) and its wildcard points."""
        if not expression:
            raise _fail("Match expression name not found", where)
        if len(expression) > 1:
            raise _fail("Only one key allowed in match expression", where)
        ((operator, operand),) = expression.items()
        here = f"{where}.{operator}"
        if operator in ("prefix", "suffix", "equals-ignore-case"):
            text = _string(operand, operator, here)
            if operator == "prefix":
                return (lambda v: isinstance(v, str) and v.startswith(text)), 0
            if operator == "suffix":
                return (lambda v: isinstance(v, str) and v.endswith(text)), 0
            lowered = text.lower()
            return (lambda v: isinstance(v, str) and v.lower() == lowered), 0
        if operator == "wildcard":
            pattern, points = self.wildcard(_string(operand, operator, here), here)
            return (lambda v: isinstance(v, str) and bool(pattern.fullmatch(v))), points
        if operator == "anything-but":
            excluded = self.anything_but(operand, here)
            # Anything-but needs a value: a missing key or a null never matches it.
            return (lambda v: v is not None and not excluded(v)), 1
        if operator == "numeric":
            return _numeric(operand, here), 0
        if operator == "exists":
            if not isinstance(operand, bool):
                raise _fail("exists match pattern must be either true or false.", here)
            # "exists": true needs a non-null leaf (SNS key matching).
            return ((lambda v: v is not None) if operand else None), 0
        if operator == "cidr":
            network = _cidr(operand, here)
            return (lambda v: _in_network(v, network)), 0
        raise _fail(f"Unrecognized match type {operator}", where)

    def wildcard(self, text: str, where: str) -> tuple[re.Pattern[str], int]:
        """The pattern, and its points: SNS scores one wildcard 1 and several 3."""
        self.has_wildcard = True
        pattern, stars = _wildcard(text, where)
        if stars > _MAX_WILDCARDS_PER_PATTERN:
            raise _fail(
                f"wildcard pattern {text!r} has {stars} wildcards; "
                f"SNS allows {_MAX_WILDCARDS_PER_PATTERN}",
                where,
            )
        return pattern, 1 if stars <= 1 else 3

    def anything_but(self, operand: Any, where: str) -> _Test:
        """The values anything-but excludes."""
        if isinstance(operand, dict):
            if len(operand) != 1:
                raise _fail("Only one key allowed in match expression", where)
            ((inner, text),) = operand.items()
            # SNS documents prefix, suffix and wildcard inside anything-but; the
            # engine's equals-ignore-case there is not offered by SNS.
            if inner not in ("prefix", "suffix", "wildcard"):
                raise _fail(f"Unsupported anything-but pattern: {inner}", where)
            text = _string(text, inner, f"{where}.{inner}")
            if inner == "wildcard":
                pattern, _ = self.wildcard(text, f"{where}.{inner}")
                return lambda v: isinstance(v, str) and bool(pattern.fullmatch(v))
            if not text:
                raise _fail("Null prefix/suffix not allowed", f"{where}.{inner}")
            if inner == "prefix":
                return lambda v: isinstance(v, str) and v.startswith(text)
            return lambda v: isinstance(v, str) and v.endswith(text)
        if isinstance(operand, list):
            if any(not isinstance(v, str) and not _is_number(v) for v in operand):
                raise _fail("Inside anything but list, start|null|boolean is not supported.", where)
            values = operand
        elif isinstance(operand, str) or _is_number(operand):
            values = [operand]
        else:
            raise _fail(
                "Value of anything-but must be an array or single string/number value.", where
            )
        strings = {v for v in values if isinstance(v, str)}
        numbers = {_number(v) for v in values if not isinstance(v, str)}
        if bool(strings) == bool(numbers):
            raise _fail(
                "Inside anything but list, either all values are number or string, "
                "mixed type is not supported",
                where,
            )
        for number in numbers:
            _check_range(number, where)
        if strings:
            return lambda v: isinstance(v, str) and v in strings
        canonical = {_canonical(number) for number in numbers}
        return lambda v: isinstance(v, Decimal) and _canonical(v) in canonical


def _scored(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    return next(iter(value)) in ("wildcard", "anything-but")


def _is_or(value: Any) -> bool:
    """Whether "$or" here is the OR operator, by the three conditions SNS documents."""
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(branch, dict) and not _uses_reserved(branch) for branch in value)
    )


def _uses_reserved(node: dict[Any, Any]) -> bool:
    for key, child in node.items():
        if key in _RESERVED_IN_OR:
            return True
        if isinstance(child, dict) and _uses_reserved(child):
            return True
        if (
            key == "$or"
            and isinstance(child, list)
            and any(isinstance(b, dict) and _uses_reserved(b) for b in child)
        ):
            return True
    return False


def _merge(base: dict[str, _Field], extra: dict[str, _Field]) -> dict[str, _Field]:
    # A path given twice keeps its last patterns, as the engine does by default.
    return {**base, **extra}


def _string(operand: Any, operator: str, where: str) -> str:
    if not isinstance(operand, str):
        # The engine reports a non-string CIDR with the prefix wording.
        name = "prefix" if operator == "cidr" else operator
        raise _fail(f"{name} match pattern must be a string", where)
    return operand


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, int | Decimal) and (
        not isinstance(value, Decimal) or value.is_finite()
    )


def _number(value: Any) -> Decimal:
    # str() of a float is its shortest repr, so 301.5 stays 301.5 and not its binary expansion.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _canonical(number: Decimal) -> Decimal:
    if abs(number) >= _EXACT_ABOVE:
        return number
    return number.quantize(_PRECISION, rounding=ROUND_HALF_UP)


def _check_range(number: Decimal, where: str) -> None:
    if abs(number) > _NUMERIC_LIMIT:
        raise _fail(
            f"numeric value {number} is outside the range SNS compares "
            f"(-{_NUMERIC_LIMIT} to {_NUMERIC_LIMIT})",
            where,
        )


def _exact(value: Any, where: str) -> _Test:
    if value is None:
        return lambda v: v is None
    if isinstance(value, bool):
        return lambda v: isinstance(v, bool) and v is value
    if _is_number(value):
        # No range check: SNS accepts exact numbers such as account ids beyond it.
        target = _canonical(_number(value))
        return lambda v: isinstance(v, Decimal) and _canonical(v) == target
    if isinstance(value, str):
        address = _ip(value)
        if address is None:
            return lambda v: v == value
        # The engine turns an IP literal in a policy into an address range, so
        # "2001:db8::1" also matches "2001:0db8:0:0:0:0:0:1".
        return lambda v: v == value or (isinstance(v, str) and _ip(v) == address)
    raise _fail("Match value must be String, number, true, false, or null", where)


def _numeric(operand: Any, where: str) -> _Test:
    """A numeric expression, checked with the engine's grammar and wording."""
    if not isinstance(operand, list):
        raise _fail("Value of numeric must be an array.", where)
    terms = list(operand)
    if not terms or not isinstance(terms[0], str):
        shown = "]" if not terms else _show(terms[0])
        raise _fail(f"Invalid member in numeric match: {shown}", where)
    operator = terms[0]
    if operator not in ("=", "<", "<=", ">", ">="):
        raise _fail(f"Unrecognized numeric range operator: {operator}", where)
    bottom = _operand(terms, 1, "equals" if operator == "=" else operator, where)
    if operator in ("=", "<", "<="):
        if len(terms) > 2:
            raise _fail("Too many elements in numeric expression", where)
        if operator == "=":
            return _number_test(lambda n: n == bottom)
        if operator == "<":
            return _number_test(lambda n: n < bottom)
        return _number_test(lambda n: n <= bottom)
    if len(terms) == 2:
        if operator == ">":
            return _number_test(lambda n: n > bottom)
        return _number_test(lambda n: n >= bottom)
    upper = terms[2]
    if not isinstance(upper, str):
        raise _fail(f"Bad value in numeric range: {_show(upper)}", where)
    if upper not in ("<", "<="):
        raise _fail(f"Bad numeric range operator: {upper}", where)
    top = _operand(terms, 3, upper, where)
    if len(terms) > 4:
        raise _fail("Too many terms in numeric range expression", where)
    if top <= bottom:
        raise _fail("Bottom must be less than top", where)
    above = (lambda n: n > bottom) if operator == ">" else (lambda n: n >= bottom)
    below = (lambda n: n < top) if upper == "<" else (lambda n: n <= top)
    return _number_test(lambda n: above(n) and below(n))


def _operand(terms: list[Any], index: int, name: str, where: str) -> Decimal:
    if index >= len(terms) or not _is_number(terms[index]):
        raise _fail(f"Value of {name} must be numeric", where)
    number = _number(terms[index])
    _check_range(number, where)
    return _canonical(number)


def _number_test(compare: Callable[[Decimal], bool]) -> _Test:
    # Numeric operators apply to JSON numbers (Number attributes) only, and only
    # inside the range SNS documents for numeric matching.
    def test(value: _Scalar) -> bool:
        return (
            isinstance(value, Decimal)
            and abs(value) <= _NUMERIC_LIMIT
            and compare(_canonical(value))
        )

    return test


def _show(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else value


def _cidr(operand: Any, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = _string(operand, "cidr", where)
    parts = text.split("/")
    if len(parts) != 2:
        raise _fail("Malformed CIDR, one '/' required", where)
    address, bits = parts
    if not _MASK_BITS.fullmatch(bits):
        raise _fail("Malformed CIDR, mask bits must be an integer", where)
    mask = int(bits)
    if mask < 0:
        raise _fail("Malformed CIDR, mask bits must not be negative", where)
    base = _ip(address)
    if base is None:
        raise _fail(f"Nonstandard IP address: {address}", where)
    # The engine's limits: a /32 (or /128) is refused; an exact address is the way.
    if base.version == 4 and mask > 31:
        raise _fail("IPv4 mask bits must be < 32", where)
    if base.version == 6 and mask > 127:
        raise _fail("IPv6 mask bits must be < 128", where)
    return ipaddress.ip_network(f"{base}/{mask}", strict=False)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _in_network(value: _Scalar, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if not isinstance(value, str):
        return False
    address = _ip(value)
    return address is not None and address.version == network.version and address in network


def _wildcard(text: str, where: str) -> tuple[re.Pattern[str], int]:
    parts: list[str] = []
    stars = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "*":
            if text[index + 1 : index + 2] == "*":
                raise _fail(f"Consecutive wildcard characters at pos {index}", where)
            parts.append(".*")
            stars += 1
        elif char == "\\":
            escaped = text[index + 1 : index + 2]
            if escaped not in ("*", "\\"):
                raise _fail(f"Invalid escape character at pos {index}", where)
            parts.append(re.escape(escaped))
            index += 1
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL), stars


# --- Matching a message -------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """A scalar in the message, with the array elements it sits in (array id, index)."""

    value: _Scalar
    trail: _Trail


def _attribute_event(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The message attributes as the JSON object the policy is matched against."""
    event: dict[str, Any] = {}
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType", "")
        text = attribute.get("StringValue")
        if not isinstance(text, str):
            continue
        base = data_type.split(".", 1)[0]
        if data_type.endswith(".Array"):
            try:
                event[name] = _parse_json(text)
            except (ValueError, RecursionError):
                continue  # SNS refuses such a publish; there is nothing to match
        elif base == "String":
            event[name] = text
        elif base == "Number" and _NUMBER_TEXT.fullmatch(text):
            event[name] = Decimal(text)
        # Binary attributes are ignored by SNS filtering, as if absent.
    return event


def _body_event(body: str) -> dict[str, Any]:
    try:
        document = _parse_json(body)
    except (ValueError, RecursionError, TypeError):
        return {}
    # A body policy assumes a JSON object; anything else matches nothing.
    return document if isinstance(document, dict) else {}


def _parse_json(text: str) -> Any:
    # Numbers stay Decimal so 301.5 and 3.015e2 compare equal without binary noise.
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python accepts them, SNS's parser does not.
    raise ValueError(f"{name} is not a JSON number")


def _matches(
    branches: tuple[tuple[_Field, ...], ...], event: dict[str, Any], prefixes: frozenset[str]
) -> bool:
    try:
        index = _index(event, prefixes)
        return any(_branch_matches(fields, index) for fields in branches)
    except RecursionError:
        return False


def _index(event: dict[str, Any], prefixes: frozenset[str]) -> dict[str, list[_Leaf]]:
    """The message's leaves by dotted path, keeping only paths the policy can reach.

    Keys are joined with dots both here and in the policy, so {"a.b": 1} and
    {"a": {"b": 1}} are the same leaf, as they are to SNS.
    """
    leaves: dict[str, list[_Leaf]] = {}
    arrays = count()

    def walk(value: Any, path: str, trail: _Trail) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else str(key)
                if child_path in prefixes:
                    walk(child, child_path, trail)
        elif isinstance(value, list):
            array = next(arrays)
            for position, item in enumerate(value):
                walk(item, path, (*trail, (array, position)))
        elif path:
            leaves.setdefault(path, []).append(_Leaf(value, trail))

    walk(event, "", ())
    return leaves


def _branch_matches(fields: tuple[_Field, ...], index: dict[str, list[_Leaf]]) -> bool:
    options: list[list[_Trail]] = []
    for policy_field in fields:
        leaves = index.get(policy_field.path, [])
        trails = list(
            dict.fromkeys(
                leaf.trail
                for leaf in leaves
                if any(test(leaf.value) for test in policy_field.tests)
            )
        )
        if policy_field.absent_ok and all(leaf.value is None for leaf in leaves):
            trails.append(())
        if not trails:
            return False
        # A match outside any array (or by absence) ties this key to no element.
        options.append([()] if () in trails else trails)
    options.sort(key=len)
    return _consistent(options, 0, {})


def _consistent(options: list[list[_Trail]], at: int, chosen: dict[int, int]) -> bool:
    """Whether one leaf per key can be picked with no two from different elements of an array."""
    if at == len(options):
        return True
    return any(
        all(chosen.get(array, position) == position for array, position in trail)
        and _consistent(options, at + 1, {**chosen, **dict(trail)})
        for trail in options[at]
    )
