"""Deadline and reminder expressions from process definitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.calendar import WorkCalendar
from flows.deadlines import Deadline, DeadlineError, Offset, Span, parse_deadline, parse_offset

MSK = ZoneInfo("Europe/Moscow")
# Friday 2026-12-18, 15:00 in Moscow: the moment the task is created.
FRIDAY = datetime(2026, 12, 18, 15, 0, tzinfo=MSK)


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def resolve(text: str, data: dict[str, Any] | None = None, base: datetime = FRIDAY) -> datetime | None:
    return parse_deadline(text).resolve(base, data or {}, WorkCalendar())


# -- relative to the task's creation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 minutes", msk(2026, 12, 18, 15, 30)),
        ("30min", msk(2026, 12, 18, 15, 30)),
        ("2 hours", msk(2026, 12, 18, 17, 0)),
        ("2h", msk(2026, 12, 18, 17, 0)),
        ("1.5 hours", msk(2026, 12, 18, 16, 30)),
        # Days and weeks run through the last day, to the end of its working hours (Monday 21, Friday 25)...
        ("3 days", msk(2026, 12, 21, 18, 0)),
        ("1 week", msk(2026, 12, 25, 18, 0)),
        # ... or of the working day after it, when the last one is off (Saturday 19 -> Monday 21).
        ("1 day", msk(2026, 12, 21, 18, 0)),
        # Mon 21 (1), Tue 22 (2), Wed 23 (3), Thu 24 (4), Fri 25 (5): end of that day.
        ("5 working days", msk(2026, 12, 25, 18, 0)),
        ("1 working day", msk(2026, 12, 21, 18, 0)),
        # Friday 15:00-18:00 gives 3 hours, the 4th is Monday 09:00-10:00.
        ("4 working hours", msk(2026, 12, 21, 10, 0)),
        ("in 2 hours", msk(2026, 12, 18, 17, 0)),
        ("5 Working DAYS", msk(2026, 12, 25, 18, 0)),
        ("5 business days", msk(2026, 12, 25, 18, 0)),
        ("5 рабочих дней", msk(2026, 12, 25, 18, 0)),
        ("2 часа", msk(2026, 12, 18, 17, 0)),
        ("через 3 дня", msk(2026, 12, 21, 18, 0)),
    ],
)
def test_relative_forms(text: str, expected: datetime) -> None:
    result = resolve(text)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


def test_parsed_form_is_inspectable() -> None:
    deadline = parse_deadline("  5   working days from arrival_date ")
    assert deadline == Deadline(
        text="5 working days from arrival_date",
        kind="relative",
        span=Span(5, "days", working=True),
        sign=1,
        field="arrival_date",
    )
    assert str(deadline) == "5 working days from arrival_date"
    assert deadline.field_refs == {"arrival_date"}
    assert parse_deadline("2 hours").field_refs == set()
    assert parse_deadline("at shipping_date 09:00").field_refs == {"shipping_date"}


# -- relative to a field ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "arrival",
    [date(2026, 12, 25), "2026-12-25", datetime(2026, 12, 25, 11, 0), "2026-12-25T11:00:00+03:00"],
)
def test_working_days_from_a_date_field_skip_new_year(arrival: object) -> None:
    # Day 0 is Fri 12-25; Mon 28, Tue 29, Wed 30 are days 1-3; 31 Dec and 1-8 Jan are off;
    # Mon 01-11 is day 4 and Tue 01-12 is day 5.
    result = resolve("5 working days from arrival_date", {"arrival_date": arrival})
    assert result == msk(2027, 1, 12, 18, 0)


def test_field_anchored_offsets() -> None:
    data = {"shipping_date": date(2026, 12, 21)}
    # A date-only value stands for the end of working hours of that date.
    assert resolve("2 days after shipping_date", data) == msk(2026, 12, 23, 18, 0)
    assert resolve("1 day before shipping_date", data) == msk(2026, 12, 20, 18, 0)
    assert resolve("2 hours before shipping_date", data) == msk(2026, 12, 21, 16, 0)
    assert resolve("1 working day before shipping_date", data) == msk(2026, 12, 18, 18, 0)
    assert resolve("1 working day before shipping_date", {"shipping_date": "2027-01-11"}) == msk(2026, 12, 30, 18, 0)
    assert resolve("2 working hours after shipping_date", data) == msk(2026, 12, 22, 11, 0)
    assert resolve("3 дня до shipping_date", data) == msk(2026, 12, 18, 18, 0)
    # A datetime value keeps its time for calendar units.
    assert resolve("1 day before shipping_date", {"shipping_date": "2026-12-21 10:30"}) == msk(2026, 12, 20, 10, 30)


def test_at_a_field() -> None:
    assert resolve("at shipping_date", {"shipping_date": date(2026, 12, 22)}) == msk(2026, 12, 22, 18, 0)
    assert resolve("at shipping_date 09:00", {"shipping_date": "2026-12-22"}) == msk(2026, 12, 22, 9, 0)
    assert resolve("at shipping_date", {"shipping_date": "2026-12-22T14:00"}) == msk(2026, 12, 22, 14, 0)
    # An explicit time replaces the time of a datetime value, on its local date.
    utc_value = datetime(2026, 12, 21, 22, 0, tzinfo=UTC)  # already the 22nd in Moscow
    assert resolve("AT shipping_date 12:00", {"shipping_date": utc_value}) == msk(2026, 12, 22, 12, 0)


def test_the_supplier_counts_from_the_return_from_repair_once_there_is_one() -> None:
    """Seed 1: 5 working days from the goods' arrival, and after a repair that did not hold, from their return."""
    deadline = "5 working days from back_from_repair_date or arrival_date"
    assert parse_deadline(deadline).field_refs == {"back_from_repair_date", "arrival_date"}
    # Friday 18.12.2026 arrival: due the next Friday.
    assert resolve(deadline, {"arrival_date": "2026-12-18"}) == msk(2026, 12, 25, 18, 0)
    assert resolve(deadline, {"arrival_date": "2026-12-18", "back_from_repair_date": ""}) == msk(2026, 12, 25, 18, 0)
    # Back from repair on Friday 22.01.2027: due Friday 29.01, whatever the first arrival was.
    back = {"arrival_date": "2026-12-18", "back_from_repair_date": "2027-01-22"}
    assert resolve(deadline, back) == msk(2027, 1, 29, 18, 0)
    assert resolve("5 рабочих дней от back_from_repair_date или arrival_date", back) == msk(2027, 1, 29, 18, 0)
    assert resolve(deadline, {}) is None
    with pytest.raises(DeadlineError):
        parse_deadline("5 working days from back_from_repair_date or")


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_or_missing_field_gives_none(empty: object) -> None:
    assert resolve("5 working days from arrival_date", {"arrival_date": empty}) is None
    assert resolve("at arrival_date", {"arrival_date": empty}) is None
    assert resolve("at arrival_date", {}) is None


