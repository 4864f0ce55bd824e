"""Conversations: create, list with unread counts, read history, move a member's read
mark, ask for an attachment upload, and manage a group (add, remove, leave, promote,
rename: its admins do, anyone leaves); what the HTTP API and Messaging ask of them.

A 1:1 conversation's id is derived from its two members (sorted, hashed), so
whoever creates it, and however often, it is the same conversation; a group's id is
random. Groups hold up to MAX_GROUP_MEMBERS (relay.chat.rules) members, the creator
included. A member's unread count is the conversation's last seq minus their
`lastRead` (sending counts as reading what came before).

Pages are walked with the one cursor codec (relay.platform.cursors): a conversation
list's cursor is bound to its caller, a history cursor to its conversation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import replace

from relay.chat.attachments import Attachments
from relay.chat.conversations_table import ConversationsTable
from relay.chat.messages_table import MessagesTable
from relay.chat.models import (
    DIRECT,
    GROUP,
    Conversation,
    ConversationView,
    Created,
    HistoryPage,
    MemberChange,
    Message,
    Upload,
)
from relay.chat.rules import KNOWN_MAX, MAX_ADD, MAX_GROUP_MEMBERS, MAX_NAME_CHARS, MAX_PAGE
from relay.platform import cursors
from relay.platform.clock import Clock
from relay.platform.errors import Conflict, Forbidden, Invalid, NotFound

_ID = re.compile(r"[dg][0-9a-f]{32}")
# A seq a client names (`before`): a whole number above zero, as a JSON number can hold it.
_SEQ = re.compile(r"[1-9][0-9]{0,14}")
# As relay.platform.auth accepts user ids in tokens.
_USER_ID = re.compile(r"[^\x00-\x1f\x7f]{1,128}")


def direct_id(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return "d" + hashlib.sha256(f"{first}\n{second}".encode()).hexdigest()[:32]


def _order(view: ConversationView) -> tuple[int, str]:
    c = view.conversation
    return (-(c.last_message_ms or c.created_ms), c.conversation_id)


def _list_scope(user_id: str) -> str:
    """A conversation list's cursors are the caller's: nobody else's list takes them."""
    return f"conversations:{user_id}"


def _history_scope(conversation_id: str) -> str:
    return f"history:{conversation_id}"


def _after(cursor: str, user_id: str) -> tuple[int, str]:
    """The position (as `_order` sorts) a conversation list's cursor names."""
    activity_ms, conversation_id = cursors.decode(
        cursor, _list_scope(user_id), [cursors.whole(), cursors.text(_ID.fullmatch)]
    )
    return (-int(activity_ms), str(conversation_id))


def _before(before: str, conversation_id: str) -> int:
    """`before` as a seq: a seq as such, or a cursor this conversation's history gave."""
    if _SEQ.fullmatch(before):
        return int(before)
    (seq,) = cursors.decode(before, _history_scope(conversation_id), [cursors.whole(2)])
    return int(seq)


