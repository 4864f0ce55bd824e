"""Template parameters as `sam deploy --parameter-overrides` takes them, checked as
CloudFormation checks them.

`parse_overrides` reads SAM's two spellings (`Key=Value` and
`ParameterKey=Key,ParameterValue=Value`); `resolve_parameters` merges them
with the template's defaults and refuses what CloudFormation would refuse: an
unknown key, a value outside `AllowedValues`, against `AllowedPattern`, out of
`MinValue`/`MaxValue` or `MinLength`/`MaxLength`, or not a number for a
`Number` parameter, naming the parameter and its constraint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from relay_local.template.model import TemplateError

_LONG_FORM = re.compile(r"ParameterKey=(?P<key>[^,]+),ParameterValue=(?P<value>.*)", re.DOTALL)


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """`["Stage=prod", "ParameterKey=A,ParameterValue=b"]` -> `{"Stage": "prod", "A": "b"}`."""
    overrides: dict[str, str] = {}
    for item in items:
        for word in _split(item):
            long_form = _LONG_FORM.fullmatch(word)
            if long_form is not None:
                overrides[long_form.group("key")] = long_form.group("value")
                continue
            key, equals, value = word.partition("=")
            if not equals or not key:
                raise TemplateError(
                    f"--parameter-overrides: {word!r} is not Key=Value"
                    " or ParameterKey=Key,ParameterValue=Value"
                )
            overrides[key] = value
    return overrides


def _split(item: str) -> list[str]:
    # SAM accepts several overrides in one quoted argument, separated by spaces.
    words: list[str] = []
    for match in re.finditer(r'(?:[^\s"\']+|"[^"]*"|\'[^\']*\')+', item):
        words.append(re.sub(r"""["']""", "", match.group(0)))
    return words


def resolve_parameters(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Each parameter's value: its override, else its Default; absent when it has neither."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise TemplateError(
            f"--parameter-overrides: the template has no parameter {', '.join(unknown)}"
            f" (it has: {known})"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = spec["Default"]
        else:
            continue
        _check(name, spec, values[name])
    return values


def _check(name: str, spec: Mapping[str, Any], value: Any) -> None:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    kind = str(spec.get("Type", "String"))
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [str(a) for a in allowed]:
        raise TemplateError(
            f"parameter {name}: {text!r} is not one of {', '.join(str(a) for a in allowed)}"
        )
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            raise TemplateError(f"parameter {name}: {text!r} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}: {text} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}: {text} is above MaxValue {spec['MaxValue']}")
        return
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), text) is None:
        description = spec.get("ConstraintDescription") or f"the pattern {pattern}"
        raise TemplateError(f"parameter {name}: {text!r} does not match {description}")
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        raise TemplateError(f"parameter {name}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        raise TemplateError(f"parameter {name}: longer than MaxLength {spec['MaxLength']}")
