"""The chat's parts, built once per process from the settings the template sets.

Functions call these; tests build the parts themselves with moto's clients, a
real Redis and a frozen clock. Clients are made on first use, never at import.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from relay.chat.attachments import Attachments
from relay.chat.connections_table import ChatConnectionsTable
from relay.chat.conversations import Conversations
from relay.chat.conversations_table import ConversationsTable
from relay.chat.delivery import QueueSender, management_api
from relay.chat.messages_table import MessagesTable
from relay.chat.messaging import Messaging
from relay.chat.notifications import Notifier
from relay.chat.ordering import Sequencer
from relay.chat.people import People
from relay.chat.presence import Presence
from relay.chat.turns import Turns
from relay.platform.cache import redis_client, redis_gate
from relay.platform.clients import OnFirstUse
from relay.platform.clock import SystemClock
from relay.platform.config import settings
from relay.platform.dynamo import dynamodb_client

if TYPE_CHECKING:
    from relay.chat.frames import Protocol


@functools.cache
def client(service: str) -> Any:
    import boto3

    make: Any = boto3.client  # typed per service; the name is one of a few known here
    return make(service, region_name=settings().aws_region)


def _on_first_use(service: str) -> OnFirstUse:
    """The boto3 client of `service`, made when a route first calls it: `$connect` never
    publishes or queues, and each client made costs a cold start 15 to 30 ms (its
    service model)."""
    return OnFirstUse(functools.partial(client, service))


@functools.cache
def conversations_table() -> ConversationsTable:
    return ConversationsTable(dynamodb_client(), settings().conversations_table)


@functools.cache
def messages_table() -> MessagesTable:
    return MessagesTable(dynamodb_client(), settings().messages_table)


@functools.cache
def sequencer() -> Sequencer:
    return Sequencer(dynamodb_client(), conversations_table(), messages_table())


@functools.cache
def attachments() -> Attachments:
    return Attachments(_on_first_use("s3"), settings().chat_attachments_bucket)


@functools.cache
def conversations() -> Conversations:
    return Conversations(conversations_table(), messages_table(), attachments(), SystemClock())


@functools.cache
def people() -> People:
    return People()


@functools.cache
def messaging() -> Messaging:
    conf = settings()
    clock = SystemClock()
    return Messaging(
        conversations(),
        sequencer(),
        ChatConnectionsTable(dynamodb_client(), conf.connections_table),
        Presence(redis_client(), redis_gate(), clock),
        Notifier(
            _on_first_use("sns"), conf.chat_push_topic_arn, redis_client(), redis_gate(), clock
        ),
        attachments(),
        clock,
        QueueSender(_on_first_use("sqs"), conf.chat_delivery_queue_url),
    )


@functools.cache
def protocol() -> Protocol:
    # Only ChatMessage reads frames: the others do not load pydantic's models (~35 ms).
    from relay.chat.frames import Protocol
    from relay.platform.ratelimit import rate_limiter

    return Protocol(
        messaging(),
        rate_limiter(),
        redis_gate(),
        Turns(redis_client(), redis_gate(), slice_s=settings().redis_timeout_s / 2),
    )


def sweep_presence() -> list[str]:
    """Users whose pings stopped, now offline; their contacts are told through the
    chat's `@connections` API (ChatPresenceSweep answers no WebSocket event)."""
    return messaging().sweep(settings().chat_ws_endpoint, management_api)


def announce(conversation_id: str, members: list[str], frame: dict[str, Any]) -> None:
    """A management frame (`conversation`, `membership`) to the members' connections,
    from an HTTP route, through the chat's `@connections` API."""
    endpoint = settings().chat_ws_endpoint
    if endpoint:
        messaging().announce(management_api(endpoint), endpoint, conversation_id, members, frame)
