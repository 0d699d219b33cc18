"""Deadline and reminder expressions written in process definitions.

Process YAML says things like ``deadline: 5 working days from arrival_date`` or
``remind: 1 working day before``. :func:`parse_deadline` and :func:`parse_offset` turn such
strings into small immutable objects when the process is loaded (so a typo fails at load time,
not when the task is created), and the objects compute concrete moments on a
:class:`~flows.calendar.WorkCalendar` later.

Deadline forms (keywords are case-insensitive; field names keep their spelling):

* relative to the moment the task is created (``base``): ``30 minutes``, ``2 hours``,
  ``3 days``, ``1 week``, ``5 working days``, ``4 working hours``;
* relative to a date/datetime field of the case: ``5 working days from arrival_date``,
  ``2 days after shipping_date``, ``1 day before shipping_date``; ``from back_from_repair_date or
  arrival_date`` counts from the first of the fields that has a value (a later event, when it happened,
  replaces the first one as the anchor);
* a number of a number field of the case: ``deferral_days days`` (the client's deferral, agreed in the deal),
  ``deferral_days days or 5 working days`` (the deadline after ``or`` while the field is empty; without it an
  empty field gives no deadline);
* a field itself: ``at shipping_date`` or ``at shipping_date 09:00``;
* weekly: ``thursday 18:00``, ``fri 12:00`` (the first such moment at or after ``base``),
  ``next monday 10:00`` (that weekday in the calendar week after the week of ``base``);
* absolute: ``2026-12-31 18:00`` (also ``31.12.2026 18:00``).

Russian synonyms are understood too: ``5 рабочих дней от arrival_date``, ``2 часа``,
``пятница 18:00``, ``следующий понедельник 10:00``, reminders ``за 1 рабочий день``.

Semantics:

* ``N working days`` ends at the END of working hours of the N-th working day strictly after
  the anchor's date (the anchor's day is day 0), see ``WorkCalendar.add_working_days``;
  ``N working days before X`` keeps the time of day of X (``WorkCalendar.subtract_working_days``);
* ``N working hours`` counts only time inside working hours;
* ``N days`` (``N weeks``) as a deadline ends at the END of working hours of the N-th day after the
  anchor's date (the anchor's day is day 0), or of the next working day when that day is off — a
  term as an accountant counts it: a 10-day deferral from 10.01 10:00 may be paid through the end
  of 20.01, see ``WorkCalendar.add_calendar_days``; ``N days before X`` and reminder offsets keep
  the time of day;
* minutes and hours are elapsed time;
* a date-only field value stands for the END of working hours of that date (the thing is due
  "by the end of that day"), whether or not it is a working day; ``at field HH:MM`` overrides
  the time of day;
* times without a zone (in the text and in naive field values) are in the calendar's tz;
* when no time is written (``friday``, ``2026-12-31``) the end of working hours is used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from flows.calendar import WorkCalendar
from flows.i18n import _

logger = logging.getLogger(__name__)

__all__ = [
    "Deadline",
    "DeadlineError",
    "DeadlineKind",
    "Offset",
    "Span",
    "Unit",
    "parse_deadline",
    "parse_offset",
]

Unit = Literal["minutes", "hours", "days", "weeks"]
DeadlineKind = Literal["relative", "field", "weekly", "absolute"]

_DEADLINE_FORMS = (
    '"2 hours", "5 working days", "3 days from arrival_date", "1 day before shipping_date", '
    '"at shipping_date", "at shipping_date 09:00", "friday 18:00", "next monday 10:00", '
    '"2026-12-31 18:00"'
)
_OFFSET_FORMS = '"30 minutes before", "2 hours before", "1 working day before", "1 hour after"'


class DeadlineError(ValueError):
    """A deadline or reminder text (or a field value it reads) cannot be used.

    ``message`` is an English msgid (translatable), ``params`` fill its placeholders;
    ``str(error)`` is the filled-in English sentence for logs and admins.
    """

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params: dict[str, Any] = params
        super().__init__(message % params if params else message)


# -- vocabulary -----------------------------------------------------------------------------

_UNITS: dict[str, Unit] = {
    **dict.fromkeys(("minute", "minutes", "min", "mins", "m"), "minutes"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "h"), "hours"),
    **dict.fromkeys(("day", "days", "d"), "days"),
    **dict.fromkeys(("week", "weeks", "wk", "wks", "w"), "weeks"),
    **dict.fromkeys(("минута", "минуту", "минуты", "минут", "мин"), "minutes"),
    **dict.fromkeys(("час", "часа", "часов", "ч"), "hours"),
    **dict.fromkeys(("день", "дня", "дней", "дн", "сутки", "суток"), "days"),
    **dict.fromkeys(("неделя", "неделю", "недели", "недель", "нед"), "weeks"),
}
_WORKING = frozenset(
    {"working", "work", "business", "рабочий", "рабочая", "рабочую", "рабочих", "рабочие", "рабочего", "раб"}
)
_FROM = frozenset({"from", "after", "since", "от", "после", "с"})
_OR = frozenset({"or", "или"})
_BEFORE = frozenset({"before", "до"})
_AT = frozenset({"at"})
_NEXT = frozenset({"next", "следующий", "следующую", "следующее", "следующая", "след"})
# Optional lead-in words that do not change the meaning ("on friday 18:00", "в пятницу 18:00").
_FILLER = frozenset({"on", "by", "в", "во", "к", "ко"})
_IN = frozenset({"in", "через"})
_REMIND_BEFORE_PREFIX = frozenset({"за"})
_WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("monday", "mon", "понедельник", "пн"), 0),
    **dict.fromkeys(("tuesday", "tue", "tues", "вторник", "вт"), 1),
    **dict.fromkeys(("wednesday", "wed", "среда", "среду", "ср"), 2),
    **dict.fromkeys(("thursday", "thu", "thur", "thurs", "четверг", "чт"), 3),
    **dict.fromkeys(("friday", "fri", "пятница", "пятницу", "пт"), 4),
    **dict.fromkeys(("saturday", "sat", "суббота", "субботу", "сб"), 5),
    **dict.fromkeys(("sunday", "sun", "воскресенье", "вс"), 6),
}

_NUMBER_RE = re.compile(r"^\d+(?:[.,]\d+)?$")
# "30min", "2h": split a number glued to its unit.
_GLUED_RE = re.compile(r"^(\d+(?:[.,]\d+)?)([^\W\d_]+\.?)$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_DATE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_IDENT_RE = re.compile(r"^[^\W\d]\w*$")


# -- spans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """An amount of time such as "5 working days" or "30 minutes"."""

    amount: float
    unit: Unit
    working: bool = False

    def __str__(self) -> str:
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount} {'working ' if self.working else ''}{self.unit}"

    def forward(self, anchor: datetime | date, calendar: WorkCalendar, *, deadline: bool) -> datetime:
        """``anchor`` + this span.

        ``deadline=True`` uses deadline semantics for days, working or not (the end of working
        hours of the N-th working day, of the N-th day or the working day after it); ``False``
        keeps the time of day (reminder offsets).
        """
        if self.working:
            if self.unit == "days":
                if deadline:
                    return calendar.add_working_days(anchor, int(self.amount))
                return calendar.shift_working_days(anchor, int(self.amount))
            return calendar.add_working_hours(_moment(anchor, calendar), self._hours())
        if deadline and self.unit in ("days", "weeks"):
            # A term in days ends as one in working days does: with the working hours of its last day.
            return calendar.add_calendar_days(anchor, int(self.amount) * (7 if self.unit == "weeks" else 1))
        return self._calendar_shift(_moment(anchor, calendar), 1, calendar)

    def backward(self, anchor: datetime | date, calendar: WorkCalendar) -> datetime:
        """``anchor`` - this span (working days keep the time of day)."""
        if self.working:
            if self.unit == "days":
                return calendar.subtract_working_days(anchor, int(self.amount))
            return calendar.subtract_working_hours(_moment(anchor, calendar), self._hours())
        return self._calendar_shift(_moment(anchor, calendar), -1, calendar)

    def _hours(self) -> float:
        return self.amount / 60 if self.unit == "minutes" else float(self.amount)

    def _calendar_shift(self, anchor: datetime, sign: int, calendar: WorkCalendar) -> datetime:
        if self.unit in ("minutes", "hours"):
            # Elapsed time: "2 hours" is two real hours even across a DST change.
            delta = timedelta(minutes=self.amount) if self.unit == "minutes" else timedelta(hours=self.amount)
            return (anchor + sign * delta).astimezone(UTC)
        # Days and weeks keep the local wall-clock time: aware arithmetic within one ZoneInfo
        # is wall-clock arithmetic, and converting back to UTC applies the right offset.
        days = int(self.amount) * (7 if self.unit == "weeks" else 1)
        local = anchor.astimezone(calendar.tz)
        return (local + timedelta(days=sign * days)).astimezone(UTC)


def _moment(value: datetime | date, calendar: WorkCalendar) -> datetime:
    """A field value as an aware moment: a date is the end of its working hours."""
    if isinstance(value, datetime):
        return value
    return calendar.end_of_working_hours(value)


# -- public objects -------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A parsed deadline expression; build it with :func:`parse_deadline`."""

    text: str
    kind: DeadlineKind
    span: Span | None = None
    # +1 for "from/after <field>" and plain relative forms, -1 for "before <field>".
    sign: int = 1
    field: str | None = None
    # "from A or B": B is the anchor while A is empty (the goods came back from repair: counted from that).
    or_fields: tuple[str, ...] = ()
    at: time | None = None
    weekday: int | None = None
    next_week: bool = False
    day: date | None = None
    # "deferral_days days": the span's amount is the number this field holds; `otherwise` while it is empty.
    amount_field: str | None = None
    otherwise: Deadline | None = None

    def __str__(self) -> str:
        return self.text

    @property
    def field_refs(self) -> set[str]:
        """Names of the case fields this deadline reads (for the loader to validate)."""
        refs = {self.field, *self.or_fields} if self.field is not None else set()
        if self.amount_field is not None:
            refs.add(self.amount_field)
        return refs | (self.otherwise.field_refs if self.otherwise is not None else set())

    @property
    def number_refs(self) -> set[str]:
        """The fields of `field_refs` read as a number of days or hours (the others are dates)."""
        own = {self.amount_field} if self.amount_field is not None else set()
        return own | (self.otherwise.number_refs if self.otherwise is not None else set())

    def resolve(self, base: datetime, data: Mapping[str, Any], calendar: WorkCalendar) -> datetime | None:
        """The concrete due moment (aware, UTC), or ``None`` if a referenced field is empty.

        ``base`` is the moment the task is created (aware). Field values may be ``date``,
        ``datetime`` (naive means the calendar's tz) or ISO strings. A value that is not a date
        raises :class:`DeadlineError`.
        """
        if base.tzinfo is None or base.utcoffset() is None:
            raise ValueError(f"base must be timezone-aware, got naive {base.isoformat()}")
        try:
            result = self._resolve(base, data, calendar)
        except OverflowError:
            # A date near the ends of the calendar (31.12.9999 kept from before input was bounded, or carried
            # in by a hand-off): no real deadline exists, so there is none, as for an empty field; the case
            # goes on instead of failing on every step.
            logger.warning(
                "deadline %r from %s is beyond the calendar (field %s)", self.text, base.isoformat(), self.field
            )
            return None
        if result is not None:
            logger.debug("deadline %r from %s resolved to %s", self.text, base.isoformat(), result)
        return result

    def _resolve(self, base: datetime, data: Mapping[str, Any], calendar: WorkCalendar) -> datetime | None:
        if self.kind == "relative":
            assert self.span is not None
            span = self.span
            if self.amount_field is not None:
                amount = _field_number(self.amount_field, data, span, self.text)
                if amount is None:
                    return self.otherwise._resolve(base, data, calendar) if self.otherwise is not None else None
                span = Span(amount=amount, unit=span.unit, working=span.working)
            anchor: datetime | date = base
            if self.field is not None:
                value = next(
                    (v for name in (self.field, *self.or_fields) if (v := _field_value(name, data, calendar))), None
                )
                if value is None:
                    return None
                anchor = value
            if self.sign < 0:
                return span.backward(anchor, calendar)
            return span.forward(anchor, calendar, deadline=True)
        if self.kind == "field":
            assert self.field is not None
            value = _field_value(self.field, data, calendar)
            if value is None:
                return None
            if self.at is not None:
                day = value.astimezone(calendar.tz).date() if isinstance(value, datetime) else value
                return calendar.local_moment(day, self.at)
            return _moment(value, calendar).astimezone(UTC)
        if self.kind == "weekly":
            assert self.weekday is not None
            at = self.at or calendar.hours.end
            local = base.astimezone(calendar.tz)
            today = local.date()
            if self.next_week:
                monday_next = today - timedelta(days=today.weekday()) + timedelta(days=7)
                return calendar.local_moment(monday_next + timedelta(days=self.weekday), at)
            day = today + timedelta(days=(self.weekday - today.weekday()) % 7)
            candidate = calendar.local_moment(day, at)
            if candidate < base:
                candidate = calendar.local_moment(day + timedelta(days=7), at)
            return candidate
        assert self.day is not None
        return calendar.local_moment(self.day, self.at or calendar.hours.end)


