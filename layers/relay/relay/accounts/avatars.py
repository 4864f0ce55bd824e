"""Avatars: pictures people upload straight to S3, shown through short-lived links.

The bucket stays private. An avatar is shown through a presigned GET (signed in the
function, no call to S3), valid for AVATAR_LINK_TTL_S, so a deleted account's picture
stops being reachable soon after it goes.
"""

from __future__ import annotations

import functools
from typing import Any

from relay.platform.config import settings

AVATAR_LINK_TTL_S = 3600


@functools.cache
def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    conf = settings()
    # SigV4 and the regional endpoint: what presigned links need outside us-east-1.
    return boto3.client(
        "s3",
        region_name=conf.aws_region,
        endpoint_url=conf.aws_endpoint_url,
        config=Config(signature_version="s3v4"),
    )


def avatar_url(avatar_key: str, s3: Any = None) -> str | None:
    """A link to the avatar at `avatar_key`; None for a person without one."""
    if not avatar_key:
        return None
    url: str = (s3 or s3_client()).generate_presigned_url(
        "get_object",
        Params={"Bucket": settings().avatars_bucket, "Key": avatar_key},
        ExpiresIn=AVATAR_LINK_TTL_S,
    )
    return url
