"""ChatDisconnect: the WebSocket `$disconnect` route. Forgets the connection; when it was
the user's last, their contacts hear they went offline."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.chat.delivery import management_api
from relay.chat.messaging import Session
from relay.chat.models import Connection
from relay.chat.service import messaging
from relay.platform.observability import logger
from relay.platform.websocket import socket_event


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    socket = socket_event(event)
    connection = Connection(socket.connection_id, socket.user_id)
    messaging().disconnect(Session(connection, socket.endpoint, management_api(socket.endpoint)))
    return {"statusCode": 200}