@dataclass(frozen=True)
class Offset:
    """A parsed reminder offset such as "1 working day before"; see :func:`parse_offset`."""

    text: str
    span: Span
    # -1 for "before" the deadline, +1 for "after" it (overdue nudges).
    sign: int = -1

    def __str__(self) -> str:
        return self.text

    def apply(self, due: datetime, calendar: WorkCalendar) -> datetime:
        """The reminder moment for a deadline ``due`` (aware; result in UTC).

        Working days keep the time of day of ``due`` (Tuesday 18:00 - 1 working day = Monday
        18:00); working hours count only office time; other units are plain time arithmetic.
        """
        if due.tzinfo is None or due.utcoffset() is None:
            raise ValueError(f"due must be timezone-aware, got naive {due.isoformat()}")
        try:
            if self.sign < 0:
                return self.span.backward(due, calendar)
            return self.span.forward(due, calendar, deadline=False)
        except OverflowError:
            # A due moment at the end of the calendar (a stored 31.12.9999): remind at the due moment itself.
            logger.warning("reminder %r of %s is beyond the calendar", self.text, due.isoformat())
            return due.astimezone(UTC)


@dataclass
class _Tokens:
    """A cursor over the words of an expression, with lower-cased copies for keyword checks."""

    text: str
    words: list[str]
    pos: int = 0
    lower: list[str] = dataclass_field(init=False)

    def __post_init__(self) -> None:
        self.lower = [w.casefold() for w in self.words]

    def peek(self) -> str | None:
        return self.lower[self.pos] if self.pos < len(self.words) else None

    def take(self) -> str:
        word = self.words[self.pos]
        self.pos += 1
        return word

    def done(self) -> bool:
        return self.pos >= len(self.words)


