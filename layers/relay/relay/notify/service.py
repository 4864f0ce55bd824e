"""Notifications' parts, built once per process from the settings the template sets.

Functions call these; tests build the parts themselves with moto's clients and a
frozen clock. Clients are made on first use, never at import.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from relay.accounts import directory
from relay.notify.deliveries_table import DeliveriesTable
from relay.notify.inbox import Inbox
from relay.notify.models import Notification
from relay.notify.notifications_table import NotificationsTable
from relay.notify.outbox import QueueSender
from relay.notify.preferences_table import PreferencesTable
from relay.notify.routing import Deferrer, Router
from relay.notify.sockets import ConnectionsReader, ManagementApi, Sockets
from relay.platform.clients import OnFirstUse
from relay.platform.clock import SystemClock
from relay.platform.config import settings
from relay.platform.dynamo import dynamodb_client


@functools.cache
def notifications_table() -> NotificationsTable:
    return NotificationsTable(dynamodb_client(), settings().notifications_table)


@functools.cache
def deliveries_table() -> DeliveriesTable:
    return DeliveriesTable(dynamodb_client(), settings().deliveries_table)


@functools.cache
def preferences_table() -> PreferencesTable:
    return PreferencesTable(dynamodb_client(), settings().preferences_table)


@functools.cache
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs", region_name=settings().aws_region)


@functools.cache
def inbox() -> Inbox:
    return Inbox(notifications_table())


def handles(notifications: Iterable[Notification]) -> dict[str, str]:
    """sub -> handle of every actor the notifications show: one read."""
    from relay.notify.schemas import SHOWN_ACTORS

    subs = {a for n in notifications for a in n.actors[:SHOWN_ACTORS]}
    return {sub: user.handle for sub, user in directory.people(subs).items()} if subs else {}


def shown(notification: Notification) -> dict[str, Any]:
    """A notification as its frame carries it (NotificationOut's JSON)."""
    from relay.notify.schemas import NotificationOut

    out = NotificationOut.of(notification, handles([notification]))
    return out.model_dump(by_alias=True, mode="json")


def _management_client() -> Any:
    import boto3
    from botocore.config import Config

    # A stalled socket must not hold the consumer: the inbox has the notification.
    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=settings().chat_ws_endpoint, config=config
    )


@functools.cache
def router() -> Router:
    conf = settings()
    poster = ManagementApi(_management_client) if conf.chat_ws_endpoint else None
    sockets = Sockets(ConnectionsReader(dynamodb_client(), conf.connections_table), poster)
    return Router(
        dynamodb_client(),
        notifications_table(),
        deliveries_table(),
        sockets,
        shown,
        SystemClock(),
        preferences_table(),
        Deferrer(OnFirstUse(_sqs), conf.notification_queue_url),
    )


@functools.cache
def outbox_sender() -> QueueSender:
    return QueueSender(_sqs(), settings().notification_queue_url)
