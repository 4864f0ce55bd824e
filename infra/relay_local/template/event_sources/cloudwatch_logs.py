"""`CloudWatchLogs` events: a subscription filter from a function's log group to this one."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.resources import add_log_subscription


def parse(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    add_log_subscription(
        ctx,
        f"{function} event {event_id} (CloudWatchLogs)",
        f"{function}{event_id}",
        str(ctx.resolve(props.get("LogGroupName", ""))),
        function,
        str(ctx.resolve(props.get("FilterPattern", ""))),
    )
