"""The HTTP shapes of notifications (pydantic), from which docs/openapi.json is made;
the `notification` frame carries the same NotificationOut."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from relay.notify.models import Notification
from relay.notify.preferences import Preferences
from relay.notify.rules import MAX_READ_IDS
from relay.notify.texts import render
from relay.platform.clock import iso
from relay.platform.schemas import Camel, CamelBody

# The actors a notification names by handle; `count` says how many there were.
SHOWN_ACTORS = 3


class ActorOut(Camel):
    user_id: str
    handle: str | None = Field(description="Their handle now; null once the account is deleted.")


class NotificationOut(Camel):
    notification_id: str
    category: str
    actors: list[ActorOut] = Field(description="The latest actor first, at most three.")
    count: int = Field(description="How many people (or events) it covers.")
    subject: str = Field(
        description="What it is about, `<kind>:<id>` (post:..., conversation:...)."
    )
    text: str = Field(description='For a person: "alice and 12 others liked your post".')
    created_at: str
    updated_at: str
    read: bool
    critical: bool

    @classmethod
    def of(cls, notification: Notification, handles: Mapping[str, str]) -> NotificationOut:
        return cls(
            notification_id=notification.notification_id,
            category=notification.category,
            actors=[
                ActorOut(user_id=a, handle=handles.get(a))
                for a in notification.actors[:SHOWN_ACTORS]
            ],
            count=notification.count,
            subject=notification.subject,
            text=render(notification, handles),
            created_at=iso(notification.created_ms),
            updated_at=iso(notification.updated_ms),
            read=notification.read,
            critical=notification.critical,
        )


class NotificationPage(Camel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int = Field(description="Unread notifications in the whole inbox.")


class ReadBody(CamelBody):
    notification_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_READ_IDS,
        description="The notifications to mark read; absent, every one.",
    )


class UnreadOut(Camel):
    unread: int


class QuietHoursBody(CamelBody):
    start: str = Field(description="HH:MM, in the time zone", examples=["22:00"])
    end: str = Field(description="HH:MM, in the time zone", examples=["07:00"])


class PreferencesBody(CamelBody):
    channels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description=(
            "category -> channel (inApp, email, sms, push) -> off, immediate, hourly or "
            "daily; unset: in-app immediate, the others off."
        ),
        examples=[{"like": {"inApp": "immediate", "email": "daily"}}],
    )
    time_zone: str = Field(default="UTC", description="An IANA time zone.")
    quiet_hours: QuietHoursBody | None = None


class PreferencesOut(Camel):
    channels: dict[str, dict[str, str]]
    time_zone: str
    quiet_hours: QuietHoursBody | None

    @classmethod
    def of(cls, preferences: Preferences) -> PreferencesOut:
        quiet = preferences.quiet_hours
        return cls(
            channels=preferences.everything(),
            time_zone=preferences.time_zone,
            quiet_hours=QuietHoursBody(start=quiet.start, end=quiet.end) if quiet else None,
        )
