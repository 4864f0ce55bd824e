"""ChatConnect: the WebSocket `$connect` route, after the authorizer accepted the token.

Records the connection (so messages reach it) and the user's presence (so their
contacts hear they are online).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.chat.delivery import Session
from relay.chat.service import messaging
from relay.platform.observability import flushing, logger
from relay.platform.websocket import socket_event


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messaging().connect(Session.of(socket_event(event)))
    return {"statusCode": 200}