def _tokenize(text: str) -> list[str]:
    words: list[str] = []
    for word in text.split():
        glued = _GLUED_RE.match(word)
        if glued:
            words.extend(glued.groups())
        else:
            words.append(word)
    return words


def _unit_word(word: str) -> Unit | None:
    return _UNITS.get(word.casefold().rstrip("."))


def _parse_span(tokens: _Tokens) -> Span:
    """Read "<number> [working] <unit>" at the cursor (a field's name in place of the number reads as 1 here)."""
    number = tokens.take()
    amount = float(number.replace(",", ".")) if _NUMBER_RE.match(number) else 1.0
    working = False
    if tokens.peek() is not None and tokens.peek() in _WORKING:
        tokens.take()
        working = True
    unit_text = tokens.take() if not tokens.done() else ""
    unit = _unit_word(unit_text)
    if unit is None:
        raise DeadlineError(
            _(
                'Unknown time unit "%(unit)s" in "%(text)s". Use minutes, hours, days, weeks, '
                'working hours or working days, for example "5 working days".'
            ),
            unit=unit_text,
            text=tokens.text,
        )
    if working and unit == "weeks":
        raise DeadlineError(
            _(
                '"%(text)s": working weeks are not supported. '
                'Count working days instead, for example "10 working days".'
            ),
            text=tokens.text,
        )
    if unit in ("days", "weeks") and not amount.is_integer():
        raise DeadlineError(
            _('"%(text)s": days and weeks must be whole numbers, for example "3 days" or "2 working days".'),
            text=tokens.text,
        )
    return Span(amount=int(amount) if amount.is_integer() else amount, unit=unit, working=working)


