"""Type hints: what a question for a field asks the person to send («Send a date: …», «Send a whole number from 1
to 100000.»), said before the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any

from babel.dates import format_date

from flows import forms
from flows import values as field_values
from flows.i18n import _
from flows.model import FieldDef
from services.wording.base import WordingBase

# A form's fields and their values now (the form's answers over the case's): what a question's rules may name.
Around = tuple[Mapping[str, FieldDef], Mapping[str, Any]]


class HintWords(WordingBase):
    def _number_range(self, fdef: FieldDef, lang: str | None, around: Around) -> str:
        """The range a number may take, said before the answer: its `min` and `max`, and its bounds that are other
        values of the case as they are now — «от 0 до 1 800» for the kilos a production makes of the report's 1 800,
        which was learnt only from the refusal of a larger figure."""
        lowest, highest = forms.number_limits(fdef, *around)
        if lowest is None and highest is None:
            return self.t(_("Send a number."), lang)  # bounds still empty: nothing to say of them yet
        low = field_values.limit_text(lowest, lang) if lowest is not None else None
        high = field_values.limit_text(highest, lang) if highest is not None else None
        whole = fdef.integer
        if low is not None and high is not None:
            text = (
                _("Send a whole number from %(low)s to %(high)s.")
                if whole
                else _("Send a number from %(low)s to %(high)s.")
            )
        elif low is not None:
            text = _("Send a whole number, at least %(low)s.") if whole else _("Send a number, at least %(low)s.")
        else:
            text = _("Send a whole number, at most %(high)s.") if whole else _("Send a number, at most %(high)s.")
        return self.t(text, lang, low=low, high=high)

    def type_hint(self, fdef: FieldDef, lang: str | None, around: Around | None = None) -> str:
        """What the question asks the person to send. `around`: the form's other fields and their values now (the
        form's answers over the case's), which a date's rules may name."""
        hints = {
            "number": _("Send a number."),
            "money": _("Send an amount, for example %(whole)s or %(cents)s."),
            "datetime": _("Send a date and time as DD.MM.YYYY HH:MM."),
            "photo": _("Send one or more photos."),
            "document": _("Send a file."),
            "bool": _("Choose yes or no."),
            "company": _("Type the company's name: I will find it or create it."),
        }
        message = hints.get(fdef.type)
        if fdef.contact == "phone":
            message = _("Send a phone number with its code, for example +7 900 123-45-67.")
        elif fdef.contact == "email":
            message = _("Send an e-mail address, for example name@example.com.")
        elif fdef.full_name:
            message = _("Send the surname and the first name, for example Ivanova Marina.")
        if fdef.type == "document" and fdef.multiple:  # several files in one answer: not «a file»
            if fdef.accept:
                return self.t("Send the files (%(types)s), one or several.", lang, types=", ".join(fdef.accept))
            message = _("Send the files, one or several.")
        elif fdef.type == "document" and fdef.accept:
            return self.t("Send a file (%(types)s).", lang, types=", ".join(fdef.accept))
        limited = fdef.min is not None or fdef.max is not None or fdef.bounds()
        if fdef.type == "number" and fdef.contact is None and limited:
            return self._number_range(fdef, lang, around or ({}, {}))  # said before the answer, not only after one
        if fdef.type == "date":
            return self._date_hint(fdef, lang, around or ({}, {}))
        if message and fdef.type == "money":  # the amounts as the reader writes them, as its refusals give them
            return self.t(message, lang, **field_values.AMOUNT_EXAMPLES)
        return self.t(message, lang) if message else ""

    def _date_hint(self, fdef: FieldDef, lang: str | None, around: Around) -> str:
        """The ways a date is typed, with an example the field takes today (its `not_after: today`, `working_day`
        and such) and with what the form already holds (a return `not_before` a shipping answered as 20.12): a
        person copying «7 декабря» on 6 December into a date of the past was refused. «today» is offered only where
        today itself is taken; where it alone is, no other day is shown."""
        today, code, takes = self._day_rules(fdef, lang, around)
        fields, known = around
        prefer = forms.date_preference(fdef)
        step = -1 if prefer == "past" else 1
        near = (today + timedelta(days=step * n) for n in range(1, 32))
        # Today's neighbourhood first; failing it, the days around a date another answer sets as a bound (tried only
        # then: most questions stop at tomorrow or yesterday); today last, where it alone is taken.
        bounded = (day for other in forms.date_rule_days(fdef, fields, known) for day in _days_around(other, step))
        example = next((day for day in chain(near, bounded, (today,)) if takes(day)), None)
        if example == today:
            return self.t("Send a date: DD.MM.YYYY or “today”.", lang)
        shown = _day_month(example or today + timedelta(days=step), code)
        if example is not None and _read(shown, today, forms.date_lean(fdef, fields, known), code) != example:
            # A day the words alone would not be read as (a year away from the answers it leans from): with its year.
            shown = _day_month(example, code, with_year=True)
        if takes(today):
            return self.t("Send a date: DD.MM.YYYY, “%(example)s” or “today”.", lang, example=shown)
        return self.t("Send a date: DD.MM.YYYY or as “%(example)s”.", lang, example=shown)

    def _day_rules(self, fdef: FieldDef, lang: str | None, around: Around) -> tuple[date, str, Callable[[date], bool]]:
        """Today where the reader is, their language's code, and whether the field takes a day on the answers
        `around` holds (its rules, a working day)."""
        now = self.clock.now() if self.clock is not None else datetime.now(self.tz)
        today = now.astimezone(self.tz).date()
        code = self.tr.lang(lang)
        fields, known = around

        def takes(day: date) -> bool:
            problem = forms.date_rule_problem(fdef, day.isoformat(), fields, known, today, code, calendar=self.calendar)
            return problem is None

        return today, code, takes

    def date_offers(self, fdef: FieldDef, lang: str | None, around: Around) -> list[tuple[date, str]]:
        """The days a date question offers as buttons, «Сегодня, 6 декабря» and «Завтра, 7 декабря», each only where
        the field takes it today (its rules, a working day, the other answers `around` names): a button that would be
        refused is no help; where it takes neither, the first day it does («Ближайшая дата: 14 декабря»). None for a
        date and time, whose hour a button cannot know."""
        if fdef.type != "date":
            return []
        today, code, takes = self._day_rules(fdef, lang, around)
        offered = []
        for day, label in ((today, _("Today, %(day)s")), (today + timedelta(days=1), _("Tomorrow, %(day)s"))):
            if takes(day):
                offered.append((day, self.t(label, lang, day=_day_month(day, code))))
        if not offered and forms.date_preference(fdef) != "past":
            # Neither is taken (a pre-order ships next week, a return comes after the shipping): one press for the
            # day a refusal would name as the earliest, within a month. A date of the past looks back, not ahead.
            first = next((today + timedelta(days=n) for n in range(2, 32) if takes(today + timedelta(days=n))), None)
            if first is not None:
                offered.append((first, self.t("Earliest: %(day)s", lang, day=_day_month(first, code))))
        return offered


def _days_around(day: date, step: int) -> Iterator[date]:
    """`day` and the days within a month of it, nearest first, those in the direction of `step` before the others;
    none beyond the calendar (a date of 9999 kept from before input was bounded)."""
    for n in range(32):
        for sign in (step, -step):
            try:
                yield day + timedelta(days=sign * n)
            except OverflowError:
                continue


def _day_month(day: date, lang: str, *, with_year: bool = False) -> str:
    """A day as people type it without its year: «7 декабря», «Dec 7»; `with_year`: «15 января 2027», «Jan 15, 2027»."""
    if with_year:
        return format_date(day, "MMM d, y" if lang == "en" else "d MMMM y", locale=lang)
    return format_date(day, "MMM d" if lang == "en" else "d MMMM", locale=lang)


def _read(shown: str, today: date, lean: tuple[str | None, date | None], lang: str) -> date | None:
    """The day an example typed as it is shown would be read as (as `tgbot.form_answers` reads an answer, leaning as
    `forms.date_lean` says)."""
    prefer, anchor = lean
    try:
        day: date = field_values.parse_text("date", shown, today=today, prefer=prefer, anchor=anchor, lang=lang)
    except field_values.InvalidAnswer:
        return None
    return day
