"""Notifications: what Relay tells people about what others did, in-app and beyond.

Producers put one event shape (relay.notify.models.NotificationEvent, documented in
docs/architecture.md) on one durable bus, the NotificationQueue; the Notify function
routes each event per recipient and channel (preferences, quiet hours, batching) and
delivers it exactly once per event, recipient and channel (docs/decisions.md,
"Notifications").
"""
