"""`DynamoDB` events: a stream event source mapping on a table of the template."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.event_sources.filters import record_filter
from relay_local.template.model import StreamSourceSpec, TemplateError


def parse(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (DynamoDB)"
    table = ctx.target(props.get("Stream"))
    if table not in ctx.model.tables:
        raise TemplateError(f"{where}: Stream must be !GetAtt SomeTable.StreamArn")
    if ctx.model.tables[str(table)].stream_view is None:
        raise TemplateError(f"{where}: table {table} has no StreamSpecification")
    if props.get("TumblingWindowInSeconds"):
        raise TemplateError(f"{where}: TumblingWindowInSeconds is not applied by the local stack")
    position = str(ctx.resolve(props.get("StartingPosition", "")))
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise TemplateError(f"{where}: StartingPosition must be TRIM_HORIZON or LATEST")
    response_types = ctx.resolve(props.get("FunctionResponseTypes") or [])
    destination = (props.get("DestinationConfig") or {}).get("OnFailure")
    ctx.model.stream_sources.append(
        StreamSourceSpec(
            function=function,
            table=str(table),
            starting_position=position,
            batch_size=ctx.integer(props.get("BatchSize", 100), f"{where} BatchSize"),
            window_s=float(ctx.resolve(props.get("MaximumBatchingWindowInSeconds", 0))),
            max_retries=ctx.integer(props.get("MaximumRetryAttempts", -1), where),
            bisect=ctx.flag(props.get("BisectBatchOnFunctionError", False)),
            report_failures="ReportBatchItemFailures" in response_types,
            on_failure=ctx.destination(destination, where),
            enabled=ctx.flag(props.get("Enabled", True)),
            record_filter=record_filter(ctx, props, where),
        )
    )
