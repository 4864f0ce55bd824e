"""CloudFormation's Secrets Manager dynamic references, resolved against the local secrets.

`{{resolve:secretsmanager:<secret-id>[:SecretString[:<json-key>[:<stage>[:<version-id>]]]]}}`
is replaced by CloudFormation when it deploys; the local stack replaces it in a
function's environment once the template's secrets exist, so a template that
hands a function a secret this way (the Redis AUTH token) runs unchanged. The
secret id may be a name or an ARN (which holds colons of its own).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from relay_local.template.errors import TemplateError
from relay_local.template.model import StackModel

_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:([^{}]+)\}\}")
_ARN_PARTS = 7  # arn:aws:secretsmanager:<region>:<account>:secret:<name-suffix>


@dataclass(frozen=True)
class SecretReference:
    secret_id: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""


def parse(body: str) -> SecretReference:
    """The parts of a reference, from what follows `resolve:secretsmanager:`."""
    parts = body.split(":")
    cut = _ARN_PARTS if body.startswith("arn:") else 1
    if len(parts) < cut or not all(parts[:cut]):
        raise TemplateError(f"{{{{resolve:secretsmanager:{body}}}}}: no secret id")
    secret_id, rest = ":".join(parts[:cut]), parts[cut:]
    if rest and rest[0] not in ("", "SecretString"):
        raise TemplateError(
            f"{{{{resolve:secretsmanager:{body}}}}}: only SecretString can be referenced"
        )
    rest = [*rest, "", "", "", ""][1:4]
    return SecretReference(secret_id, *rest)


Lookup = Callable[[SecretReference], Awaitable[str]]


async def _value(reference: SecretReference, lookup: Lookup, where: str) -> str:
    text = await lookup(reference)
    if not reference.json_key:
        return text
    try:
        value = json.loads(text)[reference.json_key]
    except (ValueError, KeyError, TypeError) as error:
        raise TemplateError(
            f"{where}: secret {reference.secret_id} has no JSON key {reference.json_key!r}"
        ) from error
    return value if isinstance(value, str) else json.dumps(value)


def has_references(model: StackModel) -> bool:
    return any(
        _REFERENCE.search(value) for spec in model.functions.values() for _, value in spec.env
    )


async def resolve_environment(model: StackModel, lookup: Lookup) -> StackModel:
    """The model with every dynamic reference in its functions' environments replaced."""
    functions = {}
    for logical_id, spec in model.functions.items():
        env = []
        for name, value in spec.env:
            for match in list(_REFERENCE.finditer(value)):
                where = f"{logical_id}: environment variable {name}"
                secret = await _value(parse(match.group(1)), lookup, where)
                value = value.replace(match.group(0), secret)
            env.append((name, value))
        functions[logical_id] = dataclasses.replace(spec, env=tuple(env))
    return dataclasses.replace(model, functions=functions)
