"""Relay's configuration, parsed once from the environment that template.yaml sets.

Every setting a function reads lives here, so a reader finds the whole surface in one
place and nobody else touches `os.environ`. Parsing is a dataclass, not pydantic:
this module is on every cold start, including the redirect's.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    stage: str
    links_table: str
    clicks_table: str
    click_queue_url: str
    redis_url: str
    redis_timeout_s: float
    # ---- Identity: the Cognito user pool and app client whose access tokens are accepted;
    # the key set's URL and Cognito's endpoint only where they are not AWS's (local stack).
    user_pool_id: str
    user_pool_client_id: str
    cognito_jwks_url: str
    cognito_endpoint: str
    short_base_url: str
    aws_region: str
    aws_endpoint_url: str | None
    # Whether CloudFront is in front of the API: only then is CloudFront-Viewer-Country
    # CloudFront's word rather than a header any client can send.
    behind_cloudfront: bool = False
    # Rate limit per rule name (requests per the rule's period), from the template's
    # parameters; a rule not named here keeps its default (relay.platform.ratelimit.RULES).
    rate_limits: dict[str, int] = field(default_factory=dict)
    # The feed's tables and rules; a rule the deployment leaves unset is None and keeps
    # its default, written once in relay.feed.rules (which says what each rule means).
    posts_table: str = "PostsTable"
    follows_table: str = "FollowsTable"
    likes_table: str = "LikesTable"
    shares_table: str = "SharesTable"
    comments_table: str = "CommentsTable"
    profiles_table: str = "ProfilesTable"
    celebrity_threshold: int | None = None
    feed_timeline_length: int | None = None
    feed_inactive_days: int | None = None
    # ---- Chat
    connections_table: str = "ChatConnectionsTable"
    conversations_table: str = "ConversationsTable"
    messages_table: str = "MessagesTable"
    chat_delivery_queue_url: str = ""
    chat_push_topic_arn: str = ""
    chat_attachments_bucket: str = ""
    # The @connections API of the chat's stage, for functions no WebSocket event calls.
    chat_ws_endpoint: str = ""
    # ---- Accounts
    users_table: str = "UsersTable"
    relations_table: str = "RelationsTable"
    avatars_bucket: str = ""
    # The user pool and its app client, and where clients reach Cognito (the local stack
    # sets COGNITO_ENDPOINT; on AWS it is the region's endpoint).
    # Where the chat's WebSocket API is, for clients (GET /api/config).
    web_socket_url: str = ""
    # ---- Events: the outbox every domain writes its events to (relay.platform.events).
    events_table: str = "EventsTable"
    # ---- Notifications: the inbox, the delivery log, and the bus events come in on.
    notifications_table: str = "NotificationsTable"
    deliveries_table: str = "DeliveriesTable"
    preferences_table: str = "PreferencesTable"
    notification_queue_url: str = ""


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
        user_pool_id=_env("USER_POOL_ID"),
        user_pool_client_id=_env("USER_POOL_CLIENT_ID"),
        cognito_jwks_url=_env("COGNITO_JWKS_URL"),
        cognito_endpoint=_env("COGNITO_ENDPOINT"),
        short_base_url=_env("SHORT_BASE_URL").rstrip("/"),
        aws_region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION", "us-east-1"),
        aws_endpoint_url=_env("AWS_ENDPOINT_URL") or None,
        behind_cloudfront=_flag("BEHIND_CLOUDFRONT"),
        rate_limits=_rate_limits(_env("RATE_LIMITS")),
        posts_table=_env("POSTS_TABLE", "PostsTable"),
        follows_table=_env("FOLLOWS_TABLE", "FollowsTable"),
        likes_table=_env("LIKES_TABLE", "LikesTable"),
        shares_table=_env("SHARES_TABLE", "SharesTable"),
        comments_table=_env("COMMENTS_TABLE", "CommentsTable"),
        profiles_table=_env("PROFILES_TABLE", "ProfilesTable"),
        celebrity_threshold=_positive("CELEBRITY_THRESHOLD"),
        feed_timeline_length=_positive("FEED_TIMELINE_LENGTH"),
        feed_inactive_days=_positive("FEED_INACTIVE_DAYS"),
        connections_table=_env("CONNECTIONS_TABLE", "ChatConnectionsTable"),
        conversations_table=_env("CONVERSATIONS_TABLE", "ConversationsTable"),
        messages_table=_env("MESSAGES_TABLE", "MessagesTable"),
        chat_delivery_queue_url=_env("CHAT_DELIVERY_QUEUE_URL"),
        chat_push_topic_arn=_env("CHAT_PUSH_TOPIC_ARN"),
        chat_attachments_bucket=_env("CHAT_ATTACHMENTS_BUCKET"),
        chat_ws_endpoint=_env("CHAT_WS_ENDPOINT"),
        users_table=_env("USERS_TABLE", "UsersTable"),
        relations_table=_env("RELATIONS_TABLE", "RelationsTable"),
        avatars_bucket=_env("AVATARS_BUCKET"),
        web_socket_url=_env("WEB_SOCKET_URL"),
        events_table=_env("EVENTS_TABLE", "EventsTable"),
        notifications_table=_env("NOTIFICATIONS_TABLE", "NotificationsTable"),
        deliveries_table=_env("DELIVERIES_TABLE", "DeliveriesTable"),
        preferences_table=_env("PREFERENCES_TABLE", "PreferencesTable"),
        notification_queue_url=_env("NOTIFICATION_QUEUE_URL"),
    )


def _positive(name: str) -> int | None:
    """A whole number above zero (empty: None, the rule's default); anything else is
    refused at start."""
    text = _env(name)
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number above zero, not {text!r}")
    return int(text)


def _flag(name: str) -> bool:
    """`true` or `false` (empty: false); anything else is a deployment mistake, refused."""
    value = _env(name).lower()
    if value not in ("", "true", "false"):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value == "true"


def _rate_limits(text: str) -> dict[str, int]:
    """`{"redirect-ip": 600, ...}`; anything else is a deployment mistake, refused at start."""
    if not text:
        return {}
    limits = json.loads(text)
    if not isinstance(limits, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limits.values()
    ):
        raise ValueError(f"RATE_LIMITS must map rule names to positive whole numbers: {text}")
    return {str(name): int(value) for name, value in limits.items()}
