"""ClickShipper: takes the click lines the redirect logged and puts them on the click queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.aws_events import log_lines
from relay.platform.observability import logger
from relay.shortener import service


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    lines = log_lines(event.get("awslogs"))
    sent = service.shipper().ship(lines) if lines else 0
    logger.info("shipped clicks", extra={"lines": len(lines), "messages": sent})
    return {"messages": sent}
