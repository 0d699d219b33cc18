"""A form in chat: each question with its buttons (keep, pick, done, skip, back, cancel), the summary to confirm,
and the pickers that correct a field or an entry of a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.forms import Step, can_add_entry, can_remove_entry, describe_current, entry_asks, step_label
from flows.i18n import _
from flows.model import FieldDef, ProcessDef
from flows.values import number_sign
from services.wording import Wording
from services.wording.hints import Around
from services.wording.names import entry_name
from tgbot.callbacks import FormCb, button, button_label, keyboard, pack

# What leaving a form does, as its button says it: a request not started, a decision or a move not made (the
# task stays, undecided), a task's answers put off till later. A bare «Отмена» under «Причина отказа» read as
# cancelling the whole case.
CANCEL = _("✖️ Cancel")
CHANGE_MIND = _("↩️ Change my mind")
LATER = _("⏸ Later")


class FormPrompts(Wording):
    """Wording plus a form's questions, summary and correction pickers (`tgbot.render.Renderer` has them)."""

    def more_question(self, fdef: FieldDef, step: Step, lang: str | None) -> str:
        """Whether a list has one more entry. The next entry by its name and number, the name first: «Позиция №4 —
        добавить?» (after «Добавить» the name would have to be declined, «позицию»: the definition gives it in the
        nominative); an optional list is asked whether it has any entry at all: «Работы — добавить?»."""
        if not step.index:
            return self.t("“%(label)s” — add?", lang, label=self.tr.local(fdef.label, lang))
        if fdef.entry is not None:
            entry = f"{self.tr.local(fdef.entry, lang)} {number_sign(self.tr.lang(lang))}{(step.index or 0) + 1}"
            return self.t("Add “%(entry)s”?", lang, entry=entry)
        return self.t("Add one more “%(label)s”?", lang, label=self.tr.local(fdef.label, lang))

    def more_answer(self, step: Step, yes: bool, lang: str | None) -> str:
        """The buttons under `more_question`, and the answer shown under it once pressed."""
        if yes:
            return self.t("Yes", lang)
        return self.t("No, none", lang) if not step.index else self.t("No, that's all", lang)

    def question(
        self,
        spec: ProcessDef,
        fields: Mapping[str, FieldDef],
        step: Step,
        task_id: int,
        lang: str | None,
        *,
        options: list[tuple[str, str]],
        collected: int,
        can_back: bool,
        cancel: str = CANCEL,
        correction: bool = False,
        around: Around | None = None,
    ) -> tuple[str, dict[str, Any] | None]:
        """`cancel`: what leaving the form does, as its button says it (`cancel_label`). `correction`: a field
        corrected on its own («✏️ …» on the case), where an optional field answered with nothing is emptied.
        `around`: the other fields and their values now, which the question's date rules and bounds may name."""
        rows: list[list[dict[str, Any]]] = []
        if step.is_more:
            text = self.more_question(fields[step.name], step, lang)
            rows.append(
                [
                    button(self.more_answer(step, True, lang), pack(FormCb, "yes", task_id, "", -1)),
                    button(self.more_answer(step, False, lang), pack(FormCb, "no", task_id, "", -1)),
                ]
            )
        else:
            assert step.field is not None
            fdef = step.field
            text = f"✏️ {step_label(fields, step, self.tr.lang(lang))}"
            if fdef.hint:
                text += f"\n{self.tr.local(fdef.hint, lang)}"
            hint = self.type_hint(fdef, lang, around)
            if hint:
                text += f"\n{hint}"
            if step.is_file and collected:
                text += "\n" + self.t("Received: %(n)s. Send more or press “Done”.", lang, n=collected)
            if step.can_keep:
                # Asked again (a returned request, a correction): what the case has now, and a way to keep it.
                if step.whole:  # a list kept as a whole: its entries, one line each
                    entries = step.current if isinstance(step.current, list) else []
                    now = "\n".join(
                        f"{number}. {self.entry_words(fields[step.name], entry, lang, spec)}"
                        for number, entry in enumerate(entries, start=1)
                        if isinstance(entry, Mapping)
                    )
                else:
                    now = describe_current(step, self.tr.lang(lang), dict(options))
                if fdef.type == "photo" and not step.whole:  # photos counted: their file names mean nothing
                    count = len(step.current) if isinstance(step.current, list) else 1
                    now = self.photos(count, lang)
                text += "\n" + self.t("Now: %(value)s", lang, value=now)
                rows.append([button(self.t("✅ Keep as it is", lang), pack(FormCb, "keep", task_id, "", -1))])
            for key, label in options:
                rows.append([button(button_label(label), pack(FormCb, "pick", task_id, key, -1))])
            if step.is_file and collected:  # before anything came, «Done» could only refuse (or read as skipping)
                rows.append([button(self.t("✅ Done", lang), pack(FormCb, "files", task_id, "", -1))])
            # An optional field the case already has: «Keep as it is» says what skipping would (an empty answer
            # keeps the value); in a correction an empty answer empties it, and the button says so. Once files came,
            # «Done» keeps them: «Skip» beside it read as throwing them away.
            received = step.is_file and collected > 0
            if not fdef.required and (correction or not step.can_keep) and not received:
                skip = self.t("🗑 Clear", lang) if correction and step.can_keep else self.t("⏭ Skip", lang)
                skipping = pack(FormCb, "skip", task_id, "", -1)
                rows.append([button(skip, skipping)])
        nav: list[dict[str, Any]] = []
        if can_back:
            nav.append(button(self.t("⬅️ Back", lang), pack(FormCb, "back", task_id, "", -1)))
        nav.append(self._leave(cancel, task_id, lang))
        rows.append(nav)
        return text, keyboard(rows)

    def form_summary(
        self,
        spec: ProcessDef,
        fields: Mapping[str, FieldDef],
        names: list[str],
        draft: dict[str, Any],
        task_id: int,
        lang: str | None,
        title: str,
        decision: str | None = None,
        given: list[str] | None = None,
        cancel: str = CANCEL,
    ) -> tuple[str, dict[str, Any] | None]:
        """The answers to confirm, the decision first (what «Confirm» will do), in full: the caller sends a
        long one as several messages (`pieces`). `given`: the lines of what the case starts with, not asked (an
        order's positions and total), above the answers."""
        lines = [self.t("Please check:", lang), *([title, ""] if title else [])]
        if decision:
            lines += [self.t("Decision: %(decision)s", lang, decision=decision), ""]
        if given:
            lines += [*given, ""]
        lines += self.summary(spec, names, draft["values"], lang, fields)
        rows = [[button(self.t("✅ Confirm", lang), pack(FormCb, "confirm", task_id, "", -1))]]
        if names:
            rows.append([button(self.t("✏️ Correct a field", lang), pack(FormCb, "edit", task_id, "", -1))])
        rows.append(
            [
                button(self.t("⬅️ Back", lang), pack(FormCb, "back", task_id, "", -1)),
                self._leave(cancel, task_id, lang),
            ]
        )
        return "\n".join(lines), keyboard(rows)

    def _leave(self, cancel: str, task_id: int, lang: str | None) -> dict[str, Any]:
        """The form's way out: «⏸ Отложить» puts it aside with its answers kept; the others drop the draft."""
        leave = pack(FormCb, "later" if cancel == LATER else "cancel", task_id, "", -1)
        return button(self.t(cancel, lang), leave)

    def entry_picker(
        self,
        spec: ProcessDef,
        fields: Mapping[str, FieldDef],
        names: list[str],
        name: str,
        draft: dict[str, Any],
        task_id: int,
        lang: str | None,
    ) -> dict[str, Any] | None:
        """The entries of a list, to correct one; add one, or enter the whole list again. Buttons carry numbers
        (list, entry), not names: two field keys would not fit in a button's 64 bytes."""
        top = names.index(name)
        label = self.tr.local(fields[name].entry or fields[name].label, lang)
        items = draft["values"].get(name) or []
        rows = [
            [
                button(
                    button_label(
                        f"{entry_name(label, index, len(items), self.tr.lang(lang))}: "
                        f"{self.entry_words(fields[name], item, lang, spec)}"
                    ),
                    pack(FormCb, "entry", task_id, f"{top}.{index}", -1),
                )
            ]
            for index, item in enumerate(items)
        ]
        if can_add_entry(fields, names, draft, name):
            rows.append([button(self.t("➕ Add an entry", lang), pack(FormCb, "add", task_id, str(top), -1))])
        rows.append([button(self.t("🔁 Enter the whole list again", lang), pack(FormCb, "all", task_id, str(top), -1))])
        rows.append(self._back_to_summary(task_id, lang))
        return keyboard(rows)

    def entry_field_picker(
        self,
        fields: Mapping[str, FieldDef],
        names: list[str],
        name: str,
        index: int,
        draft: dict[str, Any],
        task_id: int,
        lang: str | None,
    ) -> dict[str, Any] | None:
        """The fields of one entry it is asked (not a later stage's of its track, nor one its `ask_if` skips), to
        correct one of them or all; or take the entry out. A field's number is its place among all the entry's."""
        top = names.index(name)
        sub_fields = fields[name].fields or {}
        items = draft["values"].get(name) or []
        asks = set(entry_asks(fields[name], items[index] if 0 <= index < len(items) else {}))
        rows = [
            [
                button(
                    button_label(self.tr.local(sub.label, lang)),
                    pack(FormCb, "sub", task_id, f"{top}.{index}.{number}", -1),
                )
            ]
            for number, (key, sub) in enumerate(sub_fields.items())
            if key in asks
        ]
        rows.append([button(self.t("🔁 The whole entry", lang), pack(FormCb, "sub", task_id, f"{top}.{index}", -1))])
        if can_remove_entry(fields, names, draft, name):
            rows.append(
                [button(self.t("🗑 Remove this entry", lang), pack(FormCb, "drop", task_id, f"{top}.{index}", -1))]
            )
        rows.append(self._back_to_summary(task_id, lang))
        return keyboard(rows)

    def _back_to_summary(self, task_id: int, lang: str | None) -> list[dict[str, Any]]:
        return [button(self.t("⬅️ Back", lang), pack(FormCb, "resume", task_id, "", -1))]

    def field_picker(
        self, fields: Mapping[str, FieldDef], names: list[str], task_id: int, lang: str | None
    ) -> dict[str, Any] | None:
        rows = [
            [button(button_label(self.tr.local(fields[n].label, lang)), pack(FormCb, "field", task_id, n, -1))]
            for n in names
        ]
        rows.append([button(self.t("⬅️ Back", lang), pack(FormCb, "resume", task_id, "", -1))])
        return keyboard(rows)
