"""Attachments: a presigned S3 POST per upload, then messages that name the upload.

Files never pass through Lambda or API Gateway: a member asks for an upload, gets a
POST policy that S3 itself enforces (this content type only, at most the declared
size, this key only, for a few minutes), and sends a message naming the attachment
id. An id names a key under its conversation, so a message can only reference
uploads made for that conversation, and it is checked to exist before the message
is stored.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from relay.chat.models import Upload
from relay.chat.rules import CONTENT_TYPES, MAX_ATTACHMENT_BYTES, UPLOAD_TTL_S
from relay.platform.errors import Invalid, TooLarge

_ID = re.compile(r"att_[0-9a-f]{32}")


def _key(conversation_id: str, attachment_id: str) -> str:
    return f"attachments/{conversation_id}/{attachment_id}"


class Attachments:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def upload(self, conversation_id: str, content_type: str, size: int) -> Upload:
        if content_type not in CONTENT_TYPES:
            raise Invalid(
                f"contentType must be one of {', '.join(sorted(CONTENT_TYPES))}.",
                code="unsupported_type",
            )
        if size > MAX_ATTACHMENT_BYTES:
            raise TooLarge(f"Attachments are at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB.")
        attachment_id = f"att_{secrets.token_hex(16)}"
        post = self._s3.generate_presigned_post(
            self._bucket,
            _key(conversation_id, attachment_id),
            Fields={"Content-Type": content_type},
            Conditions=[["content-length-range", 1, size], {"Content-Type": content_type}],
            ExpiresIn=UPLOAD_TTL_S,
        )
        return Upload(
            attachment_id=attachment_id,
            url=str(post["url"]),
            fields={str(k): str(v) for k, v in post["fields"].items()},
            expires_in_s=UPLOAD_TTL_S,
            max_bytes=size,
            content_type=content_type,
        )

    def check(self, conversation_id: str, attachment_ids: list[str]) -> None:
        """Every id names an upload made for this conversation; Invalid otherwise."""
        from botocore.exceptions import ClientError

        for attachment_id in attachment_ids:
            if not _ID.fullmatch(attachment_id):
                raise Invalid(
                    f"{attachment_id[:40]!r} is not an attachment id.", code="bad_attachment"
                )
            try:
                self._s3.head_object(Bucket=self._bucket, Key=_key(conversation_id, attachment_id))
            except ClientError as error:
                raise Invalid(
                    f"Attachment {attachment_id} was not uploaded to this conversation.",
                    code="bad_attachment",
                ) from error
