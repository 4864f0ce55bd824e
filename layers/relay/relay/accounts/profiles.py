"""A person's own account: read and change their profile, upload an avatar, sign out
everywhere, delete the account.

Storage keys on the `sub`; the handle is a field that can move. A handle change moves
the handle's item and the profile in one transaction (relay.accounts.users_table),
then tells Cognito the new `preferred_username`, so the pool and Relay agree on who
is who. Deleting an account removes what Relay holds about the person here (profile,
handle, avatar pictures), then the Cognito user, ends their sessions and writes
`accounts.user_deleted` for the other systems (docs/decisions.md, "Data policy").
Each step is safe to repeat, so a deletion that failed part-way completes when the
client retries it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.accounts.handles import normalize
from relay.accounts.models import User
from relay.accounts.rules import (
    AVATAR_MAX_BYTES,
    AVATAR_PREFIX,
    AVATAR_TYPES,
    AVATAR_UPLOAD_TTL_S,
    BIO_MAX,
    DISPLAY_NAME_MAX,
)
from relay.accounts.users_table import UsersTable
from relay.platform.clock import Clock
from relay.platform.errors import Invalid, NotFound
from relay.platform.events import Event, outbox_put
from relay.platform.sessions import Sessions

log = logging.getLogger(__name__)

USER_UPDATED = "accounts.user_updated"
USER_DELETED = "accounts.user_deleted"
# Marks an upload no profile names yet; the bucket's lifecycle expires tagged objects,
# so an avatar uploaded and never used goes by itself (template.yaml, AvatarsBucket).
PENDING_TAG = "<Tagging><TagSet><Tag><Key>pending</Key><Value>true</Value></Tag></TagSet></Tagging>"
_UNSET: Any = object()


@dataclass(frozen=True)
class Changes:
    """What PATCH /api/me asks to change; a field left out keeps its value. `avatar_key`
    None removes the avatar."""

    display_name: str | None = None
    bio: str | None = None
    handle: str | None = None
    avatar_key: Any = _UNSET


@dataclass(frozen=True)
class Upload:
    """A presigned POST: the form a browser sends the picture with, straight to S3."""

    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_in_s: int


def owns_avatar(sub: str, key: str) -> bool:
    return key.startswith(f"{AVATAR_PREFIX}{sub}/")


class Profiles:
    def __init__(
        self,
        table: UsersTable,
        *,
        cognito: Any,
        s3: Any,
        sessions: Sessions,
        pool_id: str,
        bucket: str,
        events_table: str,
        clock: Clock,
    ) -> None:
        self.table = table
        self.cognito = cognito
        self.s3 = s3
        self.sessions = sessions
        self.pool_id = pool_id
        self.bucket = bucket
        self.events_table = events_table
        self.clock = clock

    def me(self, sub: str) -> User:
        user = self.table.user(sub)
        if user is None:
            raise NotFound(
                "This account has no profile (it was deleted, or its sign-up is not confirmed).",
                code="user_not_found",
            )
        return user

    # ---- changes

    def update(self, sub: str, changes: Changes) -> User:
        before = self.me(sub)
        after = before
        if changes.display_name is not None:
            after = replace(after, display_name=profile_text(changes.display_name, "displayName"))
        if changes.bio is not None:
            after = replace(after, bio=profile_text(changes.bio, "bio"))
        if changes.handle is not None:
            after = replace(after, handle=normalize(changes.handle))
        if changes.avatar_key is not _UNSET:
            after = replace(after, avatar_key=self._avatar(sub, changes.avatar_key))
        if after == before:
            return before
        now_ms = self.clock.now_ms()
        event = Event.now(
            USER_UPDATED,
            actor_id=sub,
            subject_id=sub,
            at_ms=now_ms,
            data={"handle": after.handle, "previousHandle": before.handle},
        )
        self.table.update(before, after, now_ms // 1000, outbox_put(self.events_table, event))
        if after.handle != before.handle:
            self._tell_cognito(sub, after.handle)
        if after.avatar_key != before.avatar_key:
            if after.avatar_key:
                # In use: no longer an abandoned upload for the lifecycle to remove.
                self.s3.delete_object_tagging(Bucket=self.bucket, Key=after.avatar_key)
            if before.avatar_key:
                self._forget_avatar(before.avatar_key)
        return after

    def _tell_cognito(self, sub: str, handle: str) -> None:
        # After the table: the table is what decides who owns a handle; Cognito's copy is
        # what a client reads from its ID token. A failure here leaves Cognito one change
        # behind until the next one (the handle is safely Relay's either way), so the
        # change the person made is not reported as failed.
        try:
            self.cognito.admin_update_user_attributes(
                UserPoolId=self.pool_id,
                Username=sub,
                UserAttributes=[{"Name": "preferred_username", "Value": handle}],
            )
        except (ClientError, BotoCoreError):
            log.warning("preferred_username not updated in Cognito", exc_info=True)

    # ---- avatars

    def avatar_upload(self, sub: str, content_type: str) -> Upload:
        self.me(sub)
        extension = AVATAR_TYPES.get(content_type)
        if extension is None:
            kinds = ", ".join(sorted(AVATAR_TYPES))
            raise Invalid(f"contentType: an avatar is one of {kinds}.", code="invalid_avatar")
        key = f"{AVATAR_PREFIX}{sub}/{secrets.token_urlsafe(12)}.{extension}"
        post = self.s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, "tagging": PENDING_TAG},
            Conditions=[
                {"Content-Type": content_type},
                {"tagging": PENDING_TAG},
                ["content-length-range", 1, AVATAR_MAX_BYTES],
            ],
            ExpiresIn=AVATAR_UPLOAD_TTL_S,
        )
        return Upload(post["url"], post["fields"], key, AVATAR_MAX_BYTES, AVATAR_UPLOAD_TTL_S)

    def _avatar(self, sub: str, key: object) -> str:
        """The avatar key a PATCH names, checked: the caller's own upload, present in the
        bucket, an image within the size cap; "" to remove the avatar."""
        if key is None or key == "":
            return ""
        if not isinstance(key, str) or not owns_avatar(sub, key) or len(key) > 200:
            raise Invalid(
                "avatar: name a key that POST /api/me/avatar gave you.", code="invalid_avatar"
            )
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise Invalid(
                    "avatar: nothing was uploaded under that key (or the upload expired).",
                    code="invalid_avatar",
                ) from None
            raise
        size = head.get("ContentLength", 0)
        if head.get("ContentType") not in AVATAR_TYPES or size > AVATAR_MAX_BYTES:
            raise Invalid(
                "avatar: the upload is not an image Relay accepts.", code="invalid_avatar"
            )
        return key

    def _forget_avatar(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    # ---- sessions and deletion

    def sign_out(self, sub: str) -> bool:
        """Sign `sub` out everywhere: Cognito's refresh tokens end, and access tokens issued
        until now are refused; False when the refusal could not be recorded (then they
        live until they expire)."""
        now_s = self.clock.now_ms() // 1000
        try:
            self.cognito.admin_user_global_sign_out(UserPoolId=self.pool_id, Username=sub)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "UserNotFoundException":
                raise
        return self.sessions.end(sub, now_s)

    def delete(self, sub: str) -> None:
        """Delete the account: everything here, then the Cognito user, then the sessions.
        Repeating it after a partial failure finishes what is left."""
        now_s = self.clock.now_ms() // 1000
        user = self.table.user(sub)
        for key in self._avatar_keys(sub):
            self._forget_avatar(key)
        if user is not None:
            event = Event.now(
                USER_DELETED,
                actor_id=sub,
                subject_id=sub,
                at_ms=self.clock.now_ms(),
                data={"handle": user.handle},
            )
            self.table.delete(user, outbox_put(self.events_table, event))
        else:
            handle = self._cognito_handle(sub)
            if handle:
                self.table.release(handle, sub)
        try:
            self.cognito.admin_delete_user(UserPoolId=self.pool_id, Username=sub)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "UserNotFoundException":
                raise
        self.sessions.end(sub, now_s)

    def _avatar_keys(self, sub: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{AVATAR_PREFIX}{sub}/"
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def _cognito_handle(self, sub: str) -> str:
        """The handle Cognito holds for `sub` (an account whose profile was never made)."""
        try:
            found = self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=sub)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return ""
            raise
        for attribute in found.get("UserAttributes", []):
            if attribute.get("Name") == "preferred_username":
                try:
                    return normalize(attribute.get("Value"))
                except Invalid:
                    return ""
        return ""


def profile_text(value: str, field: str) -> str:
    """A display name or bio as stored: trimmed, within its limit, printable."""
    limit = DISPLAY_NAME_MAX if field == "displayName" else BIO_MAX
    text = value.strip()
    if len(text) > limit:
        raise Invalid(f"{field}: at most {limit} characters.")
    # Printable only: no control, format (bidi overrides, zero-width spaces) or lone
    # surrogate characters, except the joiner emoji sequences are made of, and a bio's
    # line breaks.
    allowed = "\u200d\n" if field == "bio" else "\u200d"
    if any(not (c.isprintable() or c in allowed) for c in text):
        raise Invalid(f"{field}: only printable characters.")
    return text
