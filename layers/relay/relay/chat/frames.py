"""The WebSocket protocol: frames in, one call into Messaging, error frames out.

Each action's frame is a pydantic model (`extra` fields are ignored, as API Gateway
routes on `action` alone). Anything wrong with a frame (not JSON, an unknown
action, a missing or mistyped field, content over the limit, a conversation the
sender is not in, a flood) answers the sender with
`{"type": "error", "code", "message"}` (and the `clientMessageId`, when the frame
had one) and leaves the connection open. Rate limits apply per connection and per
user, on the one path of the HTTP API (relay.platform.ratelimit: GUARDS says which
rules guard which action, `enforce` applies them); `ping` is exempt, so a limited
client can still keep its presence. A sendMessage with an `order` takes its turn among
its connection's messages (relay.chat.turns).
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relay.chat.delivery import Session
from relay.chat.messaging import Messaging
from relay.chat.rules import (
    MAX_ATTACHMENTS,
    MAX_CLIENT_MESSAGE_ID,
    MAX_CONTENT_CHARS,
    MAX_FRAME_ID,
    MAX_ORDER,
)
from relay.chat.turns import Turns
from relay.platform.cache import RedisGate
from relay.platform.errors import Invalid, RelayError, TooLarge
from relay.platform.ratelimit import RateLimiter, enforce, guard
from relay.platform.unicode import Text, encodable

log = logging.getLogger(__name__)


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


# Every str a frame carries is checked to be storable text (relay.platform.unicode) and
# bounded, before any of it reaches a table, a key or another member's socket.
FrameId = Annotated[Text, Field(min_length=1, max_length=MAX_FRAME_ID)]
ClientId = Annotated[Text, Field(min_length=1, max_length=MAX_CLIENT_MESSAGE_ID)]


class SendMessage(_Frame):
    conversationId: FrameId
    content: Text
    clientMessageId: ClientId | None = None
    attachments: list[FrameId] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    # The connection's count of its messages (relay.chat.turns).
    order: int | None = Field(default=None, ge=1, le=MAX_ORDER)


class Typing(_Frame):
    conversationId: FrameId


class Read(_Frame):
    conversationId: FrameId
    seq: int = Field(ge=1)


ACTIONS = ("sendMessage", "typing", "read", "sync", "ping")
_MODELS: dict[str, type[_Frame]] = {"sendMessage": SendMessage, "typing": Typing, "read": Read}


def error_frame(error: RelayError, client_message_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message}
    if client_message_id is not None:
        frame["clientMessageId"] = client_message_id
    return frame


def _invalid(error: ValidationError) -> Invalid:
    problems = error.errors()
    if not problems:
        return Invalid("The frame is not valid.", code="invalid_field")
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"]) or "frame"
    message = str(first["msg"])
    if first["type"] == "missing":
        return Invalid(f"{field}: required.", code="missing_field")
    return Invalid(f"{field}: {message}", code="invalid_field")


class Protocol:
    def __init__(
        self,
        messaging: Messaging,
        limiter: RateLimiter,
        gate: RedisGate,
        turns: Turns | None = None,
    ) -> None:
        self._messaging = messaging
        self._limiter = limiter
        self._gate = gate
        self._turns = turns

    def handle(self, session: Session, route: str, body: str | None) -> None:
        """Answer one frame; never raises for anything the client sent. A sendMessage
        with an `order` waits for the connection's frame before it (relay.chat.turns)
        and, whatever becomes of it, lets the next one go."""
        frame = _read(body)
        order = _order(frame, route) if self._turns is not None else None
        if order is None or self._turns is None:
            self._answer(session, route, frame)
            return
        connection_id = session.connection.connection_id
        self._turns.wait(connection_id, order)
        try:
            self._answer(session, route, frame)
        finally:
            self._turns.done(connection_id, order)

    def _answer(self, session: Session, route: str, frame: dict[str, Any] | Invalid) -> None:
        client_message_id = _echoed_id(frame)
        try:
            # The route's guard first: a flood of frames is limited whatever they hold.
            self._limit(session, route)
            if isinstance(frame, Invalid):
                raise frame
            self._dispatch(session, route, frame)
        except RelayError as error:
            self._messaging.reply(session, error_frame(error, client_message_id))
        except Exception:
            log.exception("unexpected error", extra={"route": route})
            self._messaging.reply(
                session,
                {
                    "type": "error",
                    "code": "internal_error",
                    "message": "Something broke on our side.",
                },
            )

    def _limit(self, session: Session, route: str) -> None:
        """The route's rate rules (relay.platform.ratelimit.GUARDS; `ping` has none)."""
        limits = guard(route)
        if limits is not None:
            checks = limits.checks(
                user_id=session.user_id, connection_id=session.connection.connection_id
            )
            enforce(checks, self._limiter, self._gate)

    def _dispatch(self, session: Session, route: str, frame: dict[str, Any]) -> None:
        action = frame.get("action")
        if route not in ACTIONS or action != route:
            shown = action if isinstance(action, str) else None
            raise Invalid(
                f"Unknown action {shown[:40]!r}; one of {', '.join(ACTIONS)}."
                if shown is not None
                else f"The frame needs an action: one of {', '.join(ACTIONS)}.",
                code="unknown_action",
            )
        model = _MODELS.get(route)
        try:
            parsed = model.model_validate(frame) if model is not None else None
        except ValidationError as error:
            raise _invalid(error) from error
        if isinstance(parsed, SendMessage):
            if len(parsed.content) > MAX_CONTENT_CHARS:
                raise TooLarge(
                    f"content: at most {MAX_CONTENT_CHARS} characters.", code="content_too_long"
                )
            if not parsed.content.strip() and not parsed.attachments:
                raise Invalid("content: a message needs text or an attachment.", code="empty")
            self._messaging.send(
                session,
                parsed.conversationId,
                parsed.content,
                parsed.clientMessageId,
                parsed.attachments,
            )
        elif isinstance(parsed, Typing):
            self._messaging.typing(session, parsed.conversationId)
        elif isinstance(parsed, Read):
            self._messaging.read(session, parsed.conversationId, parsed.seq)
        elif route == "sync":
            self._messaging.sync(session)
        else:
            self._messaging.ping(session)


def _order(frame: dict[str, Any] | Invalid, route: str) -> int | None:
    """A sendMessage frame's `order`, when it is one (SendMessage refuses the others)."""
    if route != "sendMessage" or not isinstance(frame, dict):
        return None
    order = frame.get("order")
    if type(order) is not int or not 1 <= order <= MAX_ORDER:
        return None
    return order


def _echoed_id(frame: dict[str, Any] | Invalid) -> str | None:
    """The frame's clientMessageId, for its error frame, when it is one an error frame
    can carry back (text, and not a 32 KB string)."""
    raw = frame.get("clientMessageId") if isinstance(frame, dict) else None
    if isinstance(raw, str) and len(raw) <= MAX_CLIENT_MESSAGE_ID and encodable(raw):
        return raw
    return None


def _read(body: str | None) -> dict[str, Any] | Invalid:
    """The frame as a JSON object, or the error to answer it with."""
    try:
        frame = json.loads(body or "")
    except (ValueError, RecursionError):
        return Invalid("The frame is not JSON.", code="malformed_json")
    if not isinstance(frame, dict):
        return Invalid("The frame must be a JSON object.", code="malformed_json")
    return frame
