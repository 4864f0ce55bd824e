"""ClickShipper: takes the click lines the redirect logged and puts them on the click queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.observability import logger
from relay.shortener.shipping import ship


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    logs = CloudWatchLogsEvent(event).parse_logs_data()
    if logs.message_type != "DATA_MESSAGE":
        return {"messages": 0}  # CloudWatch's own connectivity check
    sent = ship([log_event.message for log_event in logs.log_events])
    logger.info("shipped clicks", extra={"lines": len(logs.log_events), "messages": sent})
    return {"messages": sent}
