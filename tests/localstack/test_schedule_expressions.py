"""Schedule expressions as EventBridge and EventBridge Scheduler read them: rates,
crons (with L, W, #, wrapping ranges and year bounds), one-time at() schedules,
start and end dates, daylight saving in America/New_York, and what AWS refuses.
Every moment is fixed; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from relay_local.template.languages.schedule_expressions import (
    Schedule,
    ScheduleError,
    parse_schedule,
)

NEW_YORK = ZoneInfo("America/New_York")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _firings(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    moment = after
    for _ in range(count):
        firing = schedule.next_after(moment)
        assert firing is not None
        found.append(firing)
        moment = firing
    return found


# rate(value unit)


def test_rate_of_five_minutes_fires_every_five_minutes_from_creation() -> None:
    # Given a rate schedule created at 10:00:20
    created = datetime(2024, 5, 1, 10, 0, 20, tzinfo=UTC)
    schedule = parse_schedule("rate(5 minutes)", created=created)

    # When we ask for its firings from a moment just after creation
    firings = _firings(schedule, created + timedelta(seconds=1), 3)

    # Then they come every five minutes, counted from the creation instant
    assert firings == [created + timedelta(minutes=5 * n) for n in (1, 2, 3)]


def test_rate_fires_first_at_creation_when_asked_from_before_it() -> None:
    # Given a rate schedule created at noon
    created = _utc(2024, 5, 1, 12)
    schedule = parse_schedule("rate(1 hour)", created=created)

    # When asked from an earlier moment
    firing = schedule.next_after(_utc(2024, 5, 1, 9))

    # Then the first firing is the creation instant itself, as the Scheduler starts at once
    assert firing == created


def test_rate_counts_from_the_start_date_rather_than_creation() -> None:
    # Given a rate with a start date later than its creation
    schedule = parse_schedule(
        "rate(2 hours)", start=_utc(2024, 5, 2, 9, 30), created=_utc(2024, 5, 1, 8)
    )

    # When asked from before the start and from just after it
    first = schedule.next_after(_utc(2024, 5, 1, 12))
    second = schedule.next_after(_utc(2024, 5, 2, 9, 30))

    # Then the schedule starts at the start date and keeps its phase
    assert first == _utc(2024, 5, 2, 9, 30)
    assert second == _utc(2024, 5, 2, 11, 30)


def test_rate_of_one_day_stays_twenty_four_hours_across_spring_forward() -> None:
    # Given a daily rate created at noon in New York the day before the clocks change
    created = datetime(2024, 3, 9, 12, 0, tzinfo=NEW_YORK)
    schedule = parse_schedule("rate(1 day)", "America/New_York", created=created)

    # When we ask for the next firing
    firing = schedule.next_after(created)

    # Then it comes 24 hours later, which is 13:00 on the wall clock after DST begins
    assert firing == created.astimezone(UTC) + timedelta(hours=24)
    assert firing is not None and firing.astimezone(NEW_YORK).hour == 13


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(15 minutes)", timedelta(minutes=15)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_rate_accepts_every_documented_unit(expression: str, period: timedelta) -> None:
    # Given a rate created at midnight
    created = _utc(2024, 1, 1)

    # When asked for the firing after creation
    firing = parse_schedule(expression, created=created).next_after(created)

    # Then it is one period later
    assert firing == created + period


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("rate(1 minutes)", "a value of 1 takes the singular unit 'minute'"),
        ("rate(5 minute)", "a value above 1 takes the plural unit 'minutes'"),
        ("rate(1 days)", "singular unit 'day'"),
        ("rate(0 minutes)", "must be a positive integer"),
        ("rate(-5 minutes)", "must be a positive integer"),
        ("rate(1.5 hours)", "must be a positive integer"),
        ("rate(30 seconds)", "must be minute(s), hour(s) or day(s)"),
        ("rate(2 weeks)", "must be minute(s), hour(s) or day(s)"),
        ("rate(5)", "expected rate(value unit)"),
        ("rate(5 minutes please)", "expected rate(value unit)"),
    ],
)
def test_rate_that_aws_refuses_is_refused_with_the_reason(expression: str, complaint: str) -> None:
    # When a malformed rate is parsed
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(expression, created=_utc(2024, 1, 1))

    # Then the error names the expression and what is wrong with it
    assert str(refused.value).startswith(f"{expression}: ")
    assert complaint in str(refused.value)


# cron(minutes hours day-of-month month day-of-week year)


def test_cron_fires_at_ten_every_morning_utc() -> None:
    # Given the AWS example "run at 10:00 am (UTC+0) every day"
    schedule = parse_schedule("cron(0 10 * * ? *)")

    # When asked from the afternoon
    firings = _firings(schedule, _utc(2024, 5, 1, 15), 2)

    # Then it fires at ten on the following mornings
    assert firings == [_utc(2024, 5, 2, 10), _utc(2024, 5, 3, 10)]


def test_cron_fires_strictly_after_the_moment_and_on_whole_minutes() -> None:
    # Given a cron firing at 10:00 daily
    schedule = parse_schedule("cron(0 10 * * ? *)")

    # When asked from exactly a firing, and from a few seconds before one
    from_firing = schedule.next_after(_utc(2024, 5, 1, 10))
    from_before = schedule.next_after(datetime(2024, 5, 1, 9, 59, 30, tzinfo=UTC))

    # Then the firing at the moment itself is not repeated, and firings are whole minutes
    assert from_firing == _utc(2024, 5, 2, 10)
    assert from_before == _utc(2024, 5, 1, 10)


def test_cron_answers_in_utc_whatever_zone_the_moment_is_in() -> None:
    # Given a UTC cron and a moment expressed in Tokyo time
    schedule = parse_schedule("cron(0 10 * * ? *)")
    moment = datetime(2024, 5, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 00:00 UTC

    # When asked for the next firing
    firing = schedule.next_after(moment)

    # Then the answer is in UTC
    assert firing == _utc(2024, 5, 1, 10)
    assert firing is not None and firing.tzinfo is UTC


def test_cron_increment_from_a_start_minute_counts_from_that_minute() -> None:
    # Given "1/10" in the minutes field, AWS's example of every tenth minute from minute 1
    schedule = parse_schedule("cron(1/10 * * * ? *)")

    # When asked from the top of the hour
    firings = _firings(schedule, _utc(2024, 5, 1, 10), 7)

    # Then it fires at 1, 11, 21 ... 51 and then 1 past the next hour
    assert [f.minute for f in firings] == [1, 11, 21, 31, 41, 51, 1]
    assert firings[-1].hour == 11


def test_cron_star_increment_fires_every_fifteen_minutes() -> None:
    # Given both spellings of every fifteen minutes
    for expression in ("cron(0/15 * * * ? *)", "cron(*/15 * * * ? *)"):
        schedule = parse_schedule(expression)

        # When asked from 10:07
        firings = _firings(schedule, _utc(2024, 5, 1, 10, 7), 4)

        # Then it fires on the quarter hours
        quarters = [(10, 15), (10, 30), (10, 45), (11, 0)]
        assert firings == [_utc(2024, 5, 1, hour, minute) for hour, minute in quarters]


def test_cron_lists_and_weekday_ranges_skip_the_weekend() -> None:
    # Given twice a day, Monday to Friday
    schedule = parse_schedule("cron(5,35 14 ? * MON-FRI *)")

    # When asked from Friday 2024-05-10 at 14:10
    firings = _firings(schedule, _utc(2024, 5, 10, 14, 10), 3)

    # Then Friday's second firing comes, then Monday's two
    friday, monday = (2024, 5, 10), (2024, 5, 13)
    assert firings == [_utc(*friday, 14, 35), _utc(*monday, 14, 5), _utc(*monday, 14, 35)]


def test_cron_hour_range_wraps_past_midnight_as_in_the_aws_example() -> None:
    # Given AWS's example: every 30 minutes from 10 pm to 2 am, Monday to Friday
    schedule = parse_schedule("cron(0/30 20-2 ? * MON-FRI *)")

    # When asked from Monday 2024-05-13 at 19:00
    firings = _firings(schedule, _utc(2024, 5, 13, 19), 15)

    # Then it fires 20:00-23:30 on Monday, 00:00-02:30 on Tuesday, then 20:00 on Tuesday
    assert firings[0] == _utc(2024, 5, 13, 20)
    assert firings[7] == _utc(2024, 5, 13, 23, 30)
    assert firings[8] == _utc(2024, 5, 14, 0)
    assert firings[13] == _utc(2024, 5, 14, 2, 30)
    assert firings[14] == _utc(2024, 5, 14, 20)


def test_day_of_week_counts_sunday_as_one_and_saturday_as_seven() -> None:
    # Given crons on day 1 and day 7 of the week
    sunday = parse_schedule("cron(0 12 ? * 1 *)")
    saturday = parse_schedule("cron(0 12 ? * 7 *)")

    # When asked from Monday 2024-05-13
    monday = _utc(2024, 5, 13)

    # Then day 1 is Sunday the 19th and day 7 is Saturday the 18th
    assert sunday.next_after(monday) == _utc(2024, 5, 19, 12)
    assert saturday.next_after(monday) == _utc(2024, 5, 18, 12)


def test_month_and_day_names_are_case_insensitive() -> None:
    # Given month names in mixed case and a day name in lower case
    months = parse_schedule("cron(0 8 1 jan,Jul ? *)")
    weekday = parse_schedule("cron(0 8 ? * wed *)")

    # When asked from 2024-02-01
    after = _utc(2024, 2, 1)

    # Then they name July 1st and Wednesday the 7th
    assert months.next_after(after) == _utc(2024, 7, 1, 8)
    assert weekday.next_after(after) == _utc(2024, 2, 7, 8)


def test_day_of_month_range_with_an_increment_steps_through_the_range() -> None:
    # Given every third day from the 1st to the 10th
    schedule = parse_schedule("cron(0 0 1-10/3 * ? *)")

    # When asked across a month boundary
    firings = _firings(schedule, _utc(2024, 4, 5), 4)

    # Then it fires on the 7th and 10th, then on the 1st and 4th of the next month
    assert [(f.month, f.day) for f in firings] == [(4, 7), (4, 10), (5, 1), (5, 4)]


# Leap years and impossible dates


def test_leap_day_cron_skips_the_year_2100_which_is_not_leap() -> None:
    # Given a cron for February 29th
    schedule = parse_schedule("cron(0 0 29 2 ? *)")

    # When asked after the leap day of 2096
    firing = schedule.next_after(_utc(2096, 3, 1))

    # Then the next leap day is 2104's, since 2100 is not a leap year
    assert firing == _utc(2104, 2, 29)


def test_cron_for_february_thirty_first_is_accepted_and_never_fires() -> None:
    # Given a cron that names a date no calendar has
    schedule = parse_schedule("cron(0 0 31 2 ? *)")

    # When asked from the first year a cron may name
    firing = schedule.next_after(_utc(1970, 1, 1))

    # Then it never fires
    assert firing is None


def test_last_day_of_february_follows_leap_years() -> None:
    # Given a cron on the last day of February
    schedule = parse_schedule("cron(0 0 L 2 ? *)")

    # When asked across four years
    firings = _firings(schedule, _utc(2023, 1, 1), 2)

    # Then it fires on the 28th in 2023 and the 29th in 2024
    assert firings == [_utc(2023, 2, 28), _utc(2024, 2, 29)]


# L, W and #


def test_L_in_day_of_month_is_the_last_day_of_each_month() -> None:
    # Given a cron on the last day of every month
    schedule = parse_schedule("cron(0 0 L * ? *)")

    # When asked from the start of 2024
    firings = _firings(schedule, _utc(2024, 1, 1), 4)

    # Then it fires on each month's own last day
    assert [(f.month, f.day) for f in firings] == [(1, 31), (2, 29), (3, 31), (4, 30)]


def test_LW_is_the_last_weekday_of_the_month() -> None:
    # Given a cron on the last weekday of the month
    schedule = parse_schedule("cron(0 21 LW * ? *)")

    # When asked in months ending on a Sunday (March 2024) and a Saturday (August 2024)
    march = schedule.next_after(_utc(2024, 3, 1))
    august = schedule.next_after(_utc(2024, 8, 1))

    # Then it fires on the Friday before
    assert march == _utc(2024, 3, 29, 21)
    assert august == _utc(2024, 8, 30, 21)


def test_W_moves_a_weekend_day_to_the_nearest_weekday() -> None:
    # Given a cron on the weekday nearest the 15th
    schedule = parse_schedule("cron(0 9 15W * ? *)")

    # When the 15th is a Saturday (June 2024) and a Sunday (September 2024)
    june = schedule.next_after(_utc(2024, 6, 1))
    september = schedule.next_after(_utc(2024, 9, 1))

    # Then it fires on Friday the 14th and Monday the 16th
    assert june == _utc(2024, 6, 14, 9)
    assert september == _utc(2024, 9, 16, 9)


def test_W_never_crosses_into_another_month() -> None:
    # Given crons on the weekday nearest the 1st and nearest the 31st
    first = parse_schedule("cron(0 9 1W * ? *)")
    last = parse_schedule("cron(0 9 31W * ? *)")

    # When the 1st is a Saturday (June 2024) and the 31st a Sunday (March 2024)
    june = first.next_after(_utc(2024, 5, 31))
    march = last.next_after(_utc(2024, 3, 1))

    # Then they move inward: Monday the 3rd and Friday the 29th
    assert june == _utc(2024, 6, 3, 9)
    assert march == _utc(2024, 3, 29, 9)


def test_a_day_followed_by_L_is_the_last_such_day_of_the_month() -> None:
    # Given "5L", the last Thursday of the month
    schedule = parse_schedule("cron(0 12 ? * 5L *)")

    # When asked in November 2024
    firing = schedule.next_after(_utc(2024, 11, 1))

    # Then it fires on Thursday the 28th
    assert firing == _utc(2024, 11, 28, 12)


def test_aws_example_last_friday_in_a_range_of_years() -> None:
    # Given AWS's example: 10:15 on the last Friday of each month, 2019 to 2022
    schedule = parse_schedule("cron(15 10 ? * 6L 2019-2022)")

    # When asked at the end of 2022
    december = schedule.next_after(_utc(2022, 12, 1))
    after_range = schedule.next_after(_utc(2022, 12, 31))

    # Then it fires on Friday 2022-12-30 and never after 2022
    assert december == _utc(2022, 12, 30, 10, 15)
    assert after_range is None


def test_L_alone_in_day_of_week_is_saturday() -> None:
    # Given L as the whole day-of-week field
    schedule = parse_schedule("cron(0 12 ? * L *)")

    # When asked from Monday 2024-05-13
    firings = _firings(schedule, _utc(2024, 5, 13), 2)

    # Then it fires every Saturday
    assert firings == [_utc(2024, 5, 18, 12), _utc(2024, 5, 25, 12)]


def test_hash_picks_the_nth_weekday_of_the_month() -> None:
    # Given "3#2", the second Tuesday
    schedule = parse_schedule("cron(0 10 ? * 3#2 *)")

    # When asked from the start of 2024
    firings = _firings(schedule, _utc(2024, 1, 1), 2)

    # Then it fires on January 9th and February 13th
    assert firings == [_utc(2024, 1, 9, 10), _utc(2024, 2, 13, 10)]


def test_fifth_weekday_skips_months_that_have_only_four() -> None:
    # Given "6#5", the fifth Friday
    schedule = parse_schedule("cron(0 10 ? * FRI#5 *)")

    # When asked after the fifth Friday of March 2024
    firing = schedule.next_after(_utc(2024, 3, 30))

    # Then April (four Fridays) is skipped and May 31st fires
    assert firing == _utc(2024, 5, 31, 10)


# Year bounds


def test_cron_limited_to_years_stops_after_the_last_one() -> None:
    # Given a cron limited to 2025 and 2026
    schedule = parse_schedule("cron(0 12 1 1 ? 2025-2026)")

    # When asked before, between and after
    firings = _firings(schedule, _utc(2024, 6, 1), 2)
    after = schedule.next_after(_utc(2026, 1, 1, 12))

    # Then it fires on the two New Year's Days and then never
    assert firings == [_utc(2025, 1, 1, 12), _utc(2026, 1, 1, 12)]
    assert after is None


def test_cron_never_fires_after_2199() -> None:
    # Given a yearly cron with any year
    schedule = parse_schedule("cron(0 0 1 1 ? *)")

    # When asked after its 2199 firing
    firing = schedule.next_after(_utc(2199, 1, 1))

    # Then there is none, since years end at 2199
    assert firing is None


def test_cron_asked_before_1970_first_fires_in_1970() -> None:
    # Given a yearly cron
    schedule = parse_schedule("cron(0 0 1 1 ? *)")

    # When asked from 1965
    firing = schedule.next_after(_utc(1965, 6, 1))

    # Then the first firing is in 1970, where cron years begin
    assert firing == _utc(1970, 1, 1)


def test_year_increment_counts_from_its_first_year() -> None:
    # Given every fourth year from 2024
    schedule = parse_schedule("cron(0 0 1 1 ? 2024/4)")

    # When asked from 2024-06-01
    firings = _firings(schedule, _utc(2024, 6, 1), 2)

    # Then it fires in 2028 and 2032
    assert firings == [_utc(2028, 1, 1), _utc(2032, 1, 1)]


# Time zones and daylight saving (America/New_York)


def test_cron_in_new_york_follows_the_wall_clock_through_the_year() -> None:
    # Given 9:00 every day in New York
    schedule = parse_schedule("cron(0 9 * * ? *)", "America/New_York")

    # When asked in winter and in summer
    winter = schedule.next_after(_utc(2024, 1, 15))
    summer = schedule.next_after(_utc(2024, 7, 15))

    # Then it is 14:00 UTC under EST and 13:00 UTC under EDT
    assert winter == _utc(2024, 1, 15, 14)
    assert summer == _utc(2024, 7, 15, 13)


def test_wall_time_skipped_by_spring_forward_does_not_fire_that_day() -> None:
    # Given 2:30 every day in New York, where 2024-03-10 jumps from 2:00 to 3:00
    schedule = parse_schedule("cron(30 2 * * ? *)", "America/New_York")

    # When asked on the evening before
    firing = schedule.next_after(datetime(2024, 3, 9, 20, 0, tzinfo=NEW_YORK))

    # Then the skipped 2:30 does not fire; the next day's 2:30 EDT does
    assert firing == datetime(2024, 3, 11, 2, 30, tzinfo=NEW_YORK)


def test_frequent_cron_jumps_the_spring_forward_gap() -> None:
    # Given every 30 minutes in New York
    schedule = parse_schedule("cron(0/30 * * * ? *)", "America/New_York")

    # When asked at 1:30 EST on 2024-03-10
    firings = _firings(schedule, datetime(2024, 3, 10, 1, 30, tzinfo=NEW_YORK), 2)

    # Then 2:00 and 2:30 never exist and it resumes at 3:00 EDT, 30 minutes later
    assert firings == [_utc(2024, 3, 10, 7), _utc(2024, 3, 10, 7, 30)]


def test_wall_time_repeated_by_fall_back_fires_only_once() -> None:
    # Given 1:30 every day in New York, where 2024-11-03 runs 1:00-2:00 twice
    schedule = parse_schedule("cron(30 1 * * ? *)", "America/New_York")

    # When asked on the evening before
    firings = _firings(schedule, datetime(2024, 11, 2, 20, 0, tzinfo=NEW_YORK), 2)

    # Then it fires at 1:30 EDT (before the shift) and next at 1:30 EST the following day
    assert firings == [_utc(2024, 11, 3, 5, 30), _utc(2024, 11, 4, 6, 30)]


def test_frequent_cron_does_not_repeat_the_fall_back_hour() -> None:
    # Given every 30 minutes in New York
    schedule = parse_schedule("cron(0/30 * * * ? *)", "America/New_York")

    # When asked at 1:00 EDT on 2024-11-03
    firings = _firings(schedule, _utc(2024, 11, 3, 5), 3)

    # Then 1:30 EDT fires, the repeated 1:00 and 1:30 EST do not, and 2:00 EST follows
    assert firings == [_utc(2024, 11, 3, 5, 30), _utc(2024, 11, 3, 7), _utc(2024, 11, 3, 7, 30)]


def test_moment_inside_the_repeated_hour_waits_for_the_hour_after() -> None:
    # Given every 30 minutes in New York
    schedule = parse_schedule("cron(0/30 * * * ? *)", "America/New_York")

    # When asked at 1:15 EST, the second pass through 1:00-2:00
    firing = schedule.next_after(_utc(2024, 11, 3, 6, 15))

    # Then the next firing is 2:00 EST
    assert firing == _utc(2024, 11, 3, 7)


def test_unknown_time_zone_is_refused() -> None:
    # When a schedule names a zone IANA does not have
    with pytest.raises(ScheduleError, match="'Mars/Olympus' is not an IANA time zone"):
        parse_schedule("cron(0 10 * * ? *)", "Mars/Olympus")


# at(yyyy-mm-ddThh:mm:ss)


def test_at_fires_once_at_its_wall_time_in_the_time_zone() -> None:
    # Given AWS's example: once at 1 pm on 2022-11-20 in Los Angeles (UTC-8)
    schedule = parse_schedule("at(2022-11-20T13:00:00)", "America/Los_Angeles")

    # When asked before and after that moment
    before = schedule.next_after(_utc(2022, 11, 1))
    after = schedule.next_after(_utc(2022, 11, 20, 21))

    # Then it fires at 21:00 UTC, and never again
    assert before == _utc(2022, 11, 20, 21)
    assert after is None


def test_at_ignores_start_and_end_dates_as_the_scheduler_does() -> None:
    # Given a one-time schedule whose start and end exclude its own time
    schedule = parse_schedule(
        "at(2024-05-01T09:00:00)", start=_utc(2024, 6, 1), end=_utc(2024, 4, 1)
    )

    # When asked from before it
    firing = schedule.next_after(_utc(2024, 1, 1))

    # Then it still fires at its time
    assert firing == _utc(2024, 5, 1, 9)


def test_at_in_a_spring_forward_gap_never_fires() -> None:
    # Given a one-time schedule at 2:30 on the night New York skips 2:00-3:00
    schedule = parse_schedule("at(2024-03-10T02:30:00)", "America/New_York")

    # When asked from the day before
    firing = schedule.next_after(_utc(2024, 3, 9))

    # Then it never fires, as a cron at a skipped wall time does not
    assert firing is None


def test_at_in_the_fall_back_hour_fires_at_its_first_occurrence() -> None:
    # Given a one-time schedule at 1:30 on the night New York repeats 1:00-2:00
    schedule = parse_schedule("at(2024-11-03T01:30:00)", "America/New_York")

    # When asked from the day before
    firing = schedule.next_after(_utc(2024, 11, 2))

    # Then it fires at 1:30 EDT, before the clocks go back
    assert firing == _utc(2024, 11, 3, 5, 30)


# Start and end dates


def test_cron_does_not_fire_before_its_start_date_and_may_fire_on_it() -> None:
    # Given an hourly cron starting at 2024-05-01 12:00
    schedule = parse_schedule("cron(0 * * * ? *)", start=_utc(2024, 5, 1, 12))

    # When asked from long before the start
    firing = schedule.next_after(_utc(2024, 4, 1))

    # Then the first firing is the start itself
    assert firing == _utc(2024, 5, 1, 12)


def test_cron_does_not_fire_after_its_end_date_and_may_fire_on_it() -> None:
    # Given an hourly cron ending at 2024-05-01 12:00
    schedule = parse_schedule("cron(0 * * * ? *)", end=_utc(2024, 5, 1, 12))

    # When asked from 11:30 and from 12:00
    last = schedule.next_after(_utc(2024, 5, 1, 11, 30))
    after = schedule.next_after(_utc(2024, 5, 1, 12))

    # Then 12:00 fires and nothing after it
    assert last == _utc(2024, 5, 1, 12)
    assert after is None


def test_rate_stops_at_its_end_date() -> None:
    # Given a ten-minute rate from 10:00 ending at 10:25
    schedule = parse_schedule(
        "rate(10 minutes)", start=_utc(2024, 5, 1, 10), end=_utc(2024, 5, 1, 10, 25)
    )

    # When asked after its 10:20 firing
    firing = schedule.next_after(_utc(2024, 5, 1, 10, 20))

    # Then 10:30 is past the end, so it never fires again
    assert firing is None


def test_start_after_end_is_refused() -> None:
    # When a schedule's start is after its end
    with pytest.raises(ScheduleError, match="is after end"):
        parse_schedule("cron(0 * * * ? *)", start=_utc(2024, 6, 1), end=_utc(2024, 5, 1))


def test_naive_datetimes_are_refused() -> None:
    # Given a valid schedule
    schedule = parse_schedule("cron(0 * * * ? *)")

    # When given datetimes without a time zone, Then they are refused rather than guessed
    with pytest.raises(ValueError, match="moment must be a timezone-aware datetime"):
        schedule.next_after(datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        parse_schedule("cron(0 * * * ? *)", start=datetime(2024, 5, 1))


# What AWS refuses


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("cron(0 10 * * ?)", "expected 6 fields"),
        ("cron(0 10 * * ? * *)", "expected 6 fields"),
        ("cron(0 10 * * * *)", "day-of-month and day-of-week cannot both be set; use ? in one"),
        ("cron(0 10 1 * MON *)", "cannot both be set"),
        ("cron(0 10 ? * ? *)", "cannot both be ?"),
        ("cron(60 10 * * ? *)", "minutes value 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours value 24 is outside 0-23"),
        ("cron(0 10 32 * ? *)", "day-of-month value 32 is outside 1-31"),
        ("cron(0 10 0 * ? *)", "day-of-month value 0 is outside 1-31"),
        ("cron(0 10 * 13 ? *)", "month value 13 is outside 1-12"),
        ("cron(0 10 * FOO ? *)", "month value 'FOO' is not a number or a name"),
        ("cron(0 10 ? * 0 *)", "day-of-week value 0 is outside 1-7"),
        ("cron(0 10 ? * 8 *)", "day-of-week value 8 is outside 1-7"),
        ("cron(0 10 * * ? 1969)", "year value 1969 is outside 1970-2199"),
        ("cron(0 10 * * ? 2200)", "year value 2200 is outside 1970-2199"),
        ("cron(0 10 * * ? 2030-2020)", "year range '2030-2020' runs backwards"),
        ("cron(? 10 * * ? *)", "minutes value '?' is not a number or a name"),
        ("cron(0/0 10 * * ? *)", "minutes increment '0' must be a positive integer"),
        ("cron(1,,2 10 * * ? *)", "minutes value '' is not a number or a name"),
        ("cron(0 10 ? * MON/2 *)", "day-of-week does not take / increments"),
        ("cron(0 10 ? * 3#1,6#3 *)", "L and # take a single day"),
        ("cron(0 10 ? * 3#6 *)", "the number after # must be 1-5"),
        ("cron(0 10 ? * 3#0 *)", "the number after # must be 1-5"),
        ("cron(0 10 1,15W * ? *)", "L, LW and nW stand alone"),
        ("cron(0 10 L-3 * ? *)", "L, LW and nW stand alone"),
        ("cron(0 10 32W * ? *)", "day-of-month value 32 is outside 1-31"),
    ],
)
def test_cron_that_aws_refuses_is_refused_with_the_reason(expression: str, complaint: str) -> None:
    # When a malformed cron is parsed
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(expression)

    # Then the error names the expression and what is wrong with it
    assert str(refused.value).startswith(f"{expression}: ")
    assert complaint in str(refused.value)


@pytest.mark.parametrize(
    "expression",
    ["", "0 10 * * ? *", "CRON(0 10 * * ? *)", "rate 5 minutes", "every(5 minutes)", "cron(0 10"],
)
def test_text_that_is_no_schedule_expression_is_refused_by_name(expression: str) -> None:
    # When something other than rate(), cron() or at() is parsed
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(expression)

    # Then the error quotes it
    assert f"{expression!r} is not a schedule expression" in str(refused.value)


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("at(2024-02-30T09:00:00)", "2024-02-30T09:00:00 is not a date and time"),
        ("at(2024-05-01T24:00:00)", "is not a date and time"),
        ("at(2024-05-01 09:00:00)", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(2024-05-01T09:00)", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(2024-05-01T09:00:00Z)", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(tomorrow)", "expected at(yyyy-mm-ddThh:mm:ss)"),
    ],
)
def test_at_that_aws_refuses_is_refused_with_the_reason(expression: str, complaint: str) -> None:
    # When a malformed one-time expression is parsed
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(expression)

    # Then the error names the expression and what is wrong with it
    assert str(refused.value).startswith(f"{expression}: ")
    assert complaint in str(refused.value)
