"""What every part of the wording stands on: the translator, the company's time zone, the case's calendar and
clock, and a text of a definition (a label, a template) in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flows.calendar import WorkCalendar
from flows.clock import Clock
from flows.context import case_context, case_label
from flows.model import FieldDef, ProcessDef, local
from flows.templating import TemplateError, render
from services.i18n import Translator


class WordingBase:
    def __init__(
        self, translator: Translator, tz: ZoneInfo, *, calendar: WorkCalendar | None = None, clock: Clock | None = None
    ) -> None:
        """`calendar` and `clock`: the case's, for how late a deadline is (`due`); without them a due date is only
        its moment (a diagram's legend, a test of the words)."""
        self.tr = translator
        self.tz = tz
        self.calendar = calendar
        self.clock = clock

    def t(self, message: str, lang: str | None, **params: Any) -> str:
        return self.tr.t(message, lang, **params)

    def name_quoted(self, name: str, lang: str | None) -> str:
        """A name in quotes as the reader's language writes them, unless it carries its own (`Translator.quoted`)."""
        return self.tr.quoted(name, lang)

    def local(self, text: Any, lang: str | None) -> str:
        return local(text, self.tr.lang(lang))

    def field_label(self, spec: ProcessDef, fdef: FieldDef, data: Mapping[str, Any], lang: str | None) -> str:
        """A field's label as this case reads it in `lang` (a label written as a template, `FieldDef.label`)."""
        if fdef.label_template is None:
            return self.local(fdef.label, lang)
        return self.local(case_label(spec, fdef.label_template, data), lang)

    def template(
        self, text: Any, spec: ProcessDef, data: dict[str, Any], lang: str | None, extra: dict[str, Any] | None = None
    ) -> str:
        source = self.tr.local(text, lang)
        try:
            return render(source, case_context(spec, data, extra, lang=self.tr.lang(lang))).strip()
        except TemplateError:
            return source
