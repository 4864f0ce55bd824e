"""Notifications: GET /api/notifications, POST /api/notifications/read and
GET|PUT /api/me/notification-preferences."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.notify.preferences import Preferences, QuietHours
from relay.notify.rules import DEFAULT_PAGE, MAX_PAGE
from relay.notify.schemas import (
    NotificationOut,
    NotificationPage,
    PreferencesBody,
    PreferencesOut,
    ReadBody,
    UnreadOut,
)
from relay.notify.service import handles, inbox, preferences_table
from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.schemas import error_responses

app = make_resolver()


@app.get(
    "/api/notifications",
    summary="The caller's notifications, newest first, with the unread count",
    responses=error_responses(400, 401),
)
def notifications(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query()] = None,
) -> NotificationPage:
    page = inbox().page(caller(app).require_user(), limit, cursor)
    shown = handles(page.items)
    return NotificationPage(
        items=[NotificationOut.of(n, shown) for n in page.items],
        next_cursor=page.next_cursor,
        unread=page.unread,
    )


@app.post(
    "/api/notifications/read",
    summary="Mark notifications read: those named, or all",
    responses=error_responses(400, 401, 404),
)
def mark_read(body: ReadBody) -> UnreadOut:
    return UnreadOut(unread=inbox().mark_read(caller(app).require_user(), body.notification_ids))


@app.get(
    "/api/me/notification-preferences",
    summary="The caller's notification preferences, defaults filled in",
    responses=error_responses(401),
)
def preferences() -> PreferencesOut:
    return PreferencesOut.of(preferences_table().get(caller(app).require_user()))


@app.put(
    "/api/me/notification-preferences",
    summary="Replace the caller's notification preferences",
    responses=error_responses(400, 401),
)
def set_preferences(body: PreferencesBody) -> PreferencesOut:
    quiet = body.quiet_hours
    chosen = Preferences.checked(
        body.channels,
        body.time_zone,
        QuietHours(quiet.start, quiet.end) if quiet is not None else None,
    )
    preferences_table().put(caller(app).require_user(), chosen)
    return PreferencesOut.of(chosen)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
