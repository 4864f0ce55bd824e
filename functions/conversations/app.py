"""Conversations: POST|GET /api/conversations, GET /api/conversations/{id}/messages and
POST /api/conversations/{id}/attachments."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.chat.rules import DEFAULT_PAGE, MAX_PAGE
from relay.chat.schemas import (
    AttachmentBody,
    AttachmentOut,
    ConversationOut,
    ConversationPage,
    CreateConversationBody,
    MessageOut,
    MessagePage,
)
from relay.chat.service import conversations, people
from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses

app = make_resolver()


@app.post(
    "/api/conversations",
    summary="Start a conversation",
    description="201 with a new one; 200 with the 1:1 conversation the two users already have.",
    responses={
        201: {"description": "Created"},
        200: {"description": "The existing 1:1 conversation"},
        **error_responses(400, 401, 404),
    },
)
def create(body: CreateConversationBody) -> Response[ConversationOut]:
    me = caller(app).require_user()
    made = conversations().create(me, people().members(body.members), body.name)
    shown = ConversationOut.of(made.view, people().of_conversations([made.view]))
    return Response(201 if made.created else 200, JSON, shown)


@app.get(
    "/api/conversations",
    summary="The caller's conversations, newest activity first, with unread counts",
    responses=error_responses(400, 401),
)
def mine(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query()] = None,
) -> ConversationPage:
    views, next_cursor = conversations().mine(caller(app).require_user(), limit, cursor)
    handles = people().of_conversations(views)
    return ConversationPage(
        items=[ConversationOut.of(v, handles) for v in views], next_cursor=next_cursor
    )


@app.get(
    "/api/conversations/<conversation_id>/messages",
    summary="A page of a conversation's history, oldest first",
    responses=error_responses(400, 401, 403, 404),
)
def history(
    conversation_id: str,
    before: Annotated[
        str | None,
        Query(description="Messages below this seq, or the nextCursor of the page after"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> MessagePage:
    page = conversations().history(caller(app).require_user(), conversation_id, before, limit)
    handles = people().of_messages(page.items)
    return MessagePage(
        items=[MessageOut.of(m, handles) for m in page.items], next_cursor=page.next_cursor
    )


@app.post(
    "/api/conversations/<conversation_id>/attachments",
    summary="A presigned S3 upload for a file to send in the conversation",
    responses={201: {"description": "Upload allowed"}, **error_responses(400, 401, 403, 404, 413)},
)
def attachment(conversation_id: str, body: AttachmentBody) -> Response[AttachmentOut]:
    upload = conversations().upload(
        caller(app).require_user(), conversation_id, body.content_type, body.size
    )
    return Response(201, JSON, AttachmentOut.of(upload))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
