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
from relay.platform.websocket import signed_out, socket_event


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    socket = socket_event(event)
    if signed_out(socket):  # a token issued before a sign-out: the upgrade is refused
        return {"statusCode": 401}
    messaging().connect(Session.of(socket))
    return {"statusCode": 200}
