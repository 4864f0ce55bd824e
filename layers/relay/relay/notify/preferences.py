"""Preferences: per category and channel, how a person wants to hear of things, and
when not to be disturbed.

- `channels[category][channel]`: `off`, `immediate`, `hourly` or `daily` (a digest).
  Unset, in-app is immediate and every other channel off: nobody is emailed or
  texted without asking for it.
- `quietHours` (`{"start": "22:00", "end": "07:00"}`, in the person's `timeZone`, an
  IANA name): what arrives then is deferred to the window's end, never dropped; a
  `critical` event goes through.
- A channel the person has not set up (email without an address, SMS without a
  verified number, push without a device) is skipped and the skip recorded in the
  delivery log, never failed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relay.notify.rules import CATEGORIES, CHANNELS, IN_APP
from relay.platform.errors import Invalid

MODES = ("off", "immediate", "hourly", "daily")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
DEFAULT_TIME_ZONE = "UTC"


def _minutes(text: str, name: str) -> int:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise Invalid(
            f"quietHours.{name}: a time of day, HH:MM (24 h).", code="invalid_preferences"
        )
    return int(match[1]) * 60 + int(match[2])


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; 400 for anything else."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or ".." in name:
        raise Invalid(
            "timeZone: an IANA time zone, such as Europe/Paris.", code="invalid_preferences"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise Invalid(
            "timeZone: an IANA time zone, such as Europe/Paris.", code="invalid_preferences"
        ) from error


@dataclass(frozen=True)
class QuietHours:
    start: str
    end: str

    def __post_init__(self) -> None:
        if _minutes(self.start, "start") == _minutes(self.end, "end"):
            raise Invalid("quietHours: start and end differ.", code="invalid_preferences")

    def until_ms(self, now_ms: int, time_zone: str) -> int | None:
        """When the quiet window around `now_ms` ends (ms), or None when it is not quiet."""
        tz = ZoneInfo(time_zone)
        local = dt.datetime.fromtimestamp(now_ms / 1000, tz)
        now = local.hour * 60 + local.minute
        start, end = _minutes(self.start, "start"), _minutes(self.end, "end")
        quiet = start <= now < end if start < end else (now >= start or now < end)
        if not quiet:
            return None
        day = local.date() if now < end else local.date() + dt.timedelta(days=1)
        ends = dt.datetime.combine(day, dt.time(end // 60, end % 60), tz)
        return int(ends.timestamp() * 1000)


@dataclass(frozen=True)
class Preferences:
    channels: dict[str, dict[str, str]] = field(default_factory=dict)
    time_zone: str = DEFAULT_TIME_ZONE
    quiet_hours: QuietHours | None = None

    def mode(self, category: str, channel: str) -> str:
        chosen = self.channels.get(category, {}).get(channel)
        if chosen is not None:
            return chosen
        return "immediate" if channel == IN_APP else "off"

    def everything(self) -> dict[str, dict[str, str]]:
        """Every category and channel with its mode, defaults filled in."""
        return {c: {ch: self.mode(c, ch) for ch in CHANNELS} for c in CATEGORIES}

    @classmethod
    def checked(
        cls,
        channels: dict[str, dict[str, str]],
        time_zone: str,
        quiet_hours: QuietHours | None,
    ) -> Preferences:
        for category, modes in channels.items():
            if category not in CATEGORIES:
                raise Invalid(
                    f"channels: categories are {', '.join(CATEGORIES)}.", code="invalid_preferences"
                )
            for channel, mode in modes.items():
                if channel not in CHANNELS or mode not in MODES:
                    raise Invalid(
                        f"channels.{category}: channels are {', '.join(CHANNELS)}, each "
                        f"{', '.join(MODES)}.",
                        code="invalid_preferences",
                    )
        zone(time_zone)
        return cls({c: dict(m) for c, m in channels.items()}, time_zone, quiet_hours)
