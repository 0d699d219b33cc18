"""Summaries: a form's or a case's fields a line each, a list's entries as blocks or numbered lines with their
total, earlier values under the ones that replaced them — to be read on a phone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows import forms
from flows.context import case_labels
from flows.model import FieldDef, ProcessDef
from services.wording.names import entry_name
from services.wording.values import ValueWords


class SummaryWords(ValueWords):
    def summary(
        self,
        spec: ProcessDef,
        names: list[str],
        data: dict[str, Any],
        lang: str | None,
        fields: Mapping[str, FieldDef] | None = None,
        earlier: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """One line per field, one block per list entry (its title, then its fields indented; a numbered line per
        entry when the list says how one reads, `line:`), files counted
        rather than named by their meaningless file names — to be read on a phone. `earlier`: the values later
        answers replaced (the case's EARLIER), shown under the field's line («ранее: …»)."""
        lines: list[str] = []
        # The case's fields named as the case reads them (a label written as a template); given `fields`, the form's.
        fields = fields if fields is not None else case_labels(spec, spec.fields, data)
        for name in names:
            fdef = fields[name]
            value = data.get(name)
            if fdef.hidden:
                continue
            if fdef.type == "list" and fdef.fields:
                items = value if isinstance(value, list) else []
                if fdef.line is not None:
                    lines += self._entry_lines(spec, fdef, items, data, lang)
                    lines += self.list_total(spec, fdef, items, data, lang)
                    continue
                later = {n for stage in fdef.track.stages for n in stage.requires} if fdef.track else set()
                for index, item in enumerate(items):
                    if lines and lines[-1] != "":
                        lines.append("")  # a blank line sets each entry apart
                    named = fdef.entry or fdef.label  # «Позиция №2», not «Позиции №2»
                    name_of = entry_name(self.tr.local(named, lang), index, len(items), self.tr.lang(lang))
                    lines.append(f"{name_of}:")
                    entry = item if isinstance(item, dict) else {}
                    for k, sub in fdef.fields.items():
                        if sub.hidden:
                            continue
                        if not forms.condition_holds(sub.ask_if, entry) or (k in later and entry.get(k) is None):
                            continue  # not asked for this entry, or not yet: a track's stage asks it
                        shown = _hang(self.entry_value(fdef, k, entry, lang, spec), "      ")
                        lines.append(f"   {self.tr.local(sub.label, lang)}: {shown}")
                if items:
                    lines += self.list_total(spec, fdef, items, data, lang)
                    lines.append("")
                continue
            if name not in data:
                continue
            label = self.tr.local(fdef.label, lang)
            line = f"{label}: {_hang(self.summary_value(fdef, value, lang, spec), '   ')}"
            notes = [n for n in ((earlier or {}).get(name) or []) if isinstance(n, Mapping)]
            if notes:
                asked = self.tr.local(notes[-1].get("as"), lang) if notes[-1].get("as") else ""
                if asked and label.lower() not in asked.lower():
                    # The value now was asked in other words («Дата возврата из ремонта»); words that only add to the
                    # label («Исправленный файл КП» of «Файл КП») would name it twice, the line below says it changed.
                    line += f" ({asked})"
                before = ", ".join(self.summary_value(fdef, n.get("value"), lang, spec) for n in reversed(notes))
                before = _hang(before, "      ")
                line += "\n   " + self.t("earlier: %(values)s", lang, values=before)
            lines.append(line)
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def _entry_lines(
        self, spec: ProcessDef, fdef: FieldDef, items: list[Any], data: dict[str, Any], lang: str | None
    ) -> list[str]:
        """A list whose definition says how an entry reads (`line:`): its label, then a numbered line per entry."""
        if not items:
            return []
        lines = [f"{self.tr.local(fdef.label, lang)}:"]
        for index, item in enumerate(items, 1):
            lines.append(f"{index}. {self.entry_line(spec, fdef, item, data, lang)}")
        return lines

    def entry_line(
        self, spec: ProcessDef, fdef: FieldDef, item: Any, data: dict[str, Any], lang: str | None
    ) -> str:
        """One entry as its list's `line:` says it («Нож … × 40 по 1 350,00 ₽ … ⚠️ в наличии: 35 компл»), for the
        chat's summary and card and the panel's block of the entry alike; empty for a list without one."""
        if fdef.line is None:
            return ""
        return self.template(fdef.line, spec, data, lang, {"item": item if isinstance(item, dict) else {}})

    def list_total(
        self, spec: ProcessDef, fdef: FieldDef, items: list[Any], data: dict[str, Any], lang: str | None
    ) -> list[str]:
        """The list's `total` line (what an order comes to) under its entries; nothing for an empty list."""
        if fdef.total is None or not items:
            return []
        said = self.template(fdef.total, spec, data, lang)
        return [said] if said.strip() else []


def _hang(value: str, indent: str) -> str:
    """A value of several lines with its further lines under its label, not where the next label would be: read
    so on a phone, and so a message cut inside it knows whose value goes on (`services.pieces`)."""
    return value.replace("\n", "\n" + indent)