def test_field_with_garbage_raises() -> None:
    with pytest.raises(DeadlineError, match="arrival_date") as info:
        resolve("at arrival_date", {"arrival_date": "next week-ish"})
    assert info.value.params["value"] == "next week-ish"
    with pytest.raises(DeadlineError, match="not a date"):
        resolve("at arrival_date", {"arrival_date": 42})


# -- weekly and absolute --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Base is Friday 15:00: Thursday wraps around to the next week.
        ("thursday 18:00", msk(2026, 12, 24, 18, 0)),
        ("Thu 18:00", msk(2026, 12, 24, 18, 0)),
        # Friday 12:00 has already passed today, so next Friday.
        ("fri 12:00", msk(2026, 12, 25, 12, 0)),
        # Friday 18:00 is still ahead today ("at or after base").
        ("friday 18:00", msk(2026, 12, 18, 18, 0)),
        ("friday 15:00", msk(2026, 12, 18, 15, 0)),
        ("friday", msk(2026, 12, 18, 18, 0)),
        ("on monday 10:00", msk(2026, 12, 21, 10, 0)),
        ("next monday 10:00", msk(2026, 12, 21, 10, 0)),
        # "next" means the calendar week after the base's week, so not today.
        ("next friday", msk(2026, 12, 25, 18, 0)),
        ("пятница 18:00", msk(2026, 12, 18, 18, 0)),
        ("в четверг 12:00", msk(2026, 12, 24, 12, 0)),
        ("следующий понедельник 10:00", msk(2026, 12, 21, 10, 0)),
        ("2026-12-31 18:00", msk(2026, 12, 31, 18, 0)),
        ("2026-12-31", msk(2026, 12, 31, 18, 0)),
        ("31.12.2026 12:30", msk(2026, 12, 31, 12, 30)),
    ],
)
def test_weekly_and_absolute(text: str, expected: datetime) -> None:
    assert resolve(text) == expected


def test_next_weekday_from_monday_skips_a_week() -> None:
    monday = msk(2026, 12, 21, 8, 0)
    assert resolve("monday 10:00", base=monday) == msk(2026, 12, 21, 10, 0)
    assert resolve("next monday 10:00", base=monday) == msk(2026, 12, 28, 10, 0)
    assert resolve("next thursday 10:00", base=monday) == msk(2026, 12, 31, 10, 0)


