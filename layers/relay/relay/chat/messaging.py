"""What happens on the WebSocket: connect, send, typing, read, sync, ping, disconnect.

Each operation takes a `Session` (the connection, its user, and the gateway that
reaches connections) and answers through it. A message is stored first
(relay.chat.ordering: durable, gap-free seq, once per clientMessageId), acknowledged to
the sender, then delivered: to every connection of the other members and the
sender's other connections, at once; members with no connection are offline and
get a push notification (batched, relay.chat.notifications). Groups above
INLINE_MAX members (relay.chat.rules) are delivered through the delivery queue in
chunks (relay.chat.delivery). Presence (relay.chat.presence) is told about
connects, pings and disconnects, and members of a user's conversations hear when
they come and go.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from relay.chat.attachments import Attachments
from relay.chat.connections_table import ChatConnectionsTable
from relay.chat.conversations import Conversations
from relay.chat.delivery import Deliverer, DeliveryJob, Gateway, Session, chunks, pool
from relay.chat.models import Connection, Conversation, Message
from relay.chat.notifications import Notifier
from relay.chat.ordering import Contention, Missing, NotMember, Reused, Sequencer, Stale
from relay.chat.people import People
from relay.chat.presence import Presence
from relay.chat.rules import INLINE_MAX, PRESENCE_MAX_GROUP, SIGNALS_MAX_GROUP, SYNC_MAX
from relay.platform.clock import Clock, iso
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)


class Messaging:
    def __init__(
        self,
        conversations: Conversations,
        sequencer: Sequencer,
        connections: ChatConnectionsTable,
        presence: Presence,
        notifier: Notifier,
        attachments: Attachments | None,
        clock: Clock,
        enqueue: Callable[[list[DeliveryJob]], None],
        people: People | None = None,
    ) -> None:
        self._conversations = conversations
        self._sequencer = sequencer
        self._connections = connections
        self._presence = presence
        self._notifier = notifier
        self._attachments = attachments
        self._clock = clock
        self._enqueue = enqueue
        self._people = people or People()

    # ---------------------------------------------------------------- the connection
    def connect(self, session: Session) -> None:
        self._connections.add(session.connection, self._clock.now_ms())
        if self._presence.touch(session.user_id, session.connection.connection_id):
            self._announce(session, "online")

    def disconnect(self, session: Session) -> None:
        self._connections.remove(session.connection)
        if self._presence.leave(session.user_id, session.connection.connection_id):
            self._announce(session, "offline")

    def ping(self, session: Session) -> None:
        self.reply(session, {"type": "pong"})
        if self._presence.touch(session.user_id, session.connection.connection_id):
            self._announce(session, "online")

    def sweep(self, endpoint: str, gateway_of: Callable[[str], Gateway]) -> list[str]:
        """Users whose pings stopped are offline: tell their contacts. Returns them."""
        lapsed = self._presence.lapsed()
        if lapsed:
            gateway = gateway_of(endpoint)
            for user in lapsed:
                self._announce(Session(Connection("", user), endpoint, gateway), "offline")
        return lapsed

    def _announce(self, session: Session, status: str) -> None:
        contacts: set[str] = set()
        for conversation, _ in self._conversations.joined(session.user_id):
            if len(conversation.members) <= PRESENCE_MAX_GROUP:
                contacts.update(conversation.members)
        contacts.discard(session.user_id)
        targets = self._targets(sorted(contacts), exclude=None)[0]
        if not targets:
            return
        frame = {
            "type": "presence",
            "userId": session.user_id,
            "handle": self._handle(session.user_id),
            "status": status,
        }
        self._deliverer(session.gateway).send(targets, frame)

    # ---------------------------------------------------------------- actions
    def send(
        self,
        session: Session,
        conversation_id: str,
        content: str,
        client_message_id: str | None,
        attachments: list[str],
    ) -> Message:
        conversation = self._conversations.require_member(conversation_id, session.user_id)
        if attachments:
            if self._attachments is None:  # pragma: no cover - the template sets a bucket
                raise Invalid("Attachments are not configured.", code="bad_attachment")
            self._attachments.check(conversation_id, attachments)
        now = self._clock.now_ms()
        ids = "m" + secrets.token_hex(16)
        # The sender's handle, as it is now, is read while the message is stored.
        handle = pool().submit(self._handle, session.user_id)

        def made(seq: int) -> Message:
            return Message(
                conversation_id=conversation_id,
                message_id=ids,
                seq=seq,
                sender_id=session.user_id,
                content=content,
                timestamp_ms=now,
                attachments=tuple(attachments),
                client_message_id=client_message_id,
            )

        try:
            message, duplicate, conversation, lookup = self._store(session, conversation, made)
        except Stale:
            # The members changed since this process kept its copy: read them now (a
            # removed sender is refused here) and go again, once.
            conversation = self._conversations.require_member(
                conversation_id, session.user_id, fresh=True
            )
            try:
                message, duplicate, conversation, lookup = self._store(session, conversation, made)
            except Stale as error:
                raise Conflict("The conversation is busy; send again.", code="busy") from error
        self._conversations.remember(replace(conversation, last_seq=message.seq))
        message = replace(message, sender_handle=handle.result())
        if duplicate or lookup is None:
            self.reply(session, message.ack())
            if not duplicate:
                self._deliver(session, conversation, message.frame(), message)
            return message
        targets, offline = lookup.result()
        # The ack and the deliveries leave together, on the pool.
        frame = message.frame()
        self._deliverer(session.gateway).send_each(
            [(session.connection, message.ack()), *((target, frame) for target in targets)]
        )
        self._notify(message, offline)
        return message

    def _store(
        self, session: Session, conversation: Conversation, made: Callable[[int], Message]
    ) -> tuple[Message, bool, Conversation, Future[tuple[list[Connection], list[str]]] | None]:
        """Store the message; where it goes (for a conversation delivered inline) is read
        while it is stored: one round trip less."""
        inline = len(conversation.members) <= INLINE_MAX
        lookup = (
            pool().submit(
                self._targets, list(conversation.members), session.connection.connection_id
            )
            if inline
            else None
        )
        try:
            message, duplicate = self._sequencer.append(conversation, made)
        except NotMember as error:
            raise Forbidden(
                "You are not a member of this conversation.", code="not_a_member"
            ) from error
        except Missing as error:
            raise NotFound("No such conversation.", code="unknown_conversation") from error
        except Reused as error:
            raise Conflict(
                "clientMessageId: already used for a message with other content;"
                " a new message needs a new id.",
                code="client_message_id_reused",
            ) from error
        except Contention as error:
            raise Conflict("The conversation is busy; send again.", code="busy") from error
        return message, duplicate, conversation, lookup

    # ---------------------------------------------------------------- management frames
    def announce(
        self,
        gateway: Gateway,
        endpoint: str,
        conversation_id: str,
        members: list[str],
        frame: dict[str, Any],
    ) -> None:
        """A `conversation` or `membership` frame to every connection of `members` (through
        the delivery queue above INLINE_MAX members, as messages go)."""
        if len(members) > INLINE_MAX:
            self._enqueue(
                [
                    DeliveryJob(conversation_id, endpoint, chunk, None, frame, None)
                    for chunk in chunks(members)
                ]
            )
            return
        # Frames only: a management frame tells nobody offline (no push), so this path
        # never reaches the notifier, and ChatConversations needs no sns:Publish.
        targets, _offline = self._targets(members, None)
        self._deliverer(gateway).send(targets, frame)

    def typing(self, session: Session, conversation_id: str) -> None:
        conversation = self._conversations.require_member(conversation_id, session.user_id)
        if len(conversation.members) > SIGNALS_MAX_GROUP:
            return
        frame = {
            "type": "typing",
            "conversationId": conversation_id,
            "userId": session.user_id,
            "handle": self._handle(session.user_id),
        }
        self._deliver(session, conversation, frame, None, include_self=False)

    def read(self, session: Session, conversation_id: str, seq: int) -> None:
        conversation = self._conversations.require_member(conversation_id, session.user_id)
        if seq > conversation.last_seq:
            conversation = self._conversations.require_member(
                conversation_id, session.user_id, fresh=True
            )
        if seq > conversation.last_seq:
            raise Invalid(
                f"seq: the conversation's last message is {conversation.last_seq}.",
                code="bad_seq",
            )
        moved = self._conversations.mark_read(conversation_id, session.user_id, seq)
        self._notifier.read(conversation_id, session.user_id)
        if moved and len(conversation.members) <= SIGNALS_MAX_GROUP:
            frame = {
                "type": "read",
                "conversationId": conversation_id,
                "userId": session.user_id,
                "handle": self._handle(session.user_id),
                "seq": seq,
                "timestamp": iso(self._clock.now_ms()),
            }
            self._deliver(session, conversation, frame, None)

    def sync(self, session: Session) -> int:
        """Every message the user has not read, oldest first per conversation; then a
        `synced` frame with the count (and `more` when SYNC_MAX cut it short)."""
        pending = sorted(
            (
                (conversation, last_read)
                for conversation, last_read in self._conversations.joined(session.user_id)
                if conversation.last_seq > last_read
            ),
            key=lambda pair: pair[0].last_message_ms or 0,
        )
        sent = 0
        more = False
        deliverer = self._deliverer(session.gateway)
        for conversation, last_read in pending:
            budget = SYNC_MAX - sent
            if budget <= 0:
                more = True
                break
            messages = self._conversations.unread(conversation.conversation_id, last_read, budget)
            handles = self._people.of_messages(messages)
            for message in messages:
                shown = replace(message, sender_handle=handles.get(message.sender_id))
                deliverer.send([session.connection], shown.frame())
            sent += len(messages)
            more = more or conversation.last_seq - last_read > len(messages)
        self.reply(session, {"type": "synced", "count": sent, "more": more})
        return sent

    def _handle(self, user_id: str) -> str | None:
        """A person's handle now, for a frame that names them; None for a deleted account."""
        return self._people.handles([user_id]).get(user_id)

    # ---------------------------------------------------------------- delivery
    def reply(self, session: Session, frame: dict[str, Any]) -> None:
        self._deliverer(session.gateway).send([session.connection], frame)

    def _deliverer(self, gateway: Gateway) -> Deliverer:
        return Deliverer(gateway, self._forget)

    def _forget(self, connection: Connection) -> None:
        self._connections.remove(connection)
        self._presence.leave(connection.user_id, connection.connection_id)

    def _targets(
        self, members: list[str], exclude: str | None
    ) -> tuple[list[Connection], list[str]]:
        """Live connections of `members` (but `exclude`), and the members with none."""
        by_user = self._connections.of_users(members)
        targets = [
            Connection(connection_id, user)
            for user, ids in by_user.items()
            for connection_id in ids
            if connection_id != exclude
        ]
        return targets, [member for member in members if member not in by_user]

    def _deliver(
        self,
        session: Session,
        conversation: Conversation,
        frame: dict[str, Any],
        message: Message | None,
        include_self: bool = True,
    ) -> None:
        members = [m for m in conversation.members if include_self or m != session.user_id]
        if len(members) > INLINE_MAX:
            self._enqueue(
                [
                    DeliveryJob(
                        conversation.conversation_id,
                        session.endpoint,
                        chunk,
                        session.connection.connection_id,
                        frame,
                        message,
                    )
                    for chunk in chunks(members)
                ]
            )
            return
        self.deliver_chunk(
            session.gateway, members, session.connection.connection_id, frame, message
        )

    def deliver_chunk(
        self,
        gateway: Gateway,
        members: list[str],
        exclude: str | None,
        frame: dict[str, Any],
        message: Message | None,
    ) -> None:
        """Send a frame to these members' connections; notify those offline of a message."""
        targets, offline = self._targets(members, exclude)
        self._deliverer(gateway).send(targets, frame)
        if message is not None:
            self._notify(message, offline)

    def deliver(self, job: DeliveryJob, gateway: Gateway) -> None:
        """One chunk from the delivery queue (see `_deliver`)."""
        self.deliver_chunk(gateway, job.members, job.exclude, job.frame, job.message)

    def _notify(self, message: Message, offline: list[str]) -> None:
        offline = [user for user in offline if user != message.sender_id]
        if offline:
            self._notifier.notify(message, offline)
