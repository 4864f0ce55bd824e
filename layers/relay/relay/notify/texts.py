"""What a notification says to a person, made when it is shown, from handles read then.

"alice liked your post", "alice and 12 others liked your post": a changed handle
shows at once, a deleted account shows as "someone".
"""

from __future__ import annotations

from collections.abc import Mapping

from relay.notify.models import Notification

_VERBS = {
    "like": "liked your post",
    "comment": "commented on your post",
    "share": "shared your post",
    "follow": "followed you",
    "mention": "mentioned you",
    "message": "sent you a message",
}


def render(notification: Notification, handles: Mapping[str, str]) -> str:
    if notification.category == "broadcast":
        return notification.text
    verb = _VERBS.get(notification.category, "did something")
    first = handles.get(notification.actors[0], "someone") if notification.actors else "someone"
    others = notification.count - 1
    who = first if others <= 0 else f"{first} and {others} other{'s' if others > 1 else ''}"
    said = f"{who} {verb}"
    return f"{said}: {notification.text}" if notification.text else said
