"""API Gateway WebSocket events, decoded at the edge: which connection, whose, and where
its `@connections` API is.

The user id is what the `$connect` authorizer put in its context; API Gateway hands
it to every later event of the connection as `requestContext.authorizer.userId`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SocketEvent:
    connection_id: str
    user_id: str
    route: str
    endpoint: str  # https://{domainName}/{stage}
    body: str | None


def socket_event(event: dict[str, Any]) -> SocketEvent:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    user_id = str(authorizer.get("userId") or authorizer.get("principalId") or "")
    if not user_id:
        # Only a template without the $connect authorizer could get here.
        raise ValueError("a WebSocket event without the authorizer's userId")
    return SocketEvent(
        connection_id=str(context["connectionId"]),
        user_id=user_id,
        route=str(context.get("routeKey", "$default")),
        endpoint=f"https://{context['domainName']}/{context['stage']}",
        body=event.get("body"),
    )
