"""Corrections from a form's summary: a field asked again, and a list corrected one entry at a time (an entry
picked, one of its fields or all of it asked again, an entry added or taken out, the whole list asked again)."""

from __future__ import annotations

from typing import Any

from flows import forms
from flows import values as field_values
from flows.i18n import _
from flows.model import FieldDef
from flows.runtime import EngineError
from flows.values import number_sign
from tgbot.form_base import AnyTask, FormBase, with_step


class FormCorrections(FormBase):
    async def edit(self, task: AnyTask, step_no: int) -> None:
        _loaded, fields, names, _draft, step = await self._current(task, step_no)
        if step is not None:
            raise EngineError(_("Finish the form first; then you can correct any field."))
        top = [n for n in names]
        self.say(
            self.r.t("Which field do you want to correct?", self.lang),
            with_step(self.r.field_picker(fields, top, task.id, self.lang), step_no),
        )

    async def edit_field(self, task: AnyTask, name: str, step_no: int) -> None:
        loaded, fields, names, draft, _step = await self._current(task, step_no)
        if name not in names:
            raise EngineError(_("That option is no longer available."))
        if fields[name].type == "list" and draft["values"].get(name):
            # A list is corrected one entry at a time (or one added, or one taken out), not asked all again.
            label = self.r.local(fields[name].label, self.lang)
            self.say(
                self.r.t("Which entry of “%(label)s” do you want to correct?", self.lang, label=label),
                with_step(self.r.entry_picker(loaded.spec, fields, names, name, draft, task.id, self.lang), step_no),
            )
            return
        forms.reset_field(draft, name)
        task.draft = draft
        await self.ask(task)

    async def _summary_state(
        self, task: AnyTask, step_no: int
    ) -> tuple[dict[str, FieldDef], list[str], dict[str, Any]]:
        """The form at its summary (the only place corrections start from), or a refusal."""
        _loaded, fields, names, draft, step = await self._current(task, step_no)
        if step is not None:
            raise EngineError(_("Finish the form first; then you can correct any field."))
        return fields, names, draft

    @staticmethod
    def _entry_ref(
        fields: dict[str, FieldDef], names: list[str], draft: dict[str, Any], arg: str
    ) -> tuple[str, int | None, str | None]:
        """A button's «list.entry.field» (numbers, to fit in the button): the list's name, the entry, the field."""
        try:
            numbers = [int(part) for part in arg.split(".")]
            if any(number < 0 for number in numbers):
                raise IndexError(arg)  # never sent by the bot: a made-up button
            name = names[numbers[0]]
            subs = list(fields[name].fields or {})
            index = numbers[1] if len(numbers) > 1 else None
            sub = subs[numbers[2]] if len(numbers) > 2 else None
            if not subs or (index is not None and not 0 <= index < len(draft["values"].get(name) or [])):
                raise IndexError(index)  # not a list, or an entry no longer there
        except (ValueError, IndexError):
            raise EngineError(_("That option is no longer available.")) from None
        return name, index, sub

    async def pick_entry(self, task: AnyTask, arg: str, step_no: int) -> None:
        """One entry picked: which of its fields to correct, or all of it, or take it out."""
        fields, names, draft = await self._summary_state(task, step_no)
        name, index, _sub = self._entry_ref(fields, names, draft, arg)
        if index is None:
            raise EngineError(_("That option is no longer available."))
        label = self.r.local(fields[name].entry or fields[name].label, self.lang)
        self.say(
            self.r.t("%(entry)s: what do you want to correct?", self.lang, entry=self._numbered(label, index)),
            with_step(self.r.entry_field_picker(fields, names, name, index, draft, task.id, self.lang), step_no),
        )

    def _numbered(self, label: str, index: int) -> str:
        """An entry named with its number whatever the list's length (the one picked, or the one just taken out)."""
        return f"{label} {number_sign(self.r.tr.lang(self.lang))}{index + 1}"

    async def correct_entry(self, task: AnyTask, arg: str, step_no: int) -> None:
        fields, names, draft = await self._summary_state(task, step_no)
        name, index, sub = self._entry_ref(fields, names, draft, arg)
        if index is None:
            raise EngineError(_("That option is no longer available."))
        try:
            forms.reset_entry(fields, draft, name, index, sub)  # only a field the entry is asked here
        except field_values.InvalidAnswer as exc:
            raise EngineError(exc.message, **exc.params) from None
        task.draft = draft
        await self.ask(task)

    async def change_entries(self, task: AnyTask, action: str, arg: str, step_no: int) -> None:
        """«➕ Add an entry», «🗑 Remove this entry», «🔁 Enter the whole list again»."""
        fields, names, draft = await self._summary_state(task, step_no)
        name, index, _sub = self._entry_ref(fields, names, draft, arg)
        fdef = fields[name]
        try:
            if action == "add":
                forms.add_entry(fields, names, draft, name)
            elif action == "drop" and index is not None:
                forms.remove_entry(fields, names, draft, name, index)
                label = self.r.local(fdef.entry or fdef.label, self.lang)
                said = self.r.t("🗑 %(entry)s is removed.", self.lang, entry=self._numbered(label, index))
                if fdef.count is not None:
                    count = self.r.local(fields[fdef.count].label, self.lang)
                    said += " " + self.r.t(
                        "“%(label)s” is now %(value)s.",
                        self.lang,
                        label=count,
                        value=len(draft["values"].get(name) or []),
                    )
                self.say(said)
            elif action == "all":
                forms.reset_field(draft, name)
            else:
                raise EngineError(_("That option is no longer available."))
        except field_values.InvalidAnswer as exc:
            raise EngineError(exc.message, **exc.params) from None
        task.draft = draft
        await self.ask(task)
