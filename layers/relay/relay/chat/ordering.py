"""The ordering guarantee: each message takes its conversation's next seq, durably,
with no gap and no duplicate, and a retried clientMessageId is stored once.

A message is stored in one transaction across the two tables, composed here from
the entries each store hands out:
0. ConversationsTable `advance`: META's `lastSeq` from n to n+1, on the condition
   that it is still n and the members are those the caller's copy knows;
1. ConversationsTable `sender_read`: the sender's `lastRead` becomes n+1, on the
   condition that they are a member;
2. MessagesTable `put`: the message at seq n+1;
3. ConversationsTable `claim` (when the frame had a clientMessageId): the client id,
   on the condition that it is new.
A failed transaction allocates nothing. A lost race reads the counter's current value
from the cancellation (no second read) and goes again: at once the first time (a
warm process's kept counter is often just stale), then with full-jitter back-off, so
racing senders spread out instead of colliding in step (docs/decisions.md, "seq from a
conditional transaction"). A cancelled client-id claim returns the message stored
the first time, when it is the same message (content and attachments); a client id
reused for another message is refused, not silently taken as the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from relay.chat.conversations_table import ConversationsTable
from relay.chat.messages_table import MessagesTable
from relay.chat.models import Conversation, Message
from relay.chat.rules import SEQ_ATTEMPTS, SEQ_BACKOFF_BASE_S, SEQ_BACKOFF_CAP_S
from relay.platform.dynamo import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    Backoff,
    cancellation_items,
    cancellation_reasons,
)

# Where each entry sits in the transaction (see the module's docstring).
_ADVANCE, _SENDER_READ, _CLAIM = 0, 1, 3

SEQ_BACKOFF = Backoff(base_s=SEQ_BACKOFF_BASE_S, cap_s=SEQ_BACKOFF_CAP_S)


class NotMember(Exception):
    """The sender is not a member of the conversation."""


class Missing(Exception):
    """No such conversation."""


class Reused(Exception):
    """The clientMessageId was stored before, for a message with other content."""


class Stale(Exception):
    """The members changed since the caller's copy of the conversation was read."""


class Contention(Exception):
    """Other senders kept taking the next seq; the caller may try again later."""


class Sequencer:
    def __init__(
        self,
        client: Any,
        conversations: ConversationsTable,
        messages: MessagesTable,
        backoff: Backoff = SEQ_BACKOFF,
    ) -> None:
        self._db = client
        self._conversations = conversations
        self._messages = messages
        self._backoff = backoff

    def append(
        self,
        conversation: Conversation,
        message: Callable[[int], Message],
        *,
        attempts: int = SEQ_ATTEMPTS,
    ) -> tuple[Message, bool]:
        """Store the message `message(seq)` at the conversation's next seq.

        `conversation.last_seq` may be stale (a process's kept copy). Returns (message,
        duplicate): for a client id seen before, the message stored then. Raises
        NotMember, Missing, Reused (a client id seen before, with other content), Stale
        (the members changed since `conversation` was read: read it again), or
        Contention after `attempts` lost races."""
        last_seq = conversation.last_seq
        pauses = 0
        for attempt in range(attempts):
            made = message(last_seq + 1)
            try:
                self._db.transact_write_items(
                    TransactItems=self._writes(made, last_seq, conversation.members_version)
                )
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                if reasons[_CLAIM : _CLAIM + 1] == [CONDITION_FAILED]:
                    stored = self._stored(made)
                    if stored is not None:
                        if (stored.content, stored.attachments) != (
                            made.content,
                            made.attachments,
                        ):
                            raise Reused from error
                        return stored, True
                if reasons[_SENDER_READ] == CONDITION_FAILED:
                    raise NotMember from error
                if reasons[_ADVANCE] not in (CONDITION_FAILED, TRANSACTION_CONFLICT, "None"):
                    raise
                old = cancellation_items(error)[_ADVANCE]
                if old and self._conversations.version_in(old) != conversation.members_version:
                    raise Stale from error
                # Another sender took this seq: go again from where the counter is now.
                current = self._conversations.seq_in(old)
                if current is None:
                    current = self._conversations.last_seq(conversation.conversation_id)
                if current is None:
                    raise Missing from error
                if attempt > 0 or current == last_seq:
                    self._backoff.pause(pauses)
                    pauses += 1
                last_seq = current
                continue
            return made, False
        raise Contention

    def _writes(
        self, message: Message, last_seq: int, members_version: int
    ) -> list[dict[str, Any]]:
        writes = [
            self._conversations.advance(message, last_seq, members_version),
            self._conversations.sender_read(message),
            self._messages.put(message),
        ]
        if message.client_message_id:
            writes.append(self._conversations.claim(message))
        return writes

    def _stored(self, message: Message) -> Message | None:
        """The message a retried clientMessageId stored the first time."""
        seq = self._conversations.client_seq(message)
        return None if seq is None else self._messages.get(message.conversation_id, seq)
