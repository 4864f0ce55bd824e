"""Conversations: POST|GET /api/conversations, GET|PATCH /api/conversations/{id}, its
members (POST, DELETE and PATCH /api/conversations/{id}/members[/{handle}]), GET
/api/conversations/{id}/messages and POST /api/conversations/{id}/attachments.

Changes reach the members' sockets as `conversation` and `membership` frames
(relay.chat.service.announce)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.chat.models import Conversation, MemberChange
from relay.chat.rules import DEFAULT_PAGE, MAX_PAGE
from relay.chat.schemas import (
    AddMembersBody,
    AttachmentBody,
    AttachmentOut,
    ConversationOut,
    ConversationPage,
    CreateConversationBody,
    MessageOut,
    MessagePage,
    RenameBody,
    RoleBody,
)
from relay.chat.service import announce, conversations, people
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
    if made.created:
        _tell(made.view.conversation, "created", me)
    return Response(201 if made.created else 200, JSON, shown)


@app.get(
    "/api/conversations/<conversation_id>",
    summary="A conversation: its name, members and their roles, unread count",
    responses=error_responses(400, 401, 403, 404),
)
def detail(conversation_id: str) -> ConversationOut:
    view = conversations().detail(caller(app).require_user(), conversation_id)
    return ConversationOut.of(view, people().of_conversations([view]))


@app.patch(
    "/api/conversations/<conversation_id>",
    summary="Rename a group (its admins)",
    responses=error_responses(400, 401, 403, 404),
)
def rename(conversation_id: str, body: RenameBody) -> ConversationOut:
    me = caller(app).require_user()
    renamed = conversations().rename(me, conversation_id, body.name)
    _tell(renamed, "renamed", me)
    view = conversations().view(renamed, me)
    return ConversationOut.of(view, people().of_conversations([view]))


@app.post(
    "/api/conversations/<conversation_id>/members",
    summary="Add people to a group (its admins)",
    responses=error_responses(400, 401, 403, 404, 409),
)
def add_members(conversation_id: str, body: AddMembersBody) -> ConversationOut:
    me = caller(app).require_user()
    change = conversations().add_members(me, conversation_id, people().members(body.members))
    if change.added:
        _tell_members(change, "added", change.added, me)
    view = conversations().view(change.after, me)
    return ConversationOut.of(view, people().of_conversations([view]))


@app.delete(
    "/api/conversations/<conversation_id>/members/<handle>",
    summary="Leave a group (your own handle), or remove someone from it (its admins)",
    responses={
        204: {"description": "Gone from the group", "content": {}},
        **error_responses(400, 401, 403, 404, 409),
    },
)
def remove_member(conversation_id: str, handle: str) -> Response[None]:
    me = caller(app).require_user()
    (sub,) = people().members([handle])
    change = conversations().remove_member(me, conversation_id, sub)
    _tell_members(change, "left" if sub == me else "removed", [sub], me)
    return Response(204)


@app.patch(
    "/api/conversations/<conversation_id>/members/<handle>",
    summary="Make a member an admin (its admins)",
    responses=error_responses(400, 401, 403, 404, 409),
)
def promote(conversation_id: str, handle: str, body: RoleBody) -> ConversationOut:
    me = caller(app).require_user()
    (sub,) = people().members([handle])
    change = conversations().promote(me, conversation_id, sub)
    if change.after != change.before:
        _tell_members(change, "promoted", [sub], me)
    view = conversations().view(change.after, me)
    return ConversationOut.of(view, people().of_conversations([view]))


def _tell(conversation: Conversation, event: str, by: str) -> None:
    """Every member hears of a conversation made or renamed."""
    frame = {
        "type": "conversation",
        "event": event,
        "conversationId": conversation.conversation_id,
        "kind": conversation.kind,
        "name": conversation.name,
        "memberCount": len(conversation.members),
        "by": by,
    }
    announce(conversation.conversation_id, list(conversation.members), frame)


def _tell_members(change: MemberChange, event: str, who: list[str], by: str) -> None:
    """Everyone in the group before or after hears who came, went or was promoted (so a
    removed member's client drops it)."""
    handles = people().handles(who)
    frame = {
        "type": "membership",
        "event": event,
        "conversationId": change.after.conversation_id,
        "members": [{"userId": sub, "handle": handles.get(sub)} for sub in who],
        "by": by,
    }
    everyone = list(dict.fromkeys((*change.before.members, *change.after.members)))
    announce(change.after.conversation_id, everyone, frame)


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