def _parse_time(word: str, text: str) -> time:
    match = _TIME_RE.match(word)
    if match:
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise DeadlineError(
        _('Invalid time "%(time)s" in "%(text)s". Use the 24-hour clock HH:MM, for example 18:00 or 09:30.'),
        time=word,
        text=text,
    )


def _parse_date(word: str, text: str) -> date | None:
    match = _ISO_DATE_RE.match(word)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = _DMY_DATE_RE.match(word)
        if not match:
            return None
        day, month, year = int(match[1]), int(match[2]), int(match[3])
    try:
        return date(year, month, day)
    except ValueError:
        raise DeadlineError(
            _('There is no date "%(date)s" in "%(text)s". Write a real date, for example 2026-12-31 18:00.'),
            date=word,
            text=text,
        ) from None


def _optional_time(tokens: _Tokens) -> time | None:
    if tokens.done():
        return None
    return _parse_time(tokens.take(), tokens.text)


def _expect_end(tokens: _Tokens) -> None:
    if not tokens.done():
        raise DeadlineError(
            _('Unexpected "%(word)s" in the deadline "%(text)s". Valid forms: %(forms)s.'),
            word=" ".join(tokens.words[tokens.pos :]),
            text=tokens.text,
            forms=_DEADLINE_FORMS,
        )


