"""EventBridge and EventBridge Scheduler schedule expressions, read the way AWS
reads them, so the local schedule runner fires a function when the cloud would:
`rate(value unit)` every period from creation (or the Scheduler's StartDate),
`cron(minutes hours day-of-month month day-of-week year)` with AWS's wildcards
(`, - * / ? L W #`, 1 = SUN in day-of-week, years 1970-2199) evaluated on the
wall clock of the schedule's time zone, and the Scheduler's one-time
`at(yyyy-mm-ddThh:mm:ss)`. Daylight saving follows the Scheduler user guide: a
wall time skipped by the spring-forward does not fire, and a wall time repeated
by the fall-back fires once, at its first occurrence. `rate` counts fixed
periods (a day is 24 hours, across DST too) and `at` ignores StartDate and
EndDate, both as documented. A cron is searched field by field (year, month,
day, then minutes), so a leap-day or never-matching cron answers in
milliseconds; one that cannot fire before 2200 is accepted and simply never
fires (`next_after` returns None), since AWS checks the syntax, not the calendar.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import product
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FIRST_YEAR = 1970
_LAST_YEAR = 2199
# Past this instant every time zone's wall clock is in 2200, beyond the last cron year.
_AFTER_LAST_YEAR = datetime(_LAST_YEAR + 1, 1, 2, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_JUST_BEFORE = timedelta(microseconds=1)

_EXPRESSION = re.compile(r"(rate|cron|at)\((.*)\)", re.DOTALL)
_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", re.ASCII)
_NUMBER = re.compile(r"\d+", re.ASCII)
_RATE_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


class ScheduleError(ValueError):
    """A schedule expression (or its time zone or dates) that AWS would refuse."""


class _Timing(Protocol):
    def first_after(self, after: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class Schedule:
    """When one template schedule fires; made by `parse_schedule`."""

    expression: str
    _timing: _Timing = field(repr=False)
    _start: datetime | None = field(default=None, repr=False)
    _end: datetime | None = field(default=None, repr=False)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (aware, any zone), in UTC;
        None when the schedule never fires again."""
        after = _as_utc(moment, "moment")
        if self._start is not None:
            # StartDate is inclusive: a firing exactly at the start counts.
            after = max(after, self._start - _JUST_BEFORE)
        firing = self._timing.first_after(after)
        if firing is None or (self._end is not None and firing > self._end):
            return None
        return firing


def parse_schedule(
    expression: str,
    timezone: str = "UTC",
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    created: datetime | None = None,
) -> Schedule:
    """Read a ScheduleExpression; raise ScheduleError naming what AWS would refuse.

    `timezone` is the Scheduler's ScheduleExpressionTimezone (EventBridge rules
    are always UTC); `start` and `end` its StartDate and EndDate, both
    inclusive; `created` anchors a rate without a start (default: now). The
    datetimes must be timezone-aware (a naive one raises ValueError).
    """
    match = _EXPRESSION.fullmatch(expression)
    if match is None:
        raise ScheduleError(
            f"{expression!r} is not a schedule expression; expected rate(...), cron(...) or at(...)"
        )
    kind, body = match.groups()
    start_utc = None if start is None else _as_utc(start, "start")
    end_utc = None if end is None else _as_utc(end, "end")
    try:
        zone = _zone(timezone)
        if kind == "at":
            # The Scheduler ignores StartDate and EndDate for one-time schedules.
            return Schedule(expression, _At(_at_instant(body, zone)))
        if start_utc is not None and end_utc is not None and start_utc > end_utc:
            raise ScheduleError(f"start {start_utc.isoformat()} is after end {end_utc.isoformat()}")
        timing: _Timing
        if kind == "rate":
            anchor = start_utc or _as_utc(created or datetime.now(UTC), "created")
            timing = _Rate(_rate_period(body), anchor)
        else:
            timing = _parse_cron(body, zone)
    except ScheduleError as error:
        raise ScheduleError(f"{expression}: {error}") from None
    return Schedule(expression, timing, start_utc, end_utc)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{name!r} is not an IANA time zone") from None