def test_weekly_uses_the_calendar_timezone() -> None:
    # 22:00 UTC on Thursday is already Friday 01:00 in Moscow.
    base = datetime(2026, 12, 17, 22, 0, tzinfo=UTC)
    assert resolve("friday 09:00", base=base) == msk(2026, 12, 18, 9, 0)
    berlin = WorkCalendar(country="DE", tz="Europe/Berlin")
    result = parse_deadline("friday 09:00").resolve(base, {}, berlin)
    assert result == datetime(2026, 12, 18, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_resolve_refuses_naive_base() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_deadline("2 hours").resolve(datetime(2026, 12, 18, 15, 0), {}, WorkCalendar())


# -- bad deadline texts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("soon", "Valid forms"),
        ("5 parsecs", "Unknown time unit"),
        ("5", "Unknown time unit"),
        ("shipping_date", 'write "at shipping_date"'),
        ("1.5 days", "whole numbers"),
        ("2 working weeks", "working weeks"),
        ("5 days from", "Expected a field name"),
        ("5 days from 2026-12-01", "Expected a field name"),
        ("friday 25:00", "Invalid time"),
        ("friday noon", "Invalid time"),
        ("2026-02-30 10:00", "no date"),
        ("next banana", "weekday after"),
        ("3 days from arrival_date and more", "Unexpected"),
        ("at", "Expected a field name"),
    ],
)
def test_bad_deadlines_explain_themselves(text: str, hint: str) -> None:
    with pytest.raises(DeadlineError) as info:
        parse_deadline(text)
    message = str(info.value)
    assert hint in message
    assert info.value.message  # the msgid, for translation
    if text.strip():
        assert text.strip() in message or info.value.params.get("text") == " ".join(text.split())


def test_deadline_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_deadline("whenever")


# -- reminder offsets -----------------------------------------------------------------------

DUE = msk(2027, 1, 12, 18, 0)  # Tuesday after the New Year holidays


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 working day before", msk(2027, 1, 11, 18, 0)),
        # Two working days back crosses the holidays and the transferred 31 December.
        ("2 working days before", msk(2026, 12, 30, 18, 0)),
        ("2 hours before", msk(2027, 1, 12, 16, 0)),
        ("30 minutes before", msk(2027, 1, 12, 17, 30)),
        ("1 day before", msk(2027, 1, 11, 18, 0)),
        ("10 working hours before", msk(2027, 1, 11, 17, 0)),
        ("1 hour after", msk(2027, 1, 12, 19, 0)),
        ("1 working day after", msk(2027, 1, 13, 18, 0)),
        ("за 1 рабочий день", msk(2027, 1, 11, 18, 0)),
        ("за 2 часа", msk(2027, 1, 12, 16, 0)),
        ("30 минут до", msk(2027, 1, 12, 17, 30)),
        ("2 Hours BEFORE", msk(2027, 1, 12, 16, 0)),
    ],
)
def test_offsets(text: str, expected: datetime, cal: WorkCalendar) -> None:
    offset = parse_offset(text)
    assert isinstance(offset, Offset)
    result = offset.apply(DUE, cal)
    assert result == expected
    assert result.tzinfo is UTC


def test_offset_before_a_weekend_deadline(cal: WorkCalendar) -> None:
    # A deadline on Monday 10:00 with "2 working hours before" lands on Friday 17:00.
    assert parse_offset("2 working hours before").apply(msk(2026, 12, 21, 10, 0), cal) == msk(2026, 12, 18, 17, 0)
    assert parse_offset("1 working day before").apply(msk(2026, 12, 21, 10, 0), cal) == msk(2026, 12, 18, 10, 0)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "empty"),
        ("2 hours", "before or after"),
        ("before", "Valid forms"),
        ("2 fortnights before", "Unknown time unit"),
        ("2 hours before lunch", "Unexpected"),
        ("за 2 часа после", "both before and after"),
        ("1.5 working days before", "whole numbers"),
    ],
)
def test_bad_offsets(text: str, hint: str) -> None:
    with pytest.raises(DeadlineError, match=hint):
        parse_offset(text)


def test_offset_and_deadline_together(cal: WorkCalendar) -> None:
    due = parse_deadline("5 working days from arrival_date").resolve(FRIDAY, {"arrival_date": "2026-12-25"}, cal)
    assert due is not None
    remind = parse_offset("1 working day before").apply(due, cal)
    assert remind == msk(2027, 1, 11, 18, 0)
    assert due - remind == timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5 working days from arrival", "9999-12-31"),
        ("5 working days from arrival", date(9999, 12, 28)),
        ("2 days before arrival", "0001-01-01"),
        ("3 working hours after arrival", "9999-12-31T23:00:00"),
        ("2 hours after arrival", datetime(9999, 12, 31, 23, 30)),
    ],
)
def test_a_date_at_the_end_of_the_calendar_gives_no_deadline_instead_of_overflowing(text: str, value: Any) -> None:
    assert resolve(text, {"arrival": value}) is None


def test_a_reminder_of_a_deadline_at_the_end_of_the_calendar_does_not_overflow(cal: WorkCalendar) -> None:
    end = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert parse_offset("2 hours after").apply(end, cal) == end
    start = datetime(1, 1, 1, 1, 0, tzinfo=UTC)
    assert parse_offset("1 working day before").apply(start, cal) == start
