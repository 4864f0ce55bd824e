"""`Schedule` (an EventBridge rule) and `ScheduleV2` (EventBridge Scheduler) events."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.languages.schedule_expressions import ScheduleError, parse_schedule
from relay_local.template.model import ScheduleSpec, TemplateError


def _enabled(ctx: Context, props: dict[str, Any], where: str) -> bool:
    if "Enabled" in props and "State" in props:
        raise TemplateError(f"{where}: give Enabled or State, not both (SAM refuses both)")
    if "Enabled" in props:
        return ctx.flag(props["Enabled"])
    return str(ctx.resolve(props.get("State", "ENABLED"))) != "DISABLED"


def _check(spec: ScheduleSpec, where: str) -> ScheduleSpec:
    try:
        parse_schedule(spec.expression, spec.timezone)
    except ScheduleError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    return spec


def parse_rule(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (Schedule)"
    payload = props.get("Input")
    name = props.get("Name") or props.get("RuleName") or f"{function}{event_id}"
    spec = ScheduleSpec(
        name=str(ctx.resolve(name)),
        function=function,
        expression=str(ctx.resolve(props.get("Schedule", ""))),
        input=None if payload is None else str(ctx.resolve(payload)),
        enabled=_enabled(ctx, props, where),
    )
    ctx.model.schedules.append(_check(spec, where))


def parse_scheduler(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (ScheduleV2)"
    payload = props.get("Input")
    start, end = props.get("StartDate"), props.get("EndDate")
    spec = ScheduleSpec(
        name=str(ctx.resolve(props.get("Name") or f"{function}{event_id}")),
        function=function,
        expression=str(ctx.resolve(props.get("ScheduleExpression", ""))),
        timezone=str(ctx.resolve(props.get("ScheduleExpressionTimezone", "UTC"))),
        input=None if payload is None else str(ctx.resolve(payload)),
        scheduler=True,
        enabled=_enabled(ctx, props, where),
        start=None if start is None else str(ctx.resolve(start)),
        end=None if end is None else str(ctx.resolve(end)),
    )
    ctx.model.schedules.append(_check(spec, where))