def _wall_instant(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant a wall-clock time names; None when the spring-forward skips it.

    fold=0 picks the first of a fall-back's two occurrences, which is the one
    the Scheduler fires at."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


# rate(value unit)


@dataclass(frozen=True)
class _Rate:
    period: timedelta
    anchor: datetime

    def first_after(self, after: datetime) -> datetime | None:
        if after < self.anchor:
            return self.anchor
        return self.anchor + ((after - self.anchor) // self.period + 1) * self.period


def _rate_period(body: str) -> timedelta:
    parts = body.split()
    if len(parts) != 2:
        raise ScheduleError("expected rate(value unit), e.g. rate(5 minutes)")
    value_text, unit = parts
    if not _NUMBER.fullmatch(value_text) or int(value_text) == 0:
        raise ScheduleError(f"the value {value_text!r} must be a positive integer")
    value = int(value_text)
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise ScheduleError(f"the unit {unit!r} must be minute(s), hour(s) or day(s)")
    # AWS refuses rate(1 minutes) and rate(5 minute).
    if value == 1 and unit != singular:
        raise ScheduleError(f"a value of 1 takes the singular unit {singular!r}")
    if value > 1 and unit == singular:
        raise ScheduleError(f"a value above 1 takes the plural unit '{singular}s'")
    return value * _RATE_UNITS[singular]


# at(yyyy-mm-ddThh:mm:ss)


@dataclass(frozen=True)
class _At:
    instant: datetime | None

    def first_after(self, after: datetime) -> datetime | None:
        if self.instant is None or self.instant <= after:
            return None
        return self.instant


def _at_instant(body: str, zone: ZoneInfo) -> datetime | None:
    match = _AT.fullmatch(body)
    if match is None:
        raise ScheduleError("expected at(yyyy-mm-ddThh:mm:ss)")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ScheduleError(f"{body} is not a date and time") from None
    # A wall time the spring-forward skips never fires, as the Scheduler
    # documents for cron; it is not refused, since AWS accepts it.
    return _wall_instant(wall, zone)


# cron(minutes hours day-of-month month day-of-week year)


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    increments: bool = True
    # Ranges wrap past the end (hours 20-2 is 20..23,0..2), as AWS's own example does.
    wraps: bool = True

    @property
    def size(self) -> int:
        return self.high - self.low + 1


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DAY_OF_MONTH = _Field("day-of-month", 1, 31)
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH = _Field("month", 1, 12, _MONTH_NAMES)
_DAY_OF_WEEK_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAY_OF_WEEK = _Field("day-of-week", 1, 7, _DAY_OF_WEEK_NAMES, increments=False)
_YEAR = _Field("year", _FIRST_YEAR, _LAST_YEAR, wraps=False)


class _DayRule(Protocol):
    def days_in(self, year: int, month: int) -> list[int]:
        """The matching days of the month, ascending."""
        ...


@dataclass(frozen=True)
class _Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: _DayRule
    months: tuple[int, ...]
    years: tuple[int, ...]
    zone: ZoneInfo

    def first_after(self, after: datetime) -> datetime | None:
        if after >= _AFTER_LAST_YEAR:
            return None
        local = after.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)
        # Wall times map to instants in order, so the first that exists and
        # lies after `after` is the answer; in a fall-back's repeated hour the
        # wall times already fired an hour ago are passed over here.
        for wall in self._walls_from(local + _MINUTE):
            instant = _wall_instant(wall, self.zone)
            if instant is not None and instant > after:
                return instant
        return None

    def _walls_from(self, start: datetime) -> Iterator[datetime]:
        """Matching wall-clock minutes from `start` on, in order; a year, month
        or day that cannot match is passed over whole."""
        for year in self.years:
            if year < start.year:
                continue
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                for day in self.days.days_in(year, month):
                    if date(year, month, day) < start.date():
                        continue
                    for hour, minute in product(self.hours, self.minutes):
                        wall = datetime(year, month, day, hour, minute)
                        if wall >= start:
                            yield wall


def _parse_cron(body: str, zone: ZoneInfo) -> _Cron:
    fields = body.upper().split()
    if len(fields) != 6:
        raise ScheduleError(
            "expected 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if day_of_month == "?" and day_of_week == "?":
        raise ScheduleError("day-of-month and day-of-week cannot both be ?; set one of them")
    if day_of_month != "?" and day_of_week != "?":
        raise ScheduleError("day-of-month and day-of-week cannot both be set; use ? in one")
    return _Cron(
        minutes=_values(_MINUTES, minutes),
        hours=_values(_HOURS, hours),
        days=_day_of_week(day_of_week) if day_of_month == "?" else _day_of_month(day_of_month),
        months=_values(_MONTH, month),
        years=_values(_YEAR, year),
        zone=zone,
    )


def _values(spec: _Field, text: str) -> tuple[int, ...]:
    """A field of `,` lists, `-` ranges, `/` increments and `*`, as sorted values."""
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item_values(spec, item))
    return tuple(sorted(values))


def _item_values(spec: _Field, item: str) -> list[int]:
    base, slash, step_text = item.partition("/")
    if slash and not spec.increments:
        raise ScheduleError(f"{spec.name} does not take / increments")
    step = _step(spec, step_text) if slash else 1
    if base == "*":
        first, last = spec.low, spec.high
    elif "-" in base:
        first_text, _, last_text = base.partition("-")
        first, last = _value(spec, first_text), _value(spec, last_text)
        if first > last and not spec.wraps:
            raise ScheduleError(f"{spec.name} range {base!r} runs backwards")
    else:
        first = _value(spec, base)
        # "5/15" means from 5 to the end of the field, every 15.
        last = spec.high if slash else first
    span = (last - first) % spec.size
    return [
        spec.low + (first - spec.low + offset) % spec.size for offset in range(0, span + 1, step)
    ]


def _step(spec: _Field, text: str) -> int:
    if not _NUMBER.fullmatch(text) or int(text) == 0:
        raise ScheduleError(f"{spec.name} increment {text!r} must be a positive integer")
    return int(text)


def _value(spec: _Field, text: str) -> int:
    if text in spec.names:
        return spec.low + spec.names.index(text)
    if not _NUMBER.fullmatch(text):
        raise ScheduleError(f"{spec.name} value {text!r} is not a number or a name")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ScheduleError(f"{spec.name} value {value} is outside {spec.low}-{spec.high}")
    return value


def _day_of_month(text: str) -> _DayRule:
    if text == "L":
        return _LastDayOfMonth(weekday_only=False)
    if text == "LW":
        return _LastDayOfMonth(weekday_only=True)
    if "L" in text or "W" in text:
        nearest = re.fullmatch(r"(\d+)W", text, re.ASCII)
        if nearest is None:
            raise ScheduleError(f"day-of-month {text!r}: L, LW and nW stand alone, e.g. 15W")
        return _NearestWeekday(_value(_DAY_OF_MONTH, nearest.group(1)))
    return _DaysOfMonth(frozenset(_values(_DAY_OF_MONTH, text)))


def _day_of_week(text: str) -> _DayRule:
    if text == "L":
        # Alone, L is the last day of the week: Saturday.
        return _DaysOfWeek(frozenset({calendar.SATURDAY}))
    if "L" in text or "#" in text:
        if any(mark in text for mark in ",-/*"):
            raise ScheduleError(f"day-of-week {text!r}: L and # take a single day, e.g. 5L or 3#2")
        if text.endswith("L"):
            return _LastWeekdayOfMonth(_weekday(text.removesuffix("L")))
        day_text, _, nth_text = text.partition("#")
        if not _NUMBER.fullmatch(nth_text) or not 1 <= int(nth_text) <= 5:
            raise ScheduleError(f"day-of-week {text!r}: the number after # must be 1-5")
        return _NthWeekdayOfMonth(_weekday(day_text), int(nth_text))
    return _DaysOfWeek(frozenset(_weekday_of(value) for value in _values(_DAY_OF_WEEK, text)))


def _weekday(text: str) -> int:
    return _weekday_of(_value(_DAY_OF_WEEK, text))


def _weekday_of(aws_day: int) -> int:
    """AWS counts 1 = SUN .. 7 = SAT; Python's calendar counts 0 = MON .. 6 = SUN."""
    return (aws_day + 5) % 7


@dataclass(frozen=True)
class _DaysOfMonth:
    days: frozenset[int]

    def days_in(self, year: int, month: int) -> list[int]:
        length = calendar.monthrange(year, month)[1]
        return sorted(day for day in self.days if day <= length)


@dataclass(frozen=True)
class _LastDayOfMonth:
    weekday_only: bool

    def days_in(self, year: int, month: int) -> list[int]:
        last = calendar.monthrange(year, month)[1]
        if not self.weekday_only:
            return [last]
        # Back from a Saturday (5) by one day, from a Sunday (6) by two.
        return [last - max(0, calendar.weekday(year, month, last) - calendar.FRIDAY)]


@dataclass(frozen=True)
class _NearestWeekday:
    """`15W`: the weekday nearest the 15th, never crossing into another month;
    a day the month lacks (31W in April) does not fire, like a plain 31."""

    day: int

    def days_in(self, year: int, month: int) -> list[int]:
        length = calendar.monthrange(year, month)[1]
        if self.day > length:
            return []
        weekday = calendar.weekday(year, month, self.day)
        if weekday == calendar.SATURDAY:
            return [self.day - 1] if self.day > 1 else [self.day + 2]
        if weekday == calendar.SUNDAY:
            return [self.day + 1] if self.day < length else [self.day - 2]
        return [self.day]


@dataclass(frozen=True)
class _DaysOfWeek:
    weekdays: frozenset[int]

    def days_in(self, year: int, month: int) -> list[int]:
        first_weekday, length = calendar.monthrange(year, month)
        return [
            day for day in range(1, length + 1) if (first_weekday + day - 1) % 7 in self.weekdays
        ]


@dataclass(frozen=True)
class _LastWeekdayOfMonth:
    """`5L`: the last Thursday of the month."""

    weekday: int

    def days_in(self, year: int, month: int) -> list[int]:
        first_weekday, length = calendar.monthrange(year, month)
        last_weekday = (first_weekday + length - 1) % 7
        return [length - (last_weekday - self.weekday) % 7]


@dataclass(frozen=True)
class _NthWeekdayOfMonth:
    """`3#2`: the second Tuesday; a month without a fifth one does not fire for #5."""

    weekday: int
    nth: int

    def days_in(self, year: int, month: int) -> list[int]:
        first_weekday, length = calendar.monthrange(year, month)
        day = 1 + (self.weekday - first_weekday) % 7 + 7 * (self.nth - 1)
        return [day] if day <= length else []
