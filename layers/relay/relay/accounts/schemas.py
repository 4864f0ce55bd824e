"""Accounts' HTTP shapes (camelCase JSON), from which the OpenAPI document is made.

The profile here is DESIGN's Profile without the feed's counts (GET /api/users/{handle}
adds them); the rules behind each limit live in relay.accounts.rules and
relay.accounts.handles, where the domain checks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from relay.accounts.handles import MAX_LENGTH, MIN_LENGTH
from relay.accounts.rules import AVATAR_TYPES, BIO_MAX, DISPLAY_NAME_MAX
from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody

if TYPE_CHECKING:
    from relay.accounts.models import User
    from relay.accounts.profiles import Changes, Upload
    from relay.accounts.service import ClientConfig


class AccountProfileOut(Camel):
    user_id: str
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    created_at: str

    @classmethod
    def of(cls, user: User, avatar_url: str | None) -> AccountProfileOut:
        return cls(
            user_id=user.sub,
            handle=user.handle,
            display_name=user.display_name,
            bio=user.bio,
            avatar_url=avatar_url,
            created_at=iso(user.created_ms),
        )


class PatchMeBody(CamelBody):
    display_name: str | None = Field(
        default=None, max_length=DISPLAY_NAME_MAX, description="Shown beside the handle."
    )
    bio: str | None = Field(default=None, max_length=BIO_MAX)
    handle: str | None = Field(
        default=None,
        description=(
            f"A new handle: {MIN_LENGTH} to {MAX_LENGTH} of [a-z0-9_] after NFKC and case "
            "folding, not reserved, nobody else's (409 handle_taken)."
        ),
        max_length=4 * MAX_LENGTH,
    )
    avatar: str | None = Field(
        default=None,
        description="The key POST /api/me/avatar gave, once uploaded; null removes it.",
        max_length=200,
    )

    def changes(self) -> Changes:
        from relay.accounts.profiles import Changes

        given: dict[str, Any] = {}
        if "avatar" in self.model_fields_set:
            given["avatar_key"] = self.avatar
        return Changes(display_name=self.display_name, bio=self.bio, handle=self.handle, **given)


class AvatarBody(CamelBody):
    content_type: str = Field(
        description="The picture's type.",
        json_schema_extra={"enum": list[Any](sorted(AVATAR_TYPES))},
    )


class AvatarUploadOut(Camel):
    url: str = Field(description="POST the form here, with `fields` first and the file last.")
    fields: dict[str, str]
    key: str = Field(description='Send it as PATCH /api/me {"avatar": key} once uploaded.')
    max_bytes: int
    expires_in: int

    @classmethod
    def of(cls, upload: Upload) -> AvatarUploadOut:
        return cls(
            url=upload.url,
            fields=upload.fields,
            key=upload.key,
            max_bytes=upload.max_bytes,
            expires_in=upload.expires_in_s,
        )


class ConfigOut(Camel):
    region: str
    user_pool_id: str
    user_pool_client_id: str
    cognito_endpoint: str
    web_socket_url: str
    short_base_url: str

    @classmethod
    def of(cls, config: ClientConfig) -> ConfigOut:
        return cls(
            region=config.region,
            user_pool_id=config.user_pool_id,
            user_pool_client_id=config.user_pool_client_id,
            cognito_endpoint=config.cognito_endpoint,
            web_socket_url=config.web_socket_url,
            short_base_url=config.short_base_url,
        )
