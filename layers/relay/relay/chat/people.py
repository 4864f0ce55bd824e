"""The chat's people: members named by handle, stored by sub, shown by handle again.

A conversation's members arrive as handles (POST /api/conversations) and are resolved
once, through accounts' directory, to the subs the chat stores: `ALICE` and `alice` are
one member, a look-alike (`bob\\u200b`, ` bob`) is a 400 and a handle nobody has a 404
naming it. What the chat shows (members, a message's sender, a frame's person) carries
the handle as it is now, looked up when shown: one BatchGetItem per response over the
distinct people it names (a large group's in parallel reads of 100), so a changed
handle shows at once and a deleted account shows a null handle. Nothing stores a
handle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from relay.accounts import directory
from relay.accounts.users_table import UsersTable
from relay.chat.delivery import pool
from relay.chat.models import ConversationView, Message
from relay.chat.rules import MAX_GROUP_MEMBERS
from relay.platform.dynamo import BATCH_GET_MAX
from relay.platform.errors import Invalid

# sub -> handle of the people a response names; a sub missing from it is a deleted account.
Handles = Mapping[str, str]


class People:
    def __init__(self, users: UsersTable | None = None) -> None:
        self._users = users

    def members(self, handles: list[str]) -> list[str]:
        """The subs of the members a client named, in order, each once."""
        # Counted before any lookup: a body naming 100,000 people costs one 400, not
        # 1,000 reads. The creator may be among them, so one more than a group holds.
        if len(set(handles)) > MAX_GROUP_MEMBERS:
            raise Invalid(
                f"members: a group has at most {MAX_GROUP_MEMBERS} members, you included.",
                code="too_many_members",
            )
        return directory.resolve_all(handles, self._users)

    def handles(self, subs: Iterable[str]) -> dict[str, str]:
        """sub -> handle for those among `subs` whose account still exists. One batch
        read; a large group's (up to 1,000 members: ten reads of BATCH_GET_MAX) are read
        at once on the delivery pool rather than one after another."""
        unique = list(dict.fromkeys(subs))
        if len(unique) <= BATCH_GET_MAX:
            return self._handles(unique)
        parts = [unique[i : i + BATCH_GET_MAX] for i in range(0, len(unique), BATCH_GET_MAX)]
        found: dict[str, str] = {}
        for part in pool().map(self._handles, parts):
            found.update(part)
        return found

    def _handles(self, subs: list[str]) -> dict[str, str]:
        return {sub: user.handle for sub, user in directory.people(subs, self._users).items()}

    def of_conversations(self, views: Iterable[ConversationView]) -> dict[str, str]:
        return self.handles(m for view in views for m in view.conversation.members)

    def of_messages(self, messages: Iterable[Message]) -> dict[str, str]:
        return self.handles(message.sender_id for message in messages)