def _expect_field(tokens: _Tokens, after: str) -> str:
    name = tokens.take() if not tokens.done() else ""
    if not _IDENT_RE.match(name):
        raise DeadlineError(
            _('Expected a field name after "%(word)s" in "%(text)s", for example "5 working days from arrival_date".'),
            word=after,
            text=tokens.text,
        )
    return name


def parse_deadline(text: str) -> Deadline:
    """Parse a deadline expression (see the module docstring for the forms).

    Raises :class:`DeadlineError` naming the bad text and listing valid forms.
    """
    if not isinstance(text, str) or not text.strip():
        raise DeadlineError(_('The deadline is empty. Write it like "2 hours", "5 working days" or "friday 18:00".'))
    source = " ".join(text.split())
    tokens = _Tokens(source, _tokenize(source))

    first = tokens.peek()
    if first in _AT:
        tokens.take()
        name = _expect_field(tokens, "at")
        at = _optional_time(tokens)
        _expect_end(tokens)
        return Deadline(text=source, kind="field", field=name, at=at)

    if first in _FILLER and len(tokens.words) > 1:
        tokens.take()
        first = tokens.peek()
    if first in _IN and len(tokens.words) > tokens.pos + 1:
        tokens.take()
        first = tokens.peek()

    assert first is not None
    day = _parse_date(first, source)
    if day is not None:
        tokens.take()
        at = _optional_time(tokens)
        _expect_end(tokens)
        return Deadline(text=source, kind="absolute", day=day, at=at)

    next_week = False
    if first in _NEXT:
        tokens.take()
        next_week = True
        first = tokens.peek()
    if first is not None and first.rstrip(".") in _WEEKDAYS:
        tokens.take()
        weekday = _WEEKDAYS[first.rstrip(".")]
        at = _optional_time(tokens)
        _expect_end(tokens)
        return Deadline(text=source, kind="weekly", weekday=weekday, at=at, next_week=next_week)
    if next_week:
        raise DeadlineError(
            _('Expected a weekday after "next" in "%(text)s", for example "next monday 10:00".'),
            text=source,
        )

    amount_field = tokens.words[tokens.pos] if _starts_a_field_span(tokens, tokens.pos) else None
    if first is not None and (_NUMBER_RE.match(first) or amount_field is not None):
        span = _parse_span(tokens)
        sign = 1
        anchor_field: str | None = None
        or_fields: list[str] = []
        direction = tokens.peek()
        if direction is not None and (direction in _FROM or direction in _BEFORE):
            word = tokens.take()
            sign = -1 if direction in _BEFORE else 1
            anchor_field = _expect_field(tokens, word)
            while tokens.peek() in _OR and not _starts_a_span(tokens, tokens.pos + 1):
                or_fields.append(_expect_field(tokens, tokens.take()))
        otherwise = None
        if amount_field is not None and tokens.peek() in _OR and tokens.pos + 1 < len(tokens.words):
            tokens.take()
            otherwise = parse_deadline(" ".join(tokens.words[tokens.pos :]))
            tokens.pos = len(tokens.words)
        _expect_end(tokens)
        return Deadline(
            text=source,
            kind="relative",
            span=span,
            sign=sign,
            field=anchor_field,
            or_fields=tuple(or_fields),
            amount_field=amount_field,
            otherwise=otherwise,
        )

    if len(tokens.words) == 1 and _IDENT_RE.match(tokens.words[0]):
        raise DeadlineError(
            _(
                'Cannot understand the deadline "%(text)s". If it is a field name, write "at %(text)s" '
                '(or "at %(text)s 09:00") to use the date in that field. Valid forms: %(forms)s.'
            ),
            text=source,
            forms=_DEADLINE_FORMS,
        )
    raise DeadlineError(
        _('Cannot understand the deadline "%(text)s". Valid forms: %(forms)s.'),
        text=source,
        forms=_DEADLINE_FORMS,
    )


