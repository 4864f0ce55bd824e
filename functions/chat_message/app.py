"""ChatMessage: every WebSocket action route (sendMessage, typing, read, sync, ping) and
`$default`, where unknown actions and frames that are not JSON arrive.

Answers go back through the `@connections` API (acks, errors, synced messages), so the
routes need no route responses; a bad frame gets an error frame and the connection
stays open (relay.chat.frames).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.chat.delivery import Session
from relay.chat.service import protocol
from relay.platform.observability import flushing, logger
from relay.platform.websocket import socket_event


@logger.inject_lambda_context
@flushing
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    socket = socket_event(event)
    protocol().handle(Session.of(socket), socket.route, socket.body)
    return {"statusCode": 200}
