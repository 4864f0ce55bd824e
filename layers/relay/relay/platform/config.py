"""Relay's configuration, parsed once from the environment that template.yaml sets.

Every setting a function reads lives here, so a reader finds the whole surface in one
place and nobody else touches `os.environ`. Parsing is a dataclass, not pydantic:
this module is on every cold start, including the redirect's.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    links_table: str
    clicks_table: str
    click_queue_url: str
    redis_url: str
    redis_timeout_s: float
    jwt_secret: str | None
    jwt_secret_arn: str | None
    short_base_url: str
    aws_region: str
    aws_endpoint_url: str | None


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@functools.cache
def settings() -> Settings:
    return Settings(
        stage=_env("STAGE", "dev"),
        links_table=_env("LINKS_TABLE", "LinksTable"),
        clicks_table=_env("CLICKS_TABLE", "ClicksTable"),
        click_queue_url=_env("CLICK_QUEUE_URL"),
        redis_url=_env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # A redirect that waits on a dead cache is worse than one that goes to DynamoDB.
        redis_timeout_s=float(_env("REDIS_TIMEOUT_MS", "250")) / 1000,
        jwt_secret=_env("JWT_SECRET") or None,
        jwt_secret_arn=_env("JWT_SECRET_ARN") or None,
        short_base_url=_env("SHORT_BASE_URL").rstrip("/"),
        aws_region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION", "us-east-1"),
        aws_endpoint_url=_env("AWS_ENDPOINT_URL") or None,
    )
