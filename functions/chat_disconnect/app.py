"""ChatDisconnect: the WebSocket `$disconnect` route. Forgets the connection; when it was
the user's last, their contacts hear they went offline."""

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
    messaging().disconnect(Session.of(socket_event(event)))
    return {"statusCode": 200}