class Conversations:
    def __init__(
        self,
        table: ConversationsTable,
        messages: MessagesTable,
        attachments: Attachments | None,
        clock: Clock,
    ) -> None:
        self._table = table
        self._messages = messages
        self._attachments = attachments
        self._clock = clock
        self._known: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, caller: str, members: list[str], name: str | None) -> Created:
        others = list(dict.fromkeys(m for m in members if m != caller))
        for member in others:
            if not _USER_ID.fullmatch(member):
                raise Invalid(f"members: {member[:40]!r} is not a user id.")
        if not others:
            raise Invalid("members: name at least one user besides yourself.")
        if name is not None and not 1 <= len(name.strip()) <= MAX_NAME_CHARS:
            raise Invalid(f"name: 1 to {MAX_NAME_CHARS} characters.")
        everyone = [caller, *others]
        if len(everyone) > MAX_GROUP_MEMBERS:
            raise Invalid(
                f"members: a group has at most {MAX_GROUP_MEMBERS} members, you included"
                f" ({len(everyone)} asked).",
                code="too_many_members",
            )
        now = self._clock.now_ms()
        if len(others) == 1 and name is None:
            conversation_id = direct_id(caller, others[0])
            kind = DIRECT
            everyone = sorted(everyone)
        else:
            conversation_id = "g" + secrets.token_hex(16)
            kind = GROUP
        conversation = Conversation(
            conversation_id,
            kind,
            name.strip() if name else None,
            tuple(everyone),
            0,
            None,
            now,
            admins=(caller,) if kind == GROUP else (),
        )
        created = self._table.create(conversation)
        if not created:
            existing = self._table.get(conversation_id)
            if existing is None:  # pragma: no cover - a direct id is never deleted
                raise NotFound("No such conversation.")
            return Created(self.view(existing, caller), created=False)
        return Created(ConversationView(conversation, unread=0), created=True)

    # ---------------------------------------------------------------- management
    def detail(self, user_id: str, conversation_id: str) -> ConversationView:
        """The conversation as it is now (members, admins, name), for a member."""
        conversation = self.require_member(conversation_id, user_id, fresh=True)
        return self.view(conversation, user_id)

    def add_members(self, caller: str, conversation_id: str, subs: list[str]) -> MemberChange:
        """Admins add people to a group; those already in it are no change."""
        before = self._managed(caller, conversation_id)
        added = [sub for sub in dict.fromkeys(subs) if sub not in before.members]
        if len(added) > MAX_ADD:
            raise Invalid(f"members: at most {MAX_ADD} at once.", code="too_many_members")
        if len(before.members) + len(added) > MAX_GROUP_MEMBERS:
            raise Invalid(
                f"members: a group has at most {MAX_GROUP_MEMBERS} members.",
                code="too_many_members",
            )
        after = replace(
            before,
            members=(*before.members, *added),
            members_version=before.members_version + 1,
        )
        return self._change(before, after, added, [])

    def remove_member(self, caller: str, conversation_id: str, sub: str) -> MemberChange:
        """Anyone leaves; admins remove others. A group its last admin leaves gets its
        longest-standing member as admin, so someone can still manage it."""
        before = self.require_member(conversation_id, caller, fresh=True)
        if sub != caller:
            before = self._managed(caller, conversation_id, before)
        elif before.kind == DIRECT:
            raise Invalid(
                "A 1:1 conversation has no members to leave or remove; start a group.",
                code="direct_conversation",
            )
        if sub not in before.members:
            raise NotFound("They are not a member of this conversation.", code="not_a_member")
        members = tuple(m for m in before.members if m != sub)
        admins = tuple(a for a in before.admins if a != sub) or members[:1]
        after = replace(
            before, members=members, admins=admins, members_version=before.members_version + 1
        )
        return self._change(before, after, [], [sub])

    def promote(self, caller: str, conversation_id: str, sub: str) -> MemberChange:
        """Admins make another member an admin."""
        before = self._managed(caller, conversation_id)
        if sub not in before.members:
            raise NotFound("They are not a member of this conversation.", code="not_a_member")
        if sub in before.admins:
            return MemberChange(before, before, [], [])
        after = replace(
            before, admins=(*before.admins, sub), members_version=before.members_version + 1
        )
        return self._change(before, after, [], [])

    def rename(self, caller: str, conversation_id: str, name: str | None) -> Conversation:
        """Admins name a group (None: no name)."""
        before = self._managed(caller, conversation_id)
        if name is not None and not 1 <= len(name.strip()) <= MAX_NAME_CHARS:
            raise Invalid(f"name: 1 to {MAX_NAME_CHARS} characters.")
        shown = name.strip() if name else None
        self._table.rename(conversation_id, shown)
        after = replace(before, name=shown)
        self.remember(after)
        return after

    def _managed(
        self, caller: str, conversation_id: str, current: Conversation | None = None
    ) -> Conversation:
        """The group, read now, when the caller is one of its admins."""
        conversation = current or self.require_member(conversation_id, caller, fresh=True)
        if conversation.kind == DIRECT:
            raise Invalid(
                "A 1:1 conversation's members and name do not change; start a group.",
                code="direct_conversation",
            )
        if caller not in conversation.admins:
            raise Forbidden("Only the group's admins may do that.", code="not_an_admin")
        return conversation

    def _change(
        self, before: Conversation, after: Conversation, added: list[str], removed: list[str]
    ) -> MemberChange:
        if not self._table.change_members(before, after, added, removed):
            raise Conflict(
                "The group's members changed meanwhile; read it again and retry.",
                code="members_changed",
            )
        self.remember(after)
        return MemberChange(before, after, added, removed)

    def view(self, conversation: Conversation, user_id: str) -> ConversationView:
        membership = self._table.membership(conversation.conversation_id, user_id)
        last_read = membership.last_read if membership else conversation.last_seq
        return ConversationView(conversation, max(0, conversation.last_seq - last_read))

    def mine(
        self, user_id: str, limit: int = MAX_PAGE, cursor: str | None = None
    ) -> tuple[list[ConversationView], str | None]:
        """A page of the user's conversations, newest activity first, with unread counts,
        and the cursor of the next page (None at the end). A cursor names the position
        (activity, id) after which the next page starts, so a page is never repeated."""
        after = _after(cursor, user_id) if cursor is not None else None
        views = [
            ConversationView(conversation, max(0, conversation.last_seq - last_read))
            for conversation, last_read in self.joined(user_id)
        ]
        views.sort(key=_order)
        if after is not None:
            views = [view for view in views if _order(view) > after]
        page = views[: min(limit, MAX_PAGE)]
        more = len(views) > len(page)
        if not (more and page):
            return page, None
        activity, conversation_id = _order(page[-1])
        return page, cursors.encode(_list_scope(user_id), [-activity, conversation_id])

    def joined(self, user_id: str) -> list[tuple[Conversation, int]]:
        """Every conversation the user is in, with their lastRead."""
        memberships = self._table.memberships(user_id)
        found = self._table.get_many(m.conversation_id for m in memberships)
        return [
            (found[m.conversation_id], m.last_read)
            for m in memberships
            if m.conversation_id in found
        ]

    def require_member(
        self, conversation_id: str, user_id: str, *, fresh: bool = False
    ) -> Conversation:
        """The conversation, when the user is in it: NotFound or Forbidden otherwise.

        A warm process answers from its copy (`last_seq` there is only a hint, which the
        seq transaction corrects, and so is the member list: the transaction checks its
        `members_version`, relay.chat.ordering); `fresh` reads the table."""
        conversation = None if fresh else self._known.get(conversation_id)
        if conversation is None and _ID.fullmatch(conversation_id):
            conversation = self._table.get(conversation_id)
            if conversation is not None:
                self.remember(conversation)
        if conversation is None:
            raise NotFound("No such conversation.", code="unknown_conversation")
        if user_id not in conversation.members:
            raise Forbidden("You are not a member of this conversation.", code="not_a_member")
        return conversation

    def remember(self, conversation: Conversation) -> None:
        with self._lock:
            self._known[conversation.conversation_id] = conversation
            self._known.move_to_end(conversation.conversation_id)
            while len(self._known) > KNOWN_MAX:
                self._known.popitem(last=False)

    def history(
        self, user_id: str, conversation_id: str, before: str | None, limit: int
    ) -> HistoryPage:
        """A page of history below `before` (a seq, or the cursor of the page after it),
        oldest first, and the cursor of the page before it (None at the start)."""
        self.require_member(conversation_id, user_id)
        below = _before(before, conversation_id) if before is not None else None
        items = self._messages.history(conversation_id, below, min(limit, MAX_PAGE))
        more = bool(items) and items[0].seq > 1 and len(items) == min(limit, MAX_PAGE)
        if not more:
            return HistoryPage(items, None)
        return HistoryPage(items, cursors.encode(_history_scope(conversation_id), [items[0].seq]))

    def mark_read(self, conversation_id: str, user_id: str, seq: int) -> bool:
        """Move the member's lastRead up to seq; False when it was there already."""
        return self._table.mark_read(conversation_id, user_id, seq)

    def unread(self, conversation_id: str, last_read: int, limit: int) -> list[Message]:
        """Up to `limit` messages above `last_read`, oldest first."""
        return self._messages.after(conversation_id, last_read, limit)

    def upload(self, user_id: str, conversation_id: str, content_type: str, size: int) -> Upload:
        self.require_member(conversation_id, user_id)
        if self._attachments is None:  # pragma: no cover - the template always sets a bucket
            raise NotFound("Attachments are not configured.")
        return self._attachments.upload(conversation_id, content_type, size)
