"""Notices about a case's items (each on its own track): an item's card shown and edited as the item moves, its
reminder, a move approved that still asks for fields, a move not approved, and its history (a field corrected is
`CaseNotices.field_corrected`'s)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from db.models import User
from flows.items import entry_fields, item_state, parse_item_task
from flows.runtime import TaskState, item_lacks, pending_approval
from services import outbox
from services.cases.state import Loaded
from tgbot.callbacks import ItemCb, TaskCb
from tgbot.notices_base import NoticesBase


class ItemNotices(NoticesBase):
    async def item_shown(self, loaded: Loaded, name: str, index: int, recipients: Sequence[User]) -> dict[int, int]:
        rows = {}
        for user in recipients:
            text, keyboard = self.renderer.item_card(loaded.state, name, index, user.language)
            rows[user.id] = outbox.message(self.session, user.tg_id, text, self.now, keyboard, case_id=loaded.row.id)
        if rows:
            await outbox.flush(self.session)  # the cards' ids are kept with the case, to edit them when the item moves
        return {user_id: row.id for user_id, row in rows.items()}

    async def item_changed(self, loaded: Loaded, name: str, index: int, cards: dict[str, Any]) -> None:
        people = await self.people.users([int(user_id) for user_id in cards])
        for user_id, outbox_id in cards.items():
            user = people.get(int(user_id))
            if user is None or not isinstance(outbox_id, int):
                continue
            text, keyboard = self.renderer.item_card(loaded.state, name, index, user.language)
            self._edit_card(user, outbox_id, text, keyboard, case_id=loaded.row.id)

    async def item_reminder(
        self, loaded: Loaded, name: str, index: int, recipients: Sequence[User], approvers: Collection[int] = ()
    ) -> None:
        state, r = loaded.state, self.renderer
        waiting = pending_approval(state, name, index)
        to = waiting.key.rpartition(">")[2] if waiting is not None else ""
        for user in recipients:
            lang = user.language
            words = {
                "item": r.item_title(state, name, index, lang),
                "stage": r.item_stage_title(state, name, _item_stage(state.data, name, index), lang),
                "case": r.case_name(state, lang),
            }
            card = ItemCb(action="card", case_id=loaded.row.id, list=name, index=index).pack()
            button = {"text": r.t("📦 Item", lang), "callback_data": card}
            if waiting is None:
                text = r.t("⏰ “%(item)s” is still at “%(stage)s”.\n%(case)s", lang, **words)
            elif user.id in approvers:  # the one whose decision it waits for: the approval a press away
                to_stage = r.item_stage_title(state, name, to, lang)
                text = r.t("⏰ “%(item)s” is still at “%(stage)s”, waiting for your approval to go to “%(to)s”."
                           "\n%(case)s", lang, to=to_stage, **words)  # fmt: skip
                task = TaskCb(action="card", task_id=waiting.id or 0).pack()
                button = {"text": r.t("📋 Open the task", lang), "callback_data": task}
            else:  # its people can do nothing with it until then: whom it waits for, named
                who = r.role(waiting.role, lang) if waiting.role else "—"
                to_stage = r.item_stage_title(state, name, to, lang)
                text = r.t("⏰ “%(item)s” is still at “%(stage)s”: its move to “%(to)s” waits for approval (%(who)s)."
                           "\n%(case)s", lang, to=to_stage, who=who, **words)  # fmt: skip
            plan = await self.channels.plan("reminder", user)  # an item's reminder is a reminder too
            variables = {**self._case_vars(loaded, lang), "task": r.item_title(state, name, index, lang)}
            variables.update(due="", text=text)
            row = None
            if plan.telegram:
                row = await self._telegram("reminder", user, variables, {"inline_keyboard": [[button]]},
                                           case_id=loaded.row.id)  # fmt: skip
            await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    async def item_rejected(self, loaded: Loaded, name: str, index: int, to: str, reason: str, user: User) -> None:
        state, lang = loaded.state, user.language
        text = self.renderer.t(
            "✖️ “%(item)s” will not go to “%(stage)s”: not approved. Reason: %(reason)s\n%(case)s",
            lang,
            item=self.renderer.item_title(state, name, index, lang),
            stage=self.renderer.item_stage_title(state, name, to, lang),
            reason=reason,
            case=self.renderer.case_name(state, lang),
        )
        card = ItemCb(action="card", case_id=loaded.row.id, list=name, index=index).pack()
        button = {"inline_keyboard": [[{"text": self.renderer.t("📦 Item", lang), "callback_data": card}]]}
        outbox.message(self.session, user.tg_id, text, self.now, button, case_id=loaded.row.id)

    async def item_approved(
        self, loaded: Loaded, name: str, index: int, form: TaskState, approver: int | None, user: User
    ) -> None:
        # One message that says it all and opens the form: nobody is in the conversation the move was pressed in.
        state, lang = loaded.state, user.language
        item = parse_item_task(form.key)
        to = item[2] if item is not None else ""
        fields = entry_fields(state.spec, name)
        missing = item_lacks(state.spec, state.data, name, index, to)
        names = await self._names(loaded, [approver])
        text = self.renderer.t(
            "✅ Approved: “%(item)s” → “%(stage)s” (%(who)s).\nStill to fill in: %(fields)s — press “✏️ Fill in”, "
            "and the item moves.\n%(case)s",
            lang,
            item=self.renderer.item_title(state, name, index, lang),
            stage=self.renderer.item_stage_title(state, name, to, lang),
            who=names.get(approver or 0, "?"),
            fields=", ".join(self.renderer.local(fields[n].label, lang) for n in missing),
            case=self.renderer.case_name(state, lang),
        )
        fill = TaskCb(action="out", task_id=form.id or 0, arg="submit").pack()
        card = ItemCb(action="card", case_id=loaded.row.id, list=name, index=index).pack()
        buttons = [
            [{"text": self.renderer.t("✏️ Fill in", lang), "callback_data": fill}],
            [{"text": self.renderer.t("📦 Item", lang), "callback_data": card}],
        ]
        outbox.message(self.session, user.tg_id, text, self.now, {"inline_keyboard": buttons}, case_id=loaded.row.id)

    async def item_history(self, loaded: Loaded, name: str, index: int, user: User) -> None:
        state = loaded.state
        by = [h.get("by") for h in (item_state(state.data, name, index) or {}).get("history") or []]
        names = await self._names(loaded, [b for b in by if isinstance(b, int)])
        text = self.renderer.item_history(state, name, index, user.language, names)
        outbox.message(self.session, user.tg_id, text, self.now, case_id=loaded.row.id)


def _item_stage(data: dict[str, Any], name: str, index: int) -> str | None:
    state = item_state(data, name, index)
    stage = state.get("stage") if state else None
    return stage if isinstance(stage, str) else None

