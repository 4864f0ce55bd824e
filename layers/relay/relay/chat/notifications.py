"""Push notifications for members who were offline when a message arrived.

A busy conversation must not send one push per message: a member is notified about
a conversation at most once per window of PUSH_WINDOW_MS (windows follow the clock),
tracked in Redis with one `SET NX PX` per member and window (pipelined, one round
trip for a whole chunk); reading the conversation opens the window again. The members
due a notification are published together, one SNS message per conversation
event, for whatever sends pushes (a mobile push platform, email) to subscribe. When
Redis is down nobody's window is known, so everyone offline is notified: a
duplicate push is better than a lost one.
"""

from __future__ import annotations

import json
from typing import Any

from relay.chat.models import Message
from relay.chat.rules import PREVIEW_CHARS, PUSH_WINDOW_MS
from relay.platform.cache import RedisGate
from relay.platform.clock import Clock


def _key(conversation_id: str, user_id: str) -> str:
    return f"chat:push:{conversation_id}:{user_id}"


class Notifier:
    def __init__(self, sns: Any, topic_arn: str, redis: Any, gate: RedisGate, clock: Clock) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._redis = redis
        self._gate = gate
        self._clock = clock

    def due(self, conversation_id: str, users: list[str]) -> list[str]:
        """Those of `users` not notified about this conversation within the window."""
        if not users:
            return []

        window = self._clock.now_ms() // PUSH_WINDOW_MS

        def run() -> list[str]:
            pipe = self._redis.pipeline(transaction=False)
            for user in users:
                # The key holds the window it was set in: a later window replaces it.
                pipe.set(_key(conversation_id, user), window, px=2 * PUSH_WINDOW_MS, get=True)
            before = pipe.execute()
            return [
                user
                for user, previous in zip(users, before, strict=True)
                if previous is None or int(previous) != window
            ]

        answer = self._gate.attempt(run)
        return users if answer is None else answer

    def notify(self, message: Message, offline: list[str]) -> list[str]:
        """Publish one notification for the members of `offline` that are due one."""
        recipients = self.due(message.conversation_id, offline)
        if recipients and self._topic_arn:
            self._sns.publish(
                TopicArn=self._topic_arn,
                Message=json.dumps(
                    {
                        "conversationId": message.conversation_id,
                        "messageId": message.message_id,
                        "seq": message.seq,
                        "senderId": message.sender_id,
                        "senderHandle": message.sender_handle,
                        "preview": message.content[:PREVIEW_CHARS],
                        "recipients": recipients,
                    }
                ),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "chat-message"}},
            )
        return recipients

    def read(self, conversation_id: str, user_id: str) -> None:
        """The member caught up: the next message may notify them again."""
        self._gate.attempt(lambda: self._redis.delete(_key(conversation_id, user_id)))
