"""Quiet hours in the recipient's own time zone, across midnight and DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from relay.notify.preferences import Preferences, QuietHours
from relay.platform.errors import Invalid


def _ms(local: str, zone: str) -> int:
    return int(dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def _local(ms: int, zone: str) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).isoformat()


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("2026-11-20T23:30:00", "2026-11-21T07:00:00+01:00"),  # before midnight
        ("2026-11-21T03:00:00", "2026-11-21T07:00:00+01:00"),  # after it
        ("2026-03-29T01:30:00", "2026-03-29T07:00:00+02:00"),  # the night clocks go forward
        ("2026-10-25T02:30:00", "2026-10-25T07:00:00+01:00"),  # the night they go back
    ],
)
def test_a_quiet_window_over_midnight_ends_at_the_local_end_time(now, until):
    quiet = QuietHours("22:00", "07:00")

    assert _local(quiet.until_ms(_ms(now, "Europe/Paris"), "Europe/Paris"), "Europe/Paris") == until


@pytest.mark.parametrize(
    "now", ["2026-11-20T07:00:00", "2026-11-20T12:00:00", "2026-11-20T21:59:00"]
)
def test_outside_the_window_nothing_waits(now):
    assert QuietHours("22:00", "07:00").until_ms(_ms(now, "Europe/Paris"), "Europe/Paris") is None


def test_a_daytime_window_in_another_zone():
    quiet = QuietHours("09:00", "17:00")
    now = _ms("2026-11-20T10:00:00", "Asia/Tokyo")

    assert _local(quiet.until_ms(now, "Asia/Tokyo"), "Asia/Tokyo") == "2026-11-20T17:00:00+09:00"


def test_unset_preferences_are_in_app_only():
    prefs = Preferences()

    assert prefs.mode("like", "inApp") == "immediate"
    assert {prefs.mode("like", c) for c in ("email", "sms", "push")} == {"off"}


def test_a_time_zone_that_is_not_iana_is_refused():
    with pytest.raises(Invalid):
        Preferences.checked({}, "Not/AZone", None)
