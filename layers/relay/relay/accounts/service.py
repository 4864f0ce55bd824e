"""Accounts as a deployed function builds it: the users table, the user pool, the
avatars bucket, the shared Redis (for signed-out sessions). The only reader of settings
in accounts; what the Accounts, PreSignUp and PostConfirmation functions call. Built
once per process, on first use; the triggers never load S3 or Redis.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relay.accounts.directory import users_table
from relay.platform.clock import SystemClock
from relay.platform.config import settings

if TYPE_CHECKING:
    from relay.accounts.profiles import Profiles
    from relay.accounts.registration import Registration


@functools.cache
def cognito_client() -> Any:
    import boto3

    conf = settings()
    return boto3.client(
        "cognito-idp", region_name=conf.aws_region, endpoint_url=conf.aws_endpoint_url
    )


@functools.cache
def registration() -> Registration:
    from relay.accounts.registration import Registration

    return Registration(users_table(), settings().events_table, SystemClock())


@functools.cache
def profiles() -> Profiles:
    from relay.accounts.avatars import s3_client
    from relay.accounts.profiles import Profiles
    from relay.platform.clients import OnFirstUse
    from relay.platform.sessions import sessions

    conf = settings()
    return Profiles(
        users_table(),
        cognito=OnFirstUse(cognito_client),
        s3=OnFirstUse(s3_client),
        sessions=sessions(),
        pool_id=conf.user_pool_id,
        bucket=conf.avatars_bucket,
        events_table=conf.events_table,
        clock=SystemClock(),
    )


@dataclass(frozen=True)
class ClientConfig:
    """Where a client finds things (GET /api/config)."""

    region: str
    user_pool_id: str
    user_pool_client_id: str
    cognito_endpoint: str
    web_socket_url: str
    short_base_url: str


def client_config(api_base_url: str) -> ClientConfig:
    """The deployment's addresses; `api_base_url` (the request's own) stands in for a
    short base URL the deployment leaves unset, as the shortener does."""
    conf = settings()
    return ClientConfig(
        region=conf.aws_region,
        user_pool_id=conf.user_pool_id,
        user_pool_client_id=conf.user_pool_client_id,
        cognito_endpoint=conf.cognito_endpoint
        or f"https://cognito-idp.{conf.aws_region}.amazonaws.com/",
        web_socket_url=conf.web_socket_url,
        short_base_url=conf.short_base_url or api_base_url,
    )
