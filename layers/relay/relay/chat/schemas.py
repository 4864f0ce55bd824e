"""The chat's HTTP shapes (camelCase JSON), from which the OpenAPI document is made."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from relay.chat.models import ConversationView, Message, Upload
from relay.chat.people import Handles
from relay.chat.rules import (
    CONTENT_TYPES,
    MAX_ADD,
    MAX_ATTACHMENT_BYTES,
    MAX_GROUP_MEMBERS,
    MAX_NAME_CHARS,
)
from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody
from relay.platform.unicode import Text


class CreateConversationBody(CamelBody):
    # Plain str: each member goes through the handle rule, whose `invalid_handle`
    # names a lone surrogate as any other handle it cannot read.
    members: list[str] = Field(
        description=(
            "Handles of the people to talk with (you are added; naming yourself is fine)."
            " One other person and no name: the 1:1 conversation of the two of you, the"
            f" same one every time. Otherwise a group, at most {MAX_GROUP_MEMBERS} members"
            " with you."
        ),
        min_length=1,
        json_schema_extra={"examples": [["bob"]]},
    )
    name: Text | None = Field(
        default=None, description=f"A group's name, 1 to {MAX_NAME_CHARS} characters."
    )


class MemberOut(Camel):
    user_id: str = Field(description="The stable id frames and messages name.")
    handle: str | None = Field(description="Their handle now; null once the account is deleted.")
    role: Literal["admin", "member"] = Field(
        default="member",
        description="Admins add, remove, promote and rename; a group's creator is one.",
    )


class ConversationOut(Camel):
    conversation_id: str
    kind: Literal["direct", "group"]
    name: str | None
    members: list[MemberOut]
    last_seq: int
    last_message_at: str | None
    unread: int

    @classmethod
    def of(cls, view: ConversationView, handles: Handles) -> ConversationOut:
        c = view.conversation
        return cls(
            conversation_id=c.conversation_id,
            kind="direct" if c.kind == "direct" else "group",
            name=c.name,
            members=[
                MemberOut(
                    user_id=m,
                    handle=handles.get(m),
                    role="admin" if m in c.admins else "member",
                )
                for m in c.members
            ],
            last_seq=c.last_seq,
            last_message_at=iso(c.last_message_ms) if c.last_message_ms is not None else None,
            unread=view.unread,
        )


class AddMembersBody(CamelBody):
    members: list[Text] = Field(
        description=f"Handles of the people to add, at most {MAX_ADD} at once.",
        min_length=1,
        json_schema_extra={"examples": [["carol"]]},
    )


class RenameBody(CamelBody):
    name: Text | None = Field(
        description=f"The group's new name, 1 to {MAX_NAME_CHARS} characters; null for none."
    )


class RoleBody(CamelBody):
    role: Literal["admin"] = Field(description="Admins make other members admins.")


class ConversationPage(Camel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessageOut(Camel):
    conversation_id: str
    message_id: str
    seq: int
    sender_id: str
    sender_handle: str | None = Field(
        description="The sender's handle now; null once their account is deleted."
    )
    content: str
    attachments: list[str]
    timestamp: str

    @classmethod
    def of(cls, message: Message, handles: Handles) -> MessageOut:
        return cls(
            conversation_id=message.conversation_id,
            message_id=message.message_id,
            seq=message.seq,
            sender_id=message.sender_id,
            sender_handle=handles.get(message.sender_id),
            content=message.content,
            attachments=list(message.attachments),
            timestamp=iso(message.timestamp_ms),
        )


class MessagePage(Camel):
    items: list[MessageOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        description="Pass as `before` for the page before; null at the start."
    )


class AttachmentBody(CamelBody):
    content_type: str = Field(
        description="The file's type; one of " + ", ".join(sorted(CONTENT_TYPES)) + ".",
        json_schema_extra={"examples": ["image/png"]},
    )
    size: int = Field(
        ge=1, description=f"The file's size in bytes, at most {MAX_ATTACHMENT_BYTES}."
    )


class AttachmentOut(Camel):
    attachment_id: str = Field(description="Name it in a message's `attachments` once uploaded.")
    upload_url: str = Field(description="POST the file here as multipart/form-data.")
    fields: dict[str, str] = Field(description="Form fields to send before the file.")
    expires_in: int = Field(description="Seconds the upload is allowed for.")
    max_bytes: int
    content_type: str

    @classmethod
    def of(cls, upload: Upload) -> AttachmentOut:
        return cls(
            attachment_id=upload.attachment_id,
            upload_url=upload.url,
            fields=upload.fields,
            expires_in=upload.expires_in_s,
            max_bytes=upload.max_bytes,
            content_type=upload.content_type,
        )
