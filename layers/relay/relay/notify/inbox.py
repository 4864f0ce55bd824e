"""The inbox a person reads: newest first, paged with the one cursor codec, with the
count of what is unread, and marked read by id or all at once."""

from __future__ import annotations

import re

from relay.notify.models import InboxPage
from relay.notify.notifications_table import NotificationsTable
from relay.platform import cursors
from relay.platform.errors import NotFound

_ID = re.compile(r"[0-9]{13}[a-z2-7]{16}")


def _scope(user_id: str) -> str:
    return f"notifications:{user_id}"


class Inbox:
    def __init__(self, notifications: NotificationsTable) -> None:
        self._notifications = notifications

    def page(self, user_id: str, limit: int, cursor: str | None) -> InboxPage:
        after = None
        if cursor is not None:
            (after,) = cursors.decode(cursor, _scope(user_id), [cursors.text(_ID.fullmatch)])
        items, last = self._notifications.page(user_id, limit, str(after) if after else None)
        next_cursor = cursors.encode(_scope(user_id), [last]) if last else None
        return InboxPage(items, next_cursor, self._notifications.unread_count(user_id))

    def mark_read(self, user_id: str, ids: list[str] | None) -> int:
        """Mark `ids` read (None: every unread one); the unread count after. An id the
        person does not have is a 404 naming it, after the others are marked."""
        if ids is None:
            for page in self._notifications.unread_ids(user_id):
                for nid in page:
                    self._notifications.mark_read(user_id, nid)
            return self._notifications.unread_count(user_id)
        unknown = [
            nid
            for nid in dict.fromkeys(ids)
            if not _ID.fullmatch(nid) or not self._notifications.mark_read(user_id, nid)
        ]
        if unknown:
            raise NotFound(
                f"No such notification: {', '.join(unknown[:5])[:200]}",
                code="notification_not_found",
            )
        return self._notifications.unread_count(user_id)
