"""`SQS` events: an event source mapping that polls a queue of the template."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.event_sources.filters import record_filter
from relay_local.template.model import SqsSourceSpec, TemplateError


def parse(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (SQS)"
    queue = ctx.target(props.get("Queue"))
    if queue is None or queue not in ctx.model.queues:
        raise TemplateError(f"{where}: Queue must name a queue of the template")
    add(ctx, function, queue, props, where)


def add(ctx: Context, function: str, queue: str, props: dict[str, Any], where: str) -> None:
    response_types = ctx.resolve(props.get("FunctionResponseTypes") or [])
    ctx.model.sqs_sources.append(
        SqsSourceSpec(
            function=function,
            queue=queue,
            batch_size=ctx.integer(props.get("BatchSize", 10), f"{where} BatchSize"),
            window_s=float(ctx.resolve(props.get("MaximumBatchingWindowInSeconds", 0))),
            report_failures="ReportBatchItemFailures" in response_types,
            enabled=ctx.flag(props.get("Enabled", True)),
            record_filter=record_filter(ctx, props, where),
        )
    )
