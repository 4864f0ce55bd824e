"""One parser per event-source kind of `AWS::Serverless::Function` Events, in one table.

Adding a trigger kind is a new module here and one line in `EVENT_SOURCES`. A
kind that is not in the table fails at start, naming the function, the event
and its kind, rather than being skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay_local.template.context import Context
from relay_local.template.event_sources import (
    cloudwatch_logs,
    cognito,
    dynamodb,
    http_api,
    schedule,
    sns,
    sqs,
)

# (the context, the function's logical id, the event's id, the event's Properties)
EventSourceParser = Callable[[Context, str, str, dict[str, Any]], None]

EVENT_SOURCES: dict[str, EventSourceParser] = {
    "HttpApi": http_api.parse,
    "SQS": sqs.parse,
    "SNS": sns.parse,
    "Schedule": schedule.parse_rule,
    "ScheduleV2": schedule.parse_scheduler,
    "DynamoDB": dynamodb.parse,
    "CloudWatchLogs": cloudwatch_logs.parse,
    "Cognito": cognito.parse,
}
