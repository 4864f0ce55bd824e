"""Loading a SAM template and resolving its intrinsic functions to local values.

CloudFormation YAML uses short-form tags (`!Ref`, `!GetAtt`, `!Sub` ...) that a
plain YAML loader refuses; `load_template` turns each into the long form
(`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`) so the rest of the local stack reads
one shape. `Resolver` then evaluates those intrinsics against the local world:
a table's `Ref` is its local name, a queue's `Ref` its moto URL, `GetAtt X.Arn`
a local ARN. What cannot exist locally (a VPC id, an ElastiCache endpoint)
raises `Unresolved`, and callers decide whether that matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "relay"

PSEUDO_PARAMETERS: dict[str, Any] = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::Partition": "aws",
    "AWS::NotificationARNs": [],
}

_NO_VALUE = object()


class Unresolved(Exception):
    """An intrinsic that has no local meaning (a VPC id, a cache endpoint ...)."""


# libyaml's parser when PyYAML has it: a template loads in a tenth of the time, and every
# `relay` command and template edit loads one.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeBase):  # type: ignore[valid-type,misc]
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            # `!GetAtt A.B` is the short form of `Fn::GetAtt: [A, B]`.
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"bad !{suffix}", node.start_mark)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, turning short-form tags into dicts."""
    with path.open(encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return data


RefHook = Callable[[str, Mapping[str, Any]], Any]
AttHook = Callable[[str, Mapping[str, Any], str], Any]


class Resolver:
    """Evaluates intrinsics against local values supplied by the stack.

    `ref` and `get_att` are hooks from the stack (which knows the moto URL);
    they raise `Unresolved` for what has no local counterpart.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        ref: RefHook,
        get_att: AttHook,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.parameters: Mapping[str, Any] = template.get("Parameters", {}) or {}
        # Values after --parameter-overrides; without them, each parameter's Default.
        self.values: Mapping[str, Any] = (
            parameters
            if parameters is not None
            else {k: v["Default"] for k, v in self.parameters.items() if v and "Default" in v}
        )
        self.conditions: Mapping[str, Any] = template.get("Conditions", {}) or {}
        self.mappings: Mapping[str, Any] = template.get("Mappings", {}) or {}
        self._ref = ref
        self._get_att = get_att
        self._condition_cache: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside `value`; `AWS::NoValue` entries disappear."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def try_resolve(self, value: Any, placeholder: str | None = None) -> Any:
        """Like `resolve`, but an unresolvable value becomes a readable placeholder."""
        try:
            return self.resolve(value)
        except Unresolved as exc:
            return placeholder if placeholder is not None else f"<unresolved: {exc}>"

    def condition(self, name: str) -> bool:
        if name not in self._condition_cache:
            if name not in self.conditions:
                raise Unresolved(f"condition {name}")
            self._condition_cache[name] = bool(self._resolve(self.conditions[name]))
        return self._condition_cache[name]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            if name not in self.values:
                raise Unresolved(
                    f"parameter {name} has no Default (give it with --parameter-overrides)"
                )
            return self.values[name]
        if name in self.resources:
            return self._ref(name, self.resources[name])
        raise Unresolved(f"Ref {name}")

    def get_att(self, name: str, attribute: str) -> Any:
        if name not in self.resources:
            raise Unresolved(f"GetAtt {name}.{attribute}")
        return self._get_att(name, self.resources[name], attribute)

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self._resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(variables[expr])
            if "." in expr and not expr.startswith("AWS::"):
                resource, attribute = expr.split(".", 1)
                return str(self.get_att(resource, attribute))
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


def _fn_if(resolver: Resolver, arg: Any) -> Any:
    name, when_true, when_false = arg
    return resolver._resolve(when_true if resolver.condition(name) else when_false)


def _fn_select(resolver: Resolver, arg: Any) -> Any:
    index, items = resolver._resolve(arg[0]), resolver._resolve(arg[1])
    return items[int(index)]


def _fn_join(resolver: Resolver, arg: Any) -> Any:
    separator, items = arg
    return str(separator).join(str(item) for item in resolver._resolve(items))


def _fn_split(resolver: Resolver, arg: Any) -> Any:
    separator, text = arg
    return str(resolver._resolve(text)).split(separator)


def _fn_find_in_map(resolver: Resolver, arg: Any) -> Any:
    name, first, second = (resolver._resolve(item) for item in arg[:3])
    try:
        return resolver.mappings[name][first][second]
    except KeyError as exc:
        raise Unresolved(f"FindInMap {name}.{first}.{second}") from exc


def _fn_get_att(resolver: Resolver, arg: Any) -> Any:
    name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
    return resolver.get_att(name, str(resolver._resolve(attribute)))


def _unresolvable(name: str) -> Callable[[Resolver, Any], Any]:
    def handler(resolver: Resolver, arg: Any) -> Any:
        raise Unresolved(f"{name} {arg!r}")

    return handler


_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, arg: r.ref(str(arg)),
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": lambda r, arg: r.sub(arg),
    "Fn::If": _fn_if,
    "Fn::Equals": lambda r, arg: r._resolve(arg[0]) == r._resolve(arg[1]),
    "Fn::Not": lambda r, arg: not r._resolve(arg[0]),
    "Fn::And": lambda r, arg: all(r._resolve(item) for item in arg),
    "Fn::Or": lambda r, arg: any(r._resolve(item) for item in arg),
    "Condition": lambda r, arg: r.condition(str(arg)),
    "Fn::Select": _fn_select,
    "Fn::Join": _fn_join,
    "Fn::Split": _fn_split,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": lambda r, arg: r._resolve(arg),
    "Fn::GetAZs": lambda r, arg: [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
    "Fn::ImportValue": _unresolvable("ImportValue"),
    "Fn::Cidr": _unresolvable("Cidr"),
}


def ref_target(value: Any) -> str | None:
    """The logical id a `Ref`/`GetAtt` (or a `!Sub "${X.Arn}"`) points at, if any."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return str(arg)
        if key == "Fn::GetAtt":
            return str(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
        if key == "Fn::Sub" and isinstance(arg, str):
            match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z.]+)?\}", arg)
            return match.group(1) if match else None
    return None
