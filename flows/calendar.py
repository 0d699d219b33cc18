"""Working time on a production calendar.

A :class:`WorkCalendar` knows which days are working days (weekends, public holidays from the
``holidays`` package, the government's transferred days off and working Saturdays, plus
per-company extras) and which hours of a working day count. Deadlines and reminders are
computed on it.

Conventions:

* every datetime going in must be timezone-aware; every datetime coming out is aware and in UTC;
* all calendar reasoning ("which day is it", "is the office open") happens in the calendar's
  own timezone, because "Friday 18:00" means Friday 18:00 in the office, not in UTC;
* working hours are one interval per day, ``start < end``; night shifts crossing midnight are
  not supported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_HOURS", "DEFAULT_WEEKEND", "WorkCalendar", "WorkingHours"]

# A calendar with no working days at all would make every search loop forever; ten years of
# consecutive days off is certainly a misconfiguration, so we stop there.
_MAX_SCAN_DAYS = 3660


@dataclass(frozen=True)
class WorkingHours:
    """Opening and closing wall-clock time of a working day (same for every working day)."""

    start: time = time(9, 0)
    end: time = time(18, 0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            # The zone belongs to the calendar; a zone on the times would be ambiguous.
            raise ValueError("WorkingHours times must be naive; the calendar carries the timezone")
        if not self.start < self.end:
            raise ValueError(
                f"WorkingHours start {self.start} must be before end {self.end}; "
                "shifts crossing midnight are not supported"
            )

    @property
    def length(self) -> timedelta:
        """Nominal length of a working day."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


DEFAULT_HOURS = WorkingHours()
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})


def _aware(moment: datetime, what: str = "datetime") -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        # Guessing the zone of a naive value would silently move deadlines by hours.
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment


def _whole_days(days: int, what: str) -> int:
    # bool is an int subclass; True working days is surely a bug in the caller.
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"{what} must be an int, got {type(days).__name__}")
    if days < 0:
        raise ValueError(f"{what} must not be negative, got {days}")
    return days


def _hours_delta(hours: float, what: str) -> timedelta:
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise TypeError(f"{what} must be a number, got {type(hours).__name__}")
    if hours < 0:
        raise ValueError(f"{what} must not be negative, got {hours}")
    return timedelta(hours=hours)


