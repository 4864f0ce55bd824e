"""ChatPresenceSweep: once a minute, users whose every connection stopped pinging are
offline, and their contacts hear it (a closed connection says so at once, through
`$disconnect`; a silent one only stops pinging)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.chat.service import sweep_presence
from relay.platform.observability import flushing, logger


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    lapsed = sweep_presence()
    if lapsed:
        logger.info("presence lapsed", extra={"users": len(lapsed)})
    return {"lapsed": len(lapsed)}
