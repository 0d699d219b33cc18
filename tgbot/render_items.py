"""Items of a case's tracks in chat: how an item is named, its card with a button per move and per field its
people may correct there, its history, the lines of the case's card that say where each item stands, and the
titles of item forms and approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton

from flows.items import (
    approved_moves,
    correctable,
    corrections,
    entry_fields,
    entry_of,
    item_approval_title,
    item_edit_title,
    item_state,
    parse_item_approval,
    parse_item_edit,
    parse_item_task,
    track_of,
)
from flows.model import ItemMoveDef, ProcessDef
from flows.runtime import CaseState, TaskState, cancelling_moves, open_item_moves, pending_approval
from flows.status import CaseStatus
from services.wording import Wording
from services.wording.names import entry_name
from tgbot.callbacks import CaseCb, ItemCb, button_label
from tgbot.render_base import markup


class ItemCards(Wording):
    """Wording plus the cards and titles of items (`tgbot.render.Renderer` has them)."""

    def item_title(self, case: CaseState, name: str, index: int, lang: str | None) -> str:
        """How an item is named: its track's `title` over the entry, else «Items №2»."""
        track = track_of(case.spec, name)
        entries = case.data.get(name)
        count = len(entries) if isinstance(entries, list) else 0
        fdef = case.spec.fields[name]
        fallback = entry_name(self.local(fdef.entry or fdef.label, lang), index, count, self.tr.lang(lang))
        if track.title is None:
            return fallback
        entry = entry_of(case.data, name, index) or {}
        return self.template(track.title, case.spec, case.data, lang, {"item": entry}) or fallback

    def form_title(self, spec: ProcessDef, task: TaskState, data: dict[str, Any], lang: str | None) -> str:
        """A form's title; an item's form is named after the item (`data` is its entry) and its new stage, and so
        is an approval of its move (`data` is the case's): «Согласуйте: Аппарат УЗИ → Отправлен»."""
        approval = parse_item_approval(task.key)
        if approval is not None and approval[0] in spec.tracks():
            return self.local(item_approval_title(spec, *approval, data), lang)
        edit = parse_item_edit(task.key)
        if edit is not None and edit[0] in spec.tracks() and edit[2] in entry_fields(spec, edit[0]):
            return self.local(item_edit_title(spec, *edit, entry=data), lang)
        item = parse_item_task(task.key)
        track = spec.fields[item[0]].track if item is not None and item[0] in spec.fields else None
        if item is None or track is None or track.title is None:
            return self.task_title(spec, task, lang)
        name = self.template(track.title, spec, {}, lang, {"item": data})
        try:
            stage = self.local(track.stage(item[2]).title, lang)
        except KeyError:
            return self.task_title(spec, task, lang)
        return f"{name} → {stage}" if name else self.task_title(spec, task, lang)

    def approval_title(self, case: CaseState, task: TaskState, lang: str | None) -> str | None:
        """An item's move waiting for approval, named by the item: «Согласуйте: Аппарат УЗИ → Отправлен»."""
        approval = parse_item_approval(task.key)
        if approval is None or approval[0] not in case.spec.tracks():
            return None
        name, index, to = approval
        return self.t(
            "Approve: %(item)s → %(stage)s",
            lang,
            item=self.item_title(case, name, index, lang),
            stage=self.item_stage_title(case, name, to, lang),
        )

    def item_stage_title(self, case: CaseState, name: str, stage: str | None, lang: str | None) -> str:
        try:
            return self.local(track_of(case.spec, name).stage(stage or "").title, lang)
        except KeyError:
            return "—"

    def item_move_label(self, case: CaseState, name: str, move: ItemMoveDef, lang: str | None) -> str:
        """A move's button on an item's card: its own label, else where it goes («➡️ Отправлен») — but a move that
        drops the item says so as an act («✖️ Отменить позицию»), not as a place to go («➡️ Отменена»)."""
        if move.label:
            return self.local(move.label, lang)
        try:
            dropping = track_of(case.spec, name).stage(move.to).cancelled
        except KeyError:
            dropping = False
        if dropping:
            return self.t("✖️ Cancel the item", lang)
        return "➡️ " + self.item_stage_title(case, name, move.to, lang)

    def item_card(self, case: CaseState, name: str, index: int, lang: str | None) -> tuple[str, dict[str, Any] | None]:
        """An item's card: where it stands and since when, its fields (a corrected one with the value it replaced),
        a button per move its stage allows and per field its stage lets its people correct (the engine re-checks
        who presses), its history and its case."""
        spec = case.spec
        state = item_state(case.data, name, index) or {}
        stage = str(state.get("stage") or "")
        since = state.get("since")
        lines = [f"📦 {self.item_title(case, name, index, lang)}", self.case_name(case, lang)]
        where = self.t("Stage: %(stage)s", lang, stage=self.item_stage_title(case, name, stage, lang))
        if isinstance(since, str):
            where += " " + self.t("(since %(when)s)", lang, when=self.when(datetime.fromisoformat(since), lang))
        lines.append(where)
        fields = spec.fields[name].fields or {}
        entry = entry_of(case.data, name, index) or {}
        lines += self.summary(spec, list(fields), entry, lang, fields=fields, earlier=corrections(state))
        rows: list[list[InlineKeyboardButton]] = []
        waiting = pending_approval(case, name, index)
        moves = open_item_moves(case, name, index, stage) if case.status == CaseStatus.ACTIVE and stage else []
        if case.status == CaseStatus.ACTIVE and waiting is not None:
            lines += ["", self.t("⏳ Waiting for approval to go to “%(stage)s”.", lang,
                                 stage=self.item_stage_title(case, name, waiting.key.rpartition(">")[2], lang))]
            moves = cancelling_moves(case, name, moves)  # the client dropped it meanwhile: cancelled at once
        if case.status == CaseStatus.ACTIVE and case.id is not None and stage:
            for to in sorted(approved_moves(state) & {move.to for move in moves}):
                # Approved, but its form is not filled yet (left unfilled, or not opened): the button opens it again.
                lines += ["", self.t("✅ The move to “%(stage)s” is approved: press it and fill in what it asks.",
                                     lang, stage=self.item_stage_title(case, name, to, lang))]
            for move in moves:
                label = self.item_move_label(case, name, move, lang)
                data = ItemCb(action="move", case_id=case.id, list=name, index=index, arg=move.to).pack()
                rows.append([InlineKeyboardButton(text=button_label(label), callback_data=data)])
        if case.status == CaseStatus.ACTIVE and case.id is not None:
            for field in correctable(spec, case.data, name, index):
                label = "✏️ " + self.local(fields[field].label, lang)  # as a case's field is corrected from its card
                data = ItemCb(action="edit", case_id=case.id, list=name, index=index, arg=field).pack()
                rows.append([InlineKeyboardButton(text=button_label(label), callback_data=data)])
        elif case.status != CaseStatus.ACTIVE:
            lines += ["", self.t("The case is closed.", lang)]
        if case.id is not None:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=self.t("📜 History", lang),
                        callback_data=ItemCb(action="history", case_id=case.id, list=name, index=index).pack(),
                    ),
                    InlineKeyboardButton(
                        text=self.t("📁 Case", lang), callback_data=CaseCb(action="show", case_id=case.id).pack()
                    ),
                ]
            )
        return "\n".join(lines), markup(rows)

    def item_history(self, case: CaseState, name: str, index: int, lang: str | None, names: dict[int, str]) -> str:
        """Each stage the item entered, each field corrected (old → new): when, and who did it."""
        state = item_state(case.data, name, index) or {}
        lines = [
            self.t(
                "📜 History of “%(item)s”, %(case)s",
                lang,
                item=self.item_title(case, name, index, lang),
                case=self.case_name(case, lang),
            )
        ]
        for step in state.get("history") or []:
            at = step.get("at")
            when = self.when(datetime.fromisoformat(at), lang) if isinstance(at, str) else "—"
            line = f"{when} — {self.item_stage_title(case, name, step.get('to'), lang)}"
            if step.get("approval"):
                line = f"{when} — {self._approval_step(case, name, step, lang)}"
            elif isinstance(step.get("corrected"), str):
                line = f"{when} — {self._correction_step(case, name, step, lang)}"
            by = step.get("by")
            if isinstance(by, int):
                line += f" · {names.get(by, '?')}"
            lines.append(line)
        return "\n".join(lines)

    def item_waits(self, case: CaseState, name: str, index: int, to: str, lang: str | None) -> str:
        # Who approves it, named: «запрос у согласующего» left the manager guessing whom to chase.
        approval = pending_approval(case, name, index)
        item, stage = self.item_title(case, name, index, lang), self.item_stage_title(case, name, to, lang)
        if approval is not None and approval.role:
            return self.t(
                "⏳ “%(item)s” will go to “%(stage)s” once approved; the request is with: %(who)s.",
                lang, item=item, stage=stage, who=self.role(approval.role, lang),
            )  # fmt: skip
        return self.t("⏳ “%(item)s” will go to “%(stage)s” once approved; the approver has it.", lang, item=item,
                      stage=stage)  # fmt: skip

    def _approval_step(self, case: CaseState, name: str, step: dict[str, Any], lang: str | None) -> str:
        stage = self.item_stage_title(case, name, step.get("for"), lang)
        decision = step.get("approval")
        if decision == "asked":
            return self.t("approval asked to go to “%(stage)s”", lang, stage=stage)
        if decision == "approved":
            return self.t("approved to go to “%(stage)s”", lang, stage=stage)
        return self.t("not approved to go to “%(stage)s” (%(reason)s)", lang, stage=stage,
                      reason=step.get("reason") or "—")

    def _correction_step(self, case: CaseState, name: str, step: dict[str, Any], lang: str | None) -> str:
        fdef = entry_fields(case.spec, name).get(str(step["corrected"]))
        if fdef is None:  # a field a later version of the process no longer has
            return self.t("a field corrected", lang)
        return self.t(
            "“%(field)s” corrected: %(before)s → %(after)s",
            lang,
            field=self.local(fdef.label, lang),
            before=self.summary_value(fdef, step.get("was"), lang, case.spec),
            after=self.summary_value(fdef, step.get("now"), lang, case.spec),
        )

    def item_lines(self, case: CaseState, lang: str | None) -> list[str]:
        """Where each item of the case stands, one line each (for the case's card)."""
        lines: list[str] = []
        for name in case.spec.tracks():
            entries = case.data.get(name)
            for index in range(len(entries) if isinstance(entries, list) else 0):
                state = item_state(case.data, name, index)
                if state is None:
                    continue
                stage = self.item_stage_title(case, name, state.get("stage"), lang)
                lines.append(f"📦 {self.item_title(case, name, index, lang)}: {stage}")
        return lines