class WorkCalendar:
    """Working days and working hours of one organisation.

    ``country`` (and optional ``subdiv``) select public holidays from the ``holidays`` package
    (``holidays.country_holidays``). For Russia the package also lists the government's
    transferred days off (e.g. 2026-12-31) and knows the Saturdays that become working days
    (e.g. 2027-02-20); both are honoured. ``extra_holidays`` adds company days off,
    ``extra_workdays`` forces days to be working and wins over everything else (use it for a
    transferred working Saturday the package does not know yet).
    """

    tz: ZoneInfo

    def __init__(
        self,
        *,
        country: str = "RU",
        tz: str = "Europe/Moscow",
        hours: WorkingHours = DEFAULT_HOURS,
        weekend: frozenset[int] = DEFAULT_WEEKEND,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        subdiv: str | None = None,
    ) -> None:
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {tz!r}") from exc
        try:
            self._holidays = holidays.country_holidays(country, subdiv=subdiv)
        except NotImplementedError as exc:
            raise ValueError(f"the holidays package has no calendar for country {country!r}") from exc
        bad_weekdays = [d for d in weekend if not 0 <= d <= 6]
        if bad_weekdays:
            raise ValueError(f"weekend days must be 0 (Monday) .. 6 (Sunday), got {bad_weekdays}")
        self.country = country
        self.subdiv = subdiv
        self.hours = hours
        self.weekend = frozenset(weekend)
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        # The holidays lookup is cheap but not free, and deadline searches hit the same days
        # over and over; the answer for a date never changes for a given calendar.
        self._cache: dict[date, bool] = {}

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(country={self.country!r}, tz={self.tz.key!r}, "
            f"hours={self.hours.start:%H:%M}-{self.hours.end:%H:%M})"
        )

    # -- days ----------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day.

        Precedence: ``extra_workdays`` (working) > ``extra_holidays`` (day off) > public holidays
        and transferred days off from the ``holidays`` package (day off) > the package's
        weekend working days, i.e. transferred working Saturdays (working) > ``weekend`` (day
        off) > otherwise working. An aware ``datetime`` is first converted to the calendar's tz.
        """
        if isinstance(day, datetime):
            day = _aware(day, "day").astimezone(self.tz).date()
        cached = self._cache.get(day)
        if cached is None:
            cached = self._compute_is_working_day(day)
            self._cache[day] = cached
        return cached

    def _compute_is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        # The membership test also makes the package populate that year, including
        # ``weekend_workdays``, so it must come before reading that set.
        if day in self._holidays:
            return False
        if day.weekday() in self.weekend:
            # Older versions of the package have no such attribute.
            workdays: set[date] = getattr(self._holidays, "weekend_workdays", set())
            return day in workdays
        return True

    def _step_working_day(self, day: date, step: int) -> date:
        """The nearest working day strictly after (step=1) or before (step=-1) ``day``."""
        current = day
        for _ in range(_MAX_SCAN_DAYS):
            current += timedelta(days=step)
            if self.is_working_day(current):
                return current
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days of {day}; check the calendar")

    def local_moment(self, day: date, at: time) -> datetime:
        """The wall-clock time ``at`` on ``day`` in the calendar's tz, returned in UTC."""
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    def end_of_working_hours(self, day: date) -> datetime:
        """Closing time of ``day`` (whether or not it is a working day), in UTC."""
        return self.local_moment(day, self.hours.end)

    def _day_of(self, start: datetime | date) -> date:
        """The day a term counts from: a moment's date in the calendar's tz, a plain date as it is."""
        if isinstance(start, datetime):
            return _aware(start, "start").astimezone(self.tz).date()
        if isinstance(start, date):
            return start
        raise TypeError(f"start must be a date or datetime, got {type(start).__name__}")

    def add_working_days(self, start: datetime | date, days: int) -> datetime:
        """Deadline "within ``days`` working days from ``start``".

        The result is the END of working hours (``hours.end``) of the ``days``-th working day
        strictly after the date of ``start`` in the calendar's tz: the start date itself never
        counts (the day goods arrive is day 0), whatever the time of day. ``start`` may be a
        plain ``date``, taken as that day. ``days=0`` means the end of the start date if it is
        a working day, otherwise the end of the next working day.
        """
        _whole_days(days, "days")
        day = self._day_of(start)
        if days == 0:
            if not self.is_working_day(day):
                day = self._step_working_day(day, 1)
        else:
            for _ in range(days):
                day = self._step_working_day(day, 1)
        return self.end_of_working_hours(day)

    def add_calendar_days(self, start: datetime | date, days: int) -> datetime:
        """Deadline "within ``days`` days from ``start``" (a payment deferral of 30 days).

        The term is counted as an accountant counts it (Civil Code of the RF, art. 191-194): the date of
        ``start`` in the calendar's tz is day 0, whatever the time of day; the term runs through the ``days``-th
        day after it and ends with its working hours, as a deadline in working days does; when that day is not
        a working day, the term ends with the next working day (art. 193). A client on a 10-day deferral from
        10.01 10:00 pays through the end of 20.01, and no one is chased on its morning.
        """
        _whole_days(days, "days")
        day = self._day_of(start)
        day += timedelta(days=days)
        if not self.is_working_day(day):
            day = self._step_working_day(day, 1)
        return self.end_of_working_hours(day)

    def shift_working_days(self, moment: datetime | date, days: int) -> datetime:
        """Move ``moment`` by ``days`` working days keeping its wall-clock time.

        Positive ``days`` go forward, negative backward; only working days strictly after
        (before) the date of ``moment`` are counted. A plain ``date`` is taken as the end of
        working hours of that date. Unlike :meth:`add_working_days` the time of day is kept,
        because reminders ("1 working day before") should fire at the same time of day as
        the deadline they announce.
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {type(days).__name__}")
        if isinstance(moment, datetime):
            local = _aware(moment, "moment").astimezone(self.tz)
        elif isinstance(moment, date):
            local = datetime.combine(moment, self.hours.end, tzinfo=self.tz)
        else:
            raise TypeError(f"moment must be a date or datetime, got {type(moment).__name__}")
        day = local.date()
        step = 1 if days > 0 else -1
        for _ in range(abs(days)):
            day = self._step_working_day(day, step)
        return datetime.combine(day, local.time(), tzinfo=self.tz).astimezone(UTC)

    def subtract_working_days(self, moment: datetime | date, days: int) -> datetime:
        """``days`` working days before ``moment``, same wall-clock time (for reminders).

        E.g. a deadline of Tuesday 18:00 minus 1 working day is Monday 18:00; over a weekend
        or holidays the previous working day is used. See :meth:`shift_working_days`.
        """
        return self.shift_working_days(moment, -_whole_days(days, "days"))

    # -- hours ---------------------------------------------------------------------------

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself if the office is open then, otherwise the next opening time.

        Open means a working day and ``hours.start <= time < hours.end`` (closing time itself
        is already closed).
        """
        local = _aware(moment, "moment").astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day):
            if local < datetime.combine(day, self.hours.start, tzinfo=self.tz):
                return self.local_moment(day, self.hours.start)
            if local < datetime.combine(day, self.hours.end, tzinfo=self.tz):
                return local.astimezone(UTC)
        return self.local_moment(self._step_working_day(day, 1), self.hours.start)

    def previous_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself if the office is open then (closing time included), else the last closing."""
        local = _aware(moment, "moment").astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day):
            if local > datetime.combine(day, self.hours.end, tzinfo=self.tz):
                return self.end_of_working_hours(day)
            if local > datetime.combine(day, self.hours.start, tzinfo=self.tz):
                return local.astimezone(UTC)
        return self.end_of_working_hours(self._step_working_day(day, -1))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment when ``hours`` of working time have passed since ``start``.

        Only time inside working hours of working days counts; time outside is skipped. If
        the amount runs out exactly at closing time, closing time is returned (not the next
        opening). ``hours=0`` gives :meth:`next_working_moment`.
        """
        remaining = _hours_delta(hours, "hours")
        current = self.next_working_moment(start)
        for _ in range(_MAX_SCAN_DAYS * 2):
            day = current.astimezone(self.tz).date()
            # Arithmetic in UTC so that real elapsed time counts, even on a DST change day.
            available = self.end_of_working_hours(day) - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.local_moment(self._step_working_day(day, 1), self.hours.start)
        raise ValueError(f"{hours} working hours is out of range")

    def subtract_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The moment ``hours`` of working time before ``moment`` (mirror of add_working_hours).

        If the amount runs out exactly at opening time, opening time is returned.
        """
        remaining = _hours_delta(hours, "hours")
        current = self.previous_working_moment(moment)
        for _ in range(_MAX_SCAN_DAYS * 2):
            day = current.astimezone(self.tz).date()
            available = current - self.local_moment(day, self.hours.start)
            if remaining <= available:
                return current - remaining
            remaining -= available
            current = self.end_of_working_hours(self._step_working_day(day, -1))
        raise ValueError(f"{hours} working hours is out of range")

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours between ``a`` and ``b``; negative if ``b`` is before ``a``."""
        a = _aware(a, "a")
        b = _aware(b, "b")
        if b < a:
            return -self.working_hours_between(b, a)
        day = a.astimezone(self.tz).date()
        last = b.astimezone(self.tz).date()
        total = timedelta(0)
        while day <= last:
            if self.is_working_day(day):
                opening = max(a, self.local_moment(day, self.hours.start))
                closing = min(b, self.end_of_working_hours(day))
                if closing > opening:
                    total += closing - opening
            day += timedelta(days=1)
        return total / timedelta(hours=1)
