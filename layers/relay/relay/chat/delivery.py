"""Delivery: pushing frames to connections through API Gateway's `@connections` API.

A `Session` is the connection a WebSocket event came from and the gateway that
answers it, read from the event at the edge (`Session.of`). `Gateway` posts one
frame to one connection. `Deliverer` sends a frame to many connections at once on
a thread pool, with short timeouts and no retries (relay.chat.rules), so one
slow or vanished connection costs the others nothing: a connection that answers
GoneException is removed (that one only, never the sender's), any other failure is
logged and left for the client's next `sync`. The management client is built from
the event's own `domainName` and `stage`, as on AWS (and the local stack serves the
same API on the same address).

Groups above INLINE_MAX members (relay.chat.rules) are not delivered by the function
that stored the message: their members are cut into chunks, each a `DeliveryJob` on
the delivery queue (`QueueSender`), which ChatDelivery reads back (`DeliveryJob.read`)
and sends (`relay.chat.messaging.Messaging.deliver`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from relay.chat.models import Connection, Message
from relay.chat.rules import (
    CHUNK,
    POST_CONNECT_TIMEOUT_S,
    POST_MAX_ATTEMPTS,
    POST_READ_TIMEOUT_S,
    WORKERS,
)
from relay.platform.websocket import SocketEvent

log = logging.getLogger(__name__)
# SQS takes at most ten messages per SendMessageBatch.
_SQS_BATCH = 10


class Gateway(Protocol):
    def post(self, connection_id: str, data: bytes) -> bool:
        """Send a frame; False when the connection is gone (GoneException)."""
        ...


class ManagementApi:
    """The `@connections` API of one WebSocket API stage."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, connection_id: str, data: bytes) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException:
            return False
        return True


@functools.cache
def management_api(endpoint: str) -> ManagementApi:
    """A client per endpoint (`https://{domainName}/{stage}`), made once per process."""
    import boto3
    from botocore.config import Config

    # A stalled client must not hold a worker for long; the message is in history anyway.
    config = Config(
        connect_timeout=POST_CONNECT_TIMEOUT_S,
        read_timeout=POST_READ_TIMEOUT_S,
        retries={"max_attempts": POST_MAX_ATTEMPTS, "mode": "standard"},
        max_pool_connections=WORKERS,
    )
    return ManagementApi(
        boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=config)
    )


@dataclass(frozen=True)
class Session:
    connection: Connection
    endpoint: str  # the @connections API, https://{domainName}/{stage}
    gateway: Gateway

    @property
    def user_id(self) -> str:
        return self.connection.user_id

    @classmethod
    def of(cls, socket: SocketEvent) -> Session:
        """The session of a WebSocket event, answered through its own stage's API."""
        connection = Connection(socket.connection_id, socket.user_id)
        return cls(connection, socket.endpoint, management_api(socket.endpoint))


@dataclass(frozen=True)
class DeliveryJob:
    """A chunk of a large group's members to send a frame to, as the delivery queue
    carries it; `message` (the frame's message, when it is one) notifies those offline."""

    conversation_id: str
    endpoint: str
    members: list[str]
    exclude: str | None
    frame: dict[str, Any]
    message: Message | None

    def body(self) -> str:
        return json.dumps(
            {
                "conversationId": self.conversation_id,
                "endpoint": self.endpoint,
                "members": self.members,
                "exclude": self.exclude,
                "frame": self.frame,
                "notify": self.message is not None,
            }
        )

    @classmethod
    def read(cls, body: str) -> DeliveryJob:
        """The job a queue message carries; ValueError for a body that is not one."""
        try:
            job = json.loads(body)
            frame, members, endpoint = job["frame"], job["members"], job["endpoint"]
            exclude = job.get("exclude")
            if not (
                isinstance(frame, dict)
                and isinstance(endpoint, str)
                and isinstance(members, list)
                and all(isinstance(member, str) for member in members)
                and isinstance(exclude, str | None)
            ):
                raise TypeError("frame, members, endpoint or exclude of the wrong type")
            message = Message.of_frame(frame) if job.get("notify") else None
            return cls(
                str(job.get("conversationId", "")), endpoint, members, exclude, frame, message
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a delivery job: {error!r}") from error


class QueueSender:
    """Puts delivery jobs on the delivery queue, ten to a call."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def __call__(self, jobs: list[DeliveryJob]) -> None:
        for start in range(0, len(jobs), _SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": job.body()}
                for i, job in enumerate(jobs[start : start + _SQS_BATCH])
            ]
            answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"delivery jobs not queued: {answer['Failed']}")


@functools.cache
def pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="deliver")


def encode(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()


class Deliverer:
    def __init__(self, gateway: Gateway, on_gone: Callable[[Connection], None]) -> None:
        self._gateway = gateway
        self._on_gone = on_gone

    def send(self, targets: Iterable[Connection], frame: dict[str, Any]) -> int:
        """Send `frame` to every target at once; returns how many received it."""
        data = encode(frame)
        return self._all([(target, data) for target in targets])

    def send_each(self, frames: list[tuple[Connection, dict[str, Any]]]) -> int:
        """Send each its own frame, all at once; returns how many were received."""
        encoded: dict[int, bytes] = {}
        pairs = [(target, encoded.setdefault(id(frame), encode(frame))) for target, frame in frames]
        return self._all(pairs)

    def _all(self, pairs: list[tuple[Connection, bytes]]) -> int:
        if not pairs:
            return 0
        if len(pairs) == 1:
            return int(self._one(*pairs[0]))
        return sum(pool().map(lambda pair: self._one(*pair), pairs))

    def _one(self, target: Connection, data: bytes) -> bool:
        try:
            if self._gateway.post(target.connection_id, data):
                return True
        except Exception as error:  # noqa: BLE001 - one connection's failure stays its own
            log.warning(
                "delivery failed", extra={"connection": target.connection_id, "why": repr(error)}
            )
            return False
        try:
            self._on_gone(target)
        except Exception as error:  # noqa: BLE001 - the frame went to the others anyway
            log.warning(
                "could not forget a gone connection",
                extra={"connection": target.connection_id, "why": repr(error)},
            )
        return False


def chunks(items: list[str], size: int = CHUNK) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
