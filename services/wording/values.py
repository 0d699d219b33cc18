"""Values in words: a moment and a deadline in the company's time zone, a field's value as the reader reads it,
in a summary and as one line of a list's entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flows import forms
from flows import values as field_values
from flows.model import FILE_TYPES, FieldDef, ProcessDef
from flows.units import unit_text
from services.wording.files import FileWords, _refs


class ValueWords(FileWords):
    def when(self, moment: datetime | None, lang: str | None = None) -> str:
        """A moment in the company's time zone, in the reader's way («07.12.2026 18:00», «Dec 7, 2026 18:00»)."""
        if moment is None:
            return "—"
        return _when(moment, self.tz, self.tr.lang(lang))

    def due(self, moment: datetime | None, lang: str | None = None) -> str:
        """A task's due date for a person («01.12.2026 09:00»), marked when it has passed by the case's clock:
        «01.12.2026 09:00 ⚠️ просрочено на 3 раб. дня». How late in the calendar's working time (as deadlines are
        set): whole working days, else whole hours, else just the mark (past it out of hours, or by minutes).
        True when rendered: a card sent before the deadline keeps its words until something edits it."""
        when = self.when(moment, lang)
        if moment is None or self.clock is None or self.calendar is None:
            return when
        now = self.clock.now()
        if moment >= now:
            return when
        hours = self.calendar.working_hours_between(moment, now)
        day = self.calendar.hours.length.total_seconds() / 3600
        if hours >= day:
            late = self.tr.tn("⚠️ %(n)s working day overdue", "⚠️ %(n)s working days overdue", int(hours // day), lang)
        elif hours >= 1:
            late = self.tr.tn("⚠️ %(n)s hour overdue", "⚠️ %(n)s hours overdue", int(hours), lang)
        else:
            late = self.t("⚠️ overdue", lang)
        return f"{when} {late}"

    def format_field(
        self,
        fdef: FieldDef,
        value: Any,
        lang: str | None,
        spec: ProcessDef,
        names: dict[int, str] | None = None,
        entry: Mapping[str, Any] | None = None,
    ) -> str:
        """`value` of `fdef` as a reader reads it; `entry`: the list's entry it belongs to, whose own unit a number
        with `unit_from` takes («Количество: 40 компл»)."""
        if value is None or value == "" or value == []:
            return "—"
        if fdef.type == "text" and isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
            return self.local(value, lang) or "—"  # written by the system in every language (a report's summary)
        if fdef.type in ("photo", "document"):
            files = value if isinstance(value, list) else [value]
            return self.files_words([f for f in files if isinstance(f, dict)], lang)
        if fdef.type == "directory" and fdef.directory:
            found = spec.directory_entry(fdef.directory, str(value))
            return found.name if found else str(value)
        if fdef.type == "company":
            return str(value.get("name", "?")) if isinstance(value, dict) else str(value)
        if fdef.type == "user":
            return (names or {}).get(int(value), str(value)) if isinstance(value, int) else str(value)
        if fdef.type == "choice" and fdef.options:
            return self.tr.local(fdef.options.get(str(value), str(value)), lang)
        if fdef.type == "bool":
            return self.t("yes", lang) if value else self.t("no", lang)
        try:
            shown = field_values.format_value(fdef.type, value, lang=self.tr.lang(lang))
        except (ValueError, TypeError, KeyError, ArithmeticError):  # a number no answer could give (1e30): as stored
            return str(value)
        own = (entry or {}).get(fdef.unit_from) if fdef.unit_from else None
        unit = "" if fdef.type != "number" else unit_text(str(own), self.tr.lang(lang), value) if own else (
            fdef.unit_after(value, self.tr.lang(lang))
        )  # fmt: skip
        return f"{shown} {unit}" if unit else shown  # «Количество: 2 шт», «Deferral, days: 30» (the label says it)

    def summary_value(
        self,
        fdef: FieldDef,
        value: Any,
        lang: str | None,
        spec: ProcessDef,
        entry: Mapping[str, Any] | None = None,
        names: dict[int, str] | None = None,
    ) -> str:
        if fdef.type == "photo":
            count = len(_refs(value))
            return self.photos(count, lang) if count else "—"
        if fdef.type == "document":
            refs = _refs(value)
            return self.files_words(refs, lang) if refs else "—"
        return self.format_field(fdef, value, lang, spec, names, entry)

    def entry_value(
        self,
        fdef: FieldDef,
        key: str,
        entry: Mapping[str, Any],
        lang: str | None,
        spec: ProcessDef,
        names: dict[int, str] | None = None,
    ) -> str:
        """A list entry's field `key` in the summary's words — the chat's summary and card, and the panel's block of
        the entry (which names people by `names`), one path so the two cannot say it differently; the text field
        its numbers take their unit from (`unit_from`: 1C's «компл») as the reader names the unit («set»), as the
        numbers say it."""
        sub, value = (fdef.fields or {})[key], entry.get(key)
        if key in fdef.unit_fields() and isinstance(value, str) and value:
            return unit_text(value, self.tr.lang(lang))
        return self.summary_value(sub, value, lang, spec, entry, names)

    def entry_words(self, fdef: FieldDef, entry: Any, lang: str | None, spec: ProcessDef) -> str:
        """One entry of a list in a line («УЗИ аппарат, Под заказ, 3 500 000,00 ₽»), for a list asked again and the
        buttons that pick an entry: its answers in the order of the list's fields (a stored entry's keys may come
        back in any order), each in the summary's words; files, unanswered fields and those not asked of it left
        out, as the summary leaves them."""
        item = entry if isinstance(entry, Mapping) else {}
        return ", ".join(
            self.entry_value(fdef, key, item, lang, spec)
            for key, sub in (fdef.fields or {}).items()
            if sub.type not in FILE_TYPES
            and not sub.hidden
            and item.get(key) not in (None, "")
            and not isinstance(item[key], list)  # nested values (a list in a list) say nothing in one line
            and forms.condition_holds(sub.ask_if, item)
        )


@lru_cache(maxsize=1024)
def _when(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    # A step words the same deadlines several times (the card, its notification's variables, the stage's line).
    return field_values.datetime_text(moment.astimezone(tz), lang)
