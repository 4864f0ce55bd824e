"""API Gateway WebSocket events, decoded at the edge: which connection, whose, and where
its `@connections` API is.

The user id is what the `$connect` authorizer put in its context; API Gateway hands
it to every later event of the connection as `requestContext.authorizer.userId`, with
`issuedAt`, when the token was issued: `signed_out` tells the `$connect` function
whether the person signed out since (the authorizer cannot ask: Redis is in the VPC).
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
    issued_at: int | None = None


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
        issued_at=_issued_at(authorizer.get("issuedAt")),
    )


def _issued_at(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 16 else None


def signed_out(socket: SocketEvent) -> bool:
    """Whether the connecting token's session was signed out (relay.platform.sessions):
    the `$connect` function then answers 401, and the upgrade is refused."""
    from relay.platform.errors import Unauthorized
    from relay.platform.sessions import sessions

    try:
        sessions().check(socket.user_id, socket.issued_at or 0)
    except Unauthorized:
        return True
    return False
