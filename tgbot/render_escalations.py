"""What the person a late task escalated to is offered: the buttons under the escalation, the people to give
the task to and the new deadlines to pick from."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton

from flows.i18n import _
from flows.model import ProcessDef
from flows.runtime import TaskState
from services.wording import Wording
from tgbot.callbacks import CaseCb, EscalationCb, TaskCb
from tgbot.render_base import markup


class EscalationPickers(Wording):
    """Wording plus the escalation's buttons and pickers (`tgbot.render.Renderer` has them)."""

    def escalation_buttons(self, task: TaskState, case_id: int, lang: str | None) -> dict[str, Any] | None:
        """What the person a late task escalated to can do about it. Each button names who held the task then,
        so a press after it changed hands is refused as stale."""
        task_id, holder = task.id or 0, task.assignee_id or 0

        def button(text: str, action: str) -> InlineKeyboardButton:
            data = EscalationCb(action=action, task_id=task_id, holder=holder).pack()
            return InlineKeyboardButton(text=self.t(text, lang), callback_data=data)

        # A personal task too: it goes to a member of the roles that may do it (refused in words if there is none).
        rows = [
            [button(_("👥 Reassign"), "reassign")],
            [button(_("🗓 Extend the deadline"), "extend"), button(_("🙋 Take over"), "take")],
        ]
        show = CaseCb(action="show", case_id=case_id).pack()
        rows.append([InlineKeyboardButton(text=self.t("📁 Case", lang), callback_data=show)])
        return markup(rows)

    def _extend_label(self, days: int, due_at: Any, lang: str | None) -> str:
        """«+1 рабочий день — до …», «+2 рабочих дня», «+5 рабочих дней»: the words, not «раб. дн.»."""
        return self.tr.tn(
            "+%(n)s working day — %(when)s", "+%(n)s working days — %(when)s", days, lang, when=self.when(due_at, lang)
        )

    def overdue_buttons(self, task: TaskState, case_id: int, lang: str | None) -> dict[str, Any] | None:
        """Under «Overdue» to the task's holder: the task's card brought here again (it may be far up the chat)."""
        card = TaskCb(action="card", task_id=task.id or 0).pack()
        show = CaseCb(action="show", case_id=case_id).pack()
        return markup(
            [
                [
                    InlineKeyboardButton(text=self.t("📋 Open the task", lang), callback_data=card),
                    InlineKeyboardButton(text=self.t("📁 Case", lang), callback_data=show),
                ]
            ]
        )

    def reassign_picker(
        self, spec: ProcessDef, task: TaskState, holder: int, people: list[tuple[int, str]], lang: str | None
    ) -> tuple[str, dict[str, Any] | None]:
        text = self.t("Whom to give “%(task)s” to?", lang, task=self.task_title(spec, task, lang))
        rows = [
            [
                InlineKeyboardButton(
                    text=name,
                    callback_data=EscalationCb(action="to", task_id=task.id or 0, holder=holder, arg=user_id).pack(),
                )
            ]
            for user_id, name in people
        ]
        return text, markup(rows)

    def deadline_picker(
        self, spec: ProcessDef, task: TaskState, choices: list[tuple[int, Any]], lang: str | None, ref: int = 0
    ) -> tuple[str, dict[str, Any] | None]:
        """The new deadlines to pick from, and «✖️ Cancel», which keeps the one there is (its `ref` is the picker's
        own outbox row: the picker then says so in place of its buttons)."""
        title = self.task_title(spec, task, lang)
        text = self.t("“%(task)s” is due %(when)s. New deadline:", lang, task=title, when=self.when(task.due_at, lang))
        rows = [
            [
                InlineKeyboardButton(
                    text=self._extend_label(days, due_at, lang),
                    callback_data=EscalationCb(action="days", task_id=task.id or 0, arg=days).pack(),
                )
            ]
            for days, due_at in choices
        ]
        rows.append([self.keep_deadline_button(task, lang, ref)])
        return text, markup(rows)

    def keep_deadline_button(self, task: TaskState, lang: str | None, ref: int = 0) -> InlineKeyboardButton:
        data = EscalationCb(action="keep", task_id=task.id or 0, arg=ref).pack()
        return InlineKeyboardButton(text=self.t("✖️ Cancel", lang), callback_data=data)

    def deadline_kept(self, spec: ProcessDef, task: TaskState, lang: str | None) -> str:
        title = self.task_title(spec, task, lang)
        return self.t("🗓 The deadline of “%(task)s” is not changed: due %(when)s.", lang, task=title,
                      when=self.when(task.due_at, lang))  # fmt: skip
