"""Working days and hours on the production calendar (and the clocks that drive it)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.calendar import WorkCalendar, WorkingHours
from flows.clock import Clock, FrozenClock, SystemClock

MSK = ZoneInfo("Europe/Moscow")


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


@pytest.fixture
def ru() -> WorkCalendar:
    return WorkCalendar()


def test_engine_modules_import_no_io_libraries() -> None:
    # A fresh interpreter, because this test process may have imported the bot already.
    code = (
        "import sys, flows.clock, flows.calendar, flows.deadlines, flows.values\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('aiogram', 'aiohttp', 'sqlalchemy'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# -- production calendar --------------------------------------------------------------------


def test_russian_new_year_holidays_and_transfers(ru: WorkCalendar) -> None:
    # Jan 1-8 are days off every year, whatever the weekday.
    for day in range(1, 9):
        assert not ru.is_working_day(date(2027, 1, day))
    # Transferred days off from the government decree, listed by the holidays package.
    assert not ru.is_working_day(date(2026, 12, 31))  # Thursday
    assert not ru.is_working_day(date(2026, 1, 9))  # Friday
    assert not ru.is_working_day(date(2027, 2, 22))  # Monday, moved from Saturday 2027-02-20
    # ...and the Saturday that becomes a working day in exchange.
    assert ru.is_working_day(date(2027, 2, 20))
    assert not ru.is_working_day(date(2027, 2, 23))
    # Ordinary days.
    assert ru.is_working_day(date(2026, 12, 30))
    assert not ru.is_working_day(date(2026, 12, 26))  # Saturday


def test_five_working_days_from_friday_before_new_year(ru: WorkCalendar) -> None:
    # Goods arrive on Friday 2026-12-25; that day is day 0 and does not count.
    #   Sat 12-26, Sun 12-27         weekend
    #   Mon 12-28                    working day 1
    #   Tue 12-29                    working day 2
    #   Wed 12-30                    working day 3
    #   Thu 12-31                    transferred day off (from Sun 2026-01-04)
    #   Fri 01-01 .. Fri 01-08       New Year holidays (01-07 Christmas)
    #   Sat 01-09, Sun 01-10         weekend
    #   Mon 01-11                    working day 4
    #   Tue 01-12                    working day 5  -> deadline at the end of the day
    expected = msk(2027, 1, 12, 18, 0)
    assert ru.add_working_days(msk(2026, 12, 25, 10, 30), 5) == expected
    assert ru.add_working_days(date(2026, 12, 25), 5) == expected
    result = ru.add_working_days(date(2026, 12, 25), 5)
    assert result.tzinfo is UTC
    assert result == datetime(2027, 1, 12, 15, 0, tzinfo=UTC)


def test_add_working_days_ignores_time_of_day_and_handles_zero(ru: WorkCalendar) -> None:
    # Late evening arrival is still day 0 of its own date.
    assert ru.add_working_days(msk(2026, 12, 28, 23, 59), 1) == msk(2026, 12, 29, 18, 0)
    # Zero days: today's closing if today is a working day, else the next one's.
    assert ru.add_working_days(msk(2026, 12, 28, 8, 0), 0) == msk(2026, 12, 28, 18, 0)
    assert ru.add_working_days(msk(2026, 12, 26, 12, 0), 0) == msk(2026, 12, 28, 18, 0)
    # The date is taken in the calendar's tz: 22:30 UTC on the 28th is already the 29th in Moscow.
    assert ru.add_working_days(datetime(2026, 12, 28, 22, 30, tzinfo=UTC), 1) == msk(2026, 12, 30, 18, 0)


def test_a_term_in_calendar_days_runs_through_its_last_day_and_past_a_day_off(ru: WorkCalendar) -> None:
    # A 10-day deferral given Monday 11.01.2027 at 10:00 may be paid through the end of Thursday 21.01.
    assert ru.add_calendar_days(msk(2027, 1, 11, 10, 0), 10) == msk(2027, 1, 21, 18, 0)
    # The day the term starts is day 0 whatever the hour, taken in the calendar's tz (22:30 UTC is the 12th).
    assert ru.add_calendar_days(msk(2027, 1, 11, 23, 59), 1) == msk(2027, 1, 12, 18, 0)
    assert ru.add_calendar_days(datetime(2027, 1, 11, 22, 30, tzinfo=UTC), 1) == msk(2027, 1, 13, 18, 0)
    # A last day that is a Saturday ends with Monday; one in the New Year holidays, with the first day back.
    assert ru.add_calendar_days(msk(2027, 1, 13, 10, 0), 10) == msk(2027, 1, 25, 18, 0)
    assert ru.add_calendar_days(date(2026, 12, 24), 10) == msk(2027, 1, 11, 18, 0)
    assert ru.add_calendar_days(date(2027, 1, 11), 0) == msk(2027, 1, 11, 18, 0)


def test_subtract_working_days_keeps_time_of_day(ru: WorkCalendar) -> None:
    due = msk(2027, 1, 12, 18, 0)
    assert ru.subtract_working_days(due, 1) == msk(2027, 1, 11, 18, 0)
    # Back over the New Year holidays and the transferred 31st.
    assert ru.subtract_working_days(due, 2) == msk(2026, 12, 30, 18, 0)
    assert ru.subtract_working_days(msk(2027, 1, 11, 12, 15), 1) == msk(2026, 12, 30, 12, 15)
    assert ru.subtract_working_days(due, 0) == due
    assert ru.shift_working_days(msk(2026, 12, 30, 12, 0), 1) == msk(2027, 1, 11, 12, 0)


def test_extra_days_and_extra_workdays_win() -> None:
    calendar = WorkCalendar(
        extra_holidays=[date(2026, 12, 29)],
        extra_workdays=[date(2026, 12, 26), date(2026, 12, 31)],
    )
    assert not calendar.is_working_day(date(2026, 12, 29))
    assert calendar.is_working_day(date(2026, 12, 26))  # a working Saturday
    assert calendar.is_working_day(date(2026, 12, 31))  # beats the package's day off
    # From Friday 12-25: Sat 26 (1), Mon 28 (2), Wed 30 (3), Thu 31 (4), Mon 01-11 (5).
    assert calendar.add_working_days(date(2026, 12, 25), 4) == msk(2026, 12, 31, 18, 0)
    assert calendar.add_working_days(date(2026, 12, 25), 5) == msk(2027, 1, 11, 18, 0)


def test_another_country_and_timezone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    de = WorkCalendar(country="DE", tz="Europe/Berlin", hours=WorkingHours(time(8, 0), time(16, 0)))
    assert de.tz == berlin
    assert not de.is_working_day(date(2026, 12, 25))  # Christmas
    assert not de.is_working_day(date(2026, 12, 26))
    assert de.is_working_day(date(2026, 12, 31))  # not a holiday in Germany
    assert de.is_working_day(date(2027, 1, 4))
    # Thu 12-24 -> Mon 12-28 (1), Tue 12-29 (2); 16:00 Berlin is 15:00 UTC in winter.
    assert de.add_working_days(date(2026, 12, 24), 2) == datetime(2026, 12, 29, 15, 0, tzinfo=UTC)

    us = WorkCalendar(country="US", tz="America/New_York")
    assert not us.is_working_day(date(2026, 7, 3))  # Independence Day observed (the 4th is a Saturday)
    assert not us.is_working_day(date(2026, 11, 26))  # Thanksgiving
    # Wed 11-25 + 1 working day skips Thanksgiving: Fri 11-27 18:00 EST = 23:00 UTC.
    assert us.add_working_days(date(2026, 11, 25), 1) == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


def test_custom_weekend() -> None:
    six_day_week = WorkCalendar(weekend=frozenset({6}))
    assert six_day_week.is_working_day(date(2026, 12, 26))
    assert not six_day_week.is_working_day(date(2026, 12, 27))


def test_bad_configuration() -> None:
    with pytest.raises(ValueError, match="timezone"):
        WorkCalendar(tz="Mars/Olympus")
    with pytest.raises(ValueError, match="country"):
        WorkCalendar(country="XX")
    with pytest.raises(ValueError, match="before end"):
        WorkingHours(time(18, 0), time(9, 0))
    with pytest.raises(ValueError, match="no working day"):
        WorkCalendar(country="DE", weekend=frozenset(range(7))).add_working_days(date(2026, 1, 1), 1)


# -- working hours --------------------------------------------------------------------------


def test_next_working_moment(ru: WorkCalendar) -> None:
    assert ru.next_working_moment(msk(2026, 12, 28, 10, 0)) == msk(2026, 12, 28, 10, 0)
    assert ru.next_working_moment(msk(2026, 12, 28, 7, 0)) == msk(2026, 12, 28, 9, 0)
    # Closing time is already closed.
    assert ru.next_working_moment(msk(2026, 12, 28, 18, 0)) == msk(2026, 12, 29, 9, 0)
    assert ru.next_working_moment(msk(2026, 12, 30, 19, 0)) == msk(2027, 1, 11, 9, 0)
    assert ru.next_working_moment(msk(2026, 12, 28, 10, 0)).tzinfo is UTC


def test_working_hours_across_a_night(ru: WorkCalendar) -> None:
    # Monday 16:00 + 4h: 2h on Monday, 2h from Tuesday's opening.
    assert ru.add_working_hours(msk(2026, 12, 28, 16, 0), 4) == msk(2026, 12, 29, 11, 0)
    # Exactly to closing time stays on that day.
    assert ru.add_working_hours(msk(2026, 12, 28, 16, 0), 2) == msk(2026, 12, 28, 18, 0)
    # Started at night: counting begins at the next opening.
    assert ru.add_working_hours(msk(2026, 12, 28, 23, 0), 1.5) == msk(2026, 12, 29, 10, 30)
    assert ru.add_working_hours(msk(2026, 12, 28, 23, 0), 0) == msk(2026, 12, 29, 9, 0)


def test_working_hours_across_a_weekend() -> None:
    calendar = WorkCalendar()
    # Friday 2026-12-18 17:00 + 3h: 1h on Friday, Mon 12-21 09:00 + 2h.
    assert calendar.add_working_hours(msk(2026, 12, 18, 17, 0), 3) == msk(2026, 12, 21, 11, 0)
    assert calendar.working_hours_between(msk(2026, 12, 18, 17, 0), msk(2026, 12, 21, 11, 0)) == 3
    assert calendar.subtract_working_hours(msk(2026, 12, 21, 11, 0), 3) == msk(2026, 12, 18, 17, 0)


def test_subtract_working_hours(ru: WorkCalendar) -> None:
    assert ru.subtract_working_hours(msk(2026, 12, 29, 11, 0), 4) == msk(2026, 12, 28, 16, 0)
    # Exactly back to opening stays on that day.
    assert ru.subtract_working_hours(msk(2026, 12, 29, 11, 0), 2) == msk(2026, 12, 29, 9, 0)
    # From outside hours: counting starts at the previous closing.
    assert ru.subtract_working_hours(msk(2027, 1, 11, 8, 0), 1) == msk(2026, 12, 30, 17, 0)
    assert ru.subtract_working_hours(msk(2026, 12, 29, 20, 0), 0.5) == msk(2026, 12, 29, 17, 30)


def test_working_hours_between(ru: WorkCalendar) -> None:
    assert ru.working_hours_between(msk(2026, 12, 28, 9, 0), msk(2026, 12, 28, 18, 0)) == 9
    # Over the holidays only Wed 12-30 17:00-18:00 and Mon 01-11 09:00-10:30 count.
    assert ru.working_hours_between(msk(2026, 12, 30, 17, 0), msk(2027, 1, 11, 10, 30)) == 2.5
    assert ru.working_hours_between(msk(2027, 1, 11, 10, 30), msk(2026, 12, 30, 17, 0)) == -2.5
    assert ru.working_hours_between(msk(2026, 12, 26, 0, 0), msk(2026, 12, 27, 23, 0)) == 0


def test_naive_datetimes_are_refused(ru: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ru.add_working_hours(datetime(2026, 12, 28, 10, 0), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ru.add_working_days(datetime(2026, 12, 28, 10, 0), 1)
    with pytest.raises(ValueError, match="negative"):
        ru.add_working_days(date(2026, 12, 28), -1)


# -- clocks ---------------------------------------------------------------------------------


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(msk(2026, 12, 25, 10, 0))
    assert isinstance(clock, Clock)
    assert clock.now() == datetime(2026, 12, 25, 7, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.advance(hours=2) == datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    clock.advance(timedelta(days=1))
    assert clock.now() == datetime(2026, 12, 26, 9, 0, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(hours=-1)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        clock.advance(timedelta(hours=1), minutes=5)


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
