"""What every resource and event-source parser gets: the model being built and the means
to resolve values and names, plus the small helpers they share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from relay_local.template.loader import Resolver, ref_target
from relay_local.template.model import (
    AuthorizerSpec,
    Destination,
    JwtAuthorizerSpec,
    StackModel,
    TemplateError,
)
from relay_local.template.names import QUEUE, TOPIC, LocalNames


@dataclass
class Context:
    model: StackModel
    resolver: Resolver
    names: LocalNames
    resources: dict[str, Any]
    globals_: dict[str, Any]
    # HTTP API authorizers by API logical id and name, and each API's default authorizer.
    http_authorizers: dict[str, dict[str, AuthorizerSpec | JwtAuthorizerSpec]] = field(
        default_factory=dict
    )
    default_authorizer: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def integer(self, value: Any, where: str) -> int:
        resolved = self.resolver.resolve(value)
        try:
            return int(resolved)
        except (TypeError, ValueError):
            raise TemplateError(f"{where}: {resolved!r} is not a whole number") from None

    def flag(self, value: Any) -> bool:
        resolved = self.resolver.resolve(value)
        return resolved is True or str(resolved).lower() == "true"

    def target(self, value: Any) -> str | None:
        """The logical id a Ref/GetAtt names, also through an ARN or URL it resolves to."""
        logical_id = ref_target(value)
        if logical_id is not None:
            return logical_id
        try:
            resolved = self.resolver.resolve(value)
        except Exception:  # noqa: BLE001 - an unresolvable value names nothing here
            return None
        for candidate, resource in self.resources.items():
            try:
                names = (self.names.arn(candidate, resource), self.names.ref(candidate, resource))
            except Exception:  # noqa: BLE001,S112 - resources without a local name cannot match
                continue
            if resolved in names:
                return candidate
        return None

    def destination(self, config: Any, where: str) -> Destination | None:
        """An OnFailure destination (`{Type, Destination}`) that must be a queue or topic."""
        if not isinstance(config, dict) or not config:
            return None
        target = self.target(config.get("Destination"))
        kind = str(config.get("Type", "")).upper()
        resource_kind = self.resources.get(target or "", {}).get("Type")
        if resource_kind == QUEUE:
            return Destination("SQS", str(target))
        if resource_kind == TOPIC:
            return Destination("SNS", str(target))
        raise TemplateError(
            f"{where}: the local stack sends failed events to an SQS queue or SNS topic of the"
            f" template; got {kind or 'a destination'} {config.get('Destination')!r}"
        )


def as_json(value: Any) -> str:
    """A policy or configuration object as JSON text ("" for none); strings are kept."""
    if value in (None, "", {}):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)