def _starts_a_field_span(tokens: _Tokens, pos: int) -> bool:
    """A field's name followed by a unit ("deferral_days days", "deferral_days working days") at `pos`."""
    if pos + 1 >= len(tokens.words) or not _IDENT_RE.match(tokens.words[pos]):
        return False
    if tokens.words[pos].casefold() in _WORKING or _unit_word(tokens.words[pos]) is not None:
        return False
    following = tokens.lower[pos + 1]
    return following in _WORKING or _unit_word(following) is not None


def _starts_a_span(tokens: _Tokens, pos: int) -> bool:
    """A number or a field's number at `pos`: a deadline of its own after "or", not another anchor field."""
    return pos < len(tokens.words) and (bool(_NUMBER_RE.match(tokens.words[pos])) or _starts_a_field_span(tokens, pos))


def parse_offset(text: str) -> Offset:
    """Parse a reminder offset relative to a deadline.

    Forms: ``30 minutes before``, ``2 hours before``, ``1 working day before``,
    ``2 working hours before``, ``1 hour after`` (for overdue nudges); Russian
    ``за 1 рабочий день``, ``за 2 часа``, ``1 час после``.
    """
    if not isinstance(text, str) or not text.strip():
        raise DeadlineError(_('The reminder time is empty. Write it like "2 hours before".'))
    source = " ".join(text.split())
    tokens = _Tokens(source, _tokenize(source))
    sign: int | None = None
    if tokens.peek() in _REMIND_BEFORE_PREFIX:
        tokens.take()
        sign = -1
    first = tokens.peek()
    if first is None or not _NUMBER_RE.match(first):
        raise DeadlineError(
            _('Cannot understand the reminder time "%(text)s". Valid forms: %(forms)s.'),
            text=source,
            forms=_OFFSET_FORMS,
        )
    span = _parse_span(tokens)
    direction = tokens.peek()
    if direction is not None and (direction in _BEFORE or direction in ("after", "после")):
        tokens.take()
        word_sign = -1 if direction in _BEFORE else 1
        if sign is not None and word_sign != sign:
            raise DeadlineError(
                _('"%(text)s" says both before and after. Write for example "2 hours before".'),
                text=source,
            )
        sign = word_sign
    if sign is None:
        raise DeadlineError(
            _('Say whether the reminder "%(text)s" comes before or after the deadline, for example "%(text)s before".'),
            text=source,
        )
    if not tokens.done():
        raise DeadlineError(
            _('Unexpected "%(word)s" in the reminder time "%(text)s". Valid forms: %(forms)s.'),
            word=" ".join(tokens.words[tokens.pos :]),
            text=source,
            forms=_OFFSET_FORMS,
        )
    return Offset(text=source, span=span, sign=sign)


# -- field values ---------------------------------------------------------------------------


def _field_number(name: str, data: Mapping[str, Any], span: Span, text: str) -> float | int | None:
    """The number of days (hours, …) the field holds; ``None`` when missing or empty."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: float | None = None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            number = None
    if number is None or number != number or number < 0 or (span.unit in ("days", "weeks") and not number.is_integer()):
        raise DeadlineError(
            _('Field "%(field)s" holds "%(value)s": the deadline "%(text)s" cannot count it.'),
            field=name,
            value=str(value),
            text=text,
        )
    return int(number) if number.is_integer() else number


def _field_value(name: str, data: Mapping[str, Any], calendar: WorkCalendar) -> datetime | date | None:
    """The field as a date or an aware datetime; ``None`` when missing or empty."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        raw = value.strip()
        if not raw:
            return None
        try:
            if len(raw) == 10:
                return date.fromisoformat(raw)
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise DeadlineError(
                _(
                    'Field "%(field)s" holds "%(value)s", which is not a date. '
                    "Expected a date like 2026-12-25 or a date and time like 2026-12-25 18:00."
                ),
                field=name,
                value=raw,
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            # Naive values come from people typing wall-clock times in chat: office time.
            return value.replace(tzinfo=calendar.tz)
        return value
    if isinstance(value, date):
        return value
    raise DeadlineError(
        _(
            'Field "%(field)s" holds "%(value)s", which is not a date. '
            "Expected a date like 2026-12-25 or a date and time like 2026-12-25 18:00."
        ),
        field=name,
        value=str(value),
    )
