"""`Cognito` events: a function a user pool of the template invokes as one or more triggers
(`Trigger: PreSignUp` or a list), as SAM writes them into the pool's LambdaConfig."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.model import TemplateError
from relay_local.template.names import USER_POOL
from relay_local.template.user_pools import add_trigger


def parse(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (Cognito)"
    pool = ctx.target(props.get("UserPool"))
    if pool is None or ctx.resources.get(pool, {}).get("Type") != USER_POOL:
        raise TemplateError(f"{where}: UserPool must be !Ref of a user pool of the template")
    triggers = ctx.resolve(props.get("Trigger"))
    if isinstance(triggers, str):
        triggers = [triggers]
    if not isinstance(triggers, list) or not triggers:
        raise TemplateError(f"{where}: Trigger must name a trigger, or list them")
    for trigger in triggers:
        add_trigger(ctx, pool, str(trigger), function, where)
