"""An admin's inline commands in chat: `/find` a case by number or words, its admin card with a button per open
task (to reassign it, the people who may do it come as buttons), cancel with a reason written next, retry a
failed step; `/unreachable` lists the people the bot cannot reach. The use cases are `services.admin_actions`
(the panel calls them too); this module only words them and makes the buttons."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton

from db.models import Case
from flows.runtime import CaseStatus, waits_for_a_date
from flows.values import number_sign
from services import queries
from services.admin_actions import AdminActions
from services.cases import Loaded
from tgbot.buttons import Reply
from tgbot.callbacks import AdminCb, button_label
from tgbot.render import Renderer, markup

Card = tuple[str, dict[str, Any] | None]


class AdminButtons:
    def __init__(self, actions: AdminActions, renderer: Renderer, lang: str | None) -> None:
        self.actions = actions
        self.r = renderer
        self.lang = lang

    async def find(self, query: str) -> Card:
        """`/find 12` shows that case's card; `/find words` the matching cases, one button each."""
        r, lang = self.r, self.lang
        if not query.strip():
            return r.t("Find a case: /find and its number or any words from it (a client, a phone).", lang), None
        found = await self.actions.find(query, lang or "ru")
        text, buttons = await self._found(query, found.cases, found.deadlines)
        if found.indexing:  # never a silent miss: the cases changed since the search last wrote their words
            note = r.t("Cases still being indexed: %(n)s — the search will find them in a few minutes.", lang,
                       n=found.indexing)  # fmt: skip
            text = f"{text}\n\n{note}"
        return text, buttons

    async def _found(self, query: str, cases: list[Case], deadlines: dict[int, datetime]) -> Card:
        r, lang = self.r, self.lang
        if len(cases) == 1:
            return await self.card(cases[0].id)
        if not cases:
            return r.t("No case found for “%(query)s”.", lang, query=query.strip()), None
        lines = [r.t("Cases found for “%(query)s”:", lang, query=query.strip())]
        rows = []
        for case in cases:
            label = await self._case_label(case)
            # The button's words are cut to fit; the line above it says when the case's work is due, and how late.
            due = deadlines.get(case.id)
            lines.append(r.t("• %(case)s — due %(when)s", lang, case=label, when=r.due(due, lang)) if due else
                         f"• {label}")  # fmt: skip
            data = AdminCb(action="show", case_id=case.id).pack()
            rows.append([InlineKeyboardButton(text=button_label(label, 64), callback_data=data)])
        return "\n".join(lines), markup(rows)

    async def _case_label(self, case: Case) -> str:
        registry = self.actions.cases.core.registry
        spec = await registry.spec(self.actions.session, case.definition_id)
        title = registry.case_title(spec, case, self.lang) or self.r.local(spec.title, self.lang)
        stage = self.r.stage_title(spec, case.stage, self.lang)
        return f"{number_sign(self.lang)}{case.id} · {title} · {stage}"

    async def card(self, case_id: int) -> Card:
        loaded = await self.actions.case(case_id)
        holders = {t.assignee_id for t in loaded.state.open_tasks() if t.assignee_id}
        names = await self.actions.cases.people.names(holders)
        until = await queries.waits_until(self.actions.session, case_id) if waits_for_a_date(loaded.state) else None
        return self._card(loaded, names, await self.actions.unreachable_among(holders), until)

    def _card(
        self,
        loaded: Loaded,
        names: dict[int, str],
        unreachable: AbstractSet[int] = frozenset(),
        waits_until: datetime | None = None,
    ) -> Card:
        """Where the case stands, its open work and who holds it, and what the admin can do to it."""
        r, lang, state = self.r, self.lang, loaded.state
        lines = [
            f"🛠 {r.case_name(state, lang)}",
            r.local(state.spec.title, lang),
            r.t("Stage: %(stage)s", lang, stage=r.stage_title(state.spec, state.stage, lang)),
            *r.waits_line(waits_until, lang),
        ]
        if state.status != CaseStatus.ACTIVE:
            lines.append(r.t("The case is closed.", lang))
        if loaded.row.attention:
            lines.append(r.t("⚠️ A step failed: %(error)s", lang, error=loaded.row.attention[:300]))
        rows: list[list[InlineKeyboardButton]] = []
        for task in state.open_tasks():
            holder = names.get(task.assignee_id or 0)
            title = r.task_title(state.spec, task, lang, state.data)
            waiting = r.t("waits for “%(role)s”", lang, role=r.role(task.role, lang))
            blocked = r.t(" 🚫 the bot cannot write to them", lang) if task.assignee_id in unreachable else ""
            who = f"{holder or waiting}{blocked}"
            if task.due_at is not None:  # how late it is decides whom to give it to
                lines.append(r.t("• %(task)s — %(who)s, due %(when)s", lang, task=title, who=who,
                                 when=r.due(task.due_at, lang)))  # fmt: skip
            else:
                lines.append(f"• {title} — {who}")
            if task.id is not None:
                data = AdminCb(action="task", case_id=loaded.row.id, task_id=task.id).pack()
                rows.append([InlineKeyboardButton(text=button_label(("👤 " + title), 64), callback_data=data)])
        if loaded.row.attention:
            data = AdminCb(action="retry", case_id=loaded.row.id).pack()
            rows.append([InlineKeyboardButton(text=r.t("🔁 Retry the failed step", lang), callback_data=data)])
        if state.status in (CaseStatus.DRAFT, CaseStatus.ACTIVE):
            data = AdminCb(action="cancel", case_id=loaded.row.id).pack()
            rows.append([InlineKeyboardButton(text=r.t("✖️ Cancel the case", lang), callback_data=data)])
        return "\n".join(lines), markup(rows)

    async def press(self, button: AdminCb) -> Reply:
        r, lang, actions = self.r, self.lang, self.actions
        if button.action == "show":
            return Reply(card=await self.card(button.case_id))
        if button.action == "task":
            loaded, task, people = await actions.candidates(button.task_id)
            title = r.task_title(loaded.state.spec, task, lang, loaded.state.data)
            rows = [
                [
                    InlineKeyboardButton(
                        text=button_label(person.name, 64),
                        callback_data=AdminCb(action="to", case_id=loaded.row.id, task_id=button.task_id,
                                              arg=person.id).pack(),
                    )
                ]
                for person in people
            ]
            return Reply(card=(r.t("Whom to give “%(task)s” to?", lang, task=title), markup(rows)))
        if button.action == "to":
            loaded, task, target = await actions.reassign(button.task_id, button.arg)
            title = r.task_title(loaded.state.spec, task, lang, loaded.state.data)
            return Reply(r.t("“%(task)s” is now with %(who)s.", lang, task=title, who=target.name),
                         card=await self.card(loaded.row.id))
        if button.action == "cancel":
            loaded = await actions.ask_cancel_reason(button.case_id)
            text = r.t("Why is %(case)s cancelled? Write the reason in one message.", lang,
                       case=r.case_name(loaded.state, lang))
            return Reply(card=(text, None))
        if button.action == "retry":
            count = await actions.retry(button.case_id)
            if count:
                return Reply(r.t("The failed step is queued again: %(n)s.", lang, n=count))
            return Reply(r.t("Nothing to retry in this case.", lang))
        return Reply()

    async def cancel(self, reason: str) -> str:
        """The reason came: the case is cancelled with it."""
        case_id = self.actions.cancel_pending()
        if case_id is None:
            return ""
        loaded = await self.actions.cancel(case_id, reason)
        case = self.r.case_name(loaded.state, self.lang)
        # The process's own words to the admin on the cancel (the accountant told to return a prepayment) are
        # said here, and the reason once: where those words quote it, not again before them.
        admin = self.actions.admin
        said = await self.actions.cases.notifier.cancel_words(loaded, admin) if admin is not None else ()
        if any(reason.strip() in words for words in said):
            return "\n".join([self.r.t("%(case)s is cancelled.", self.lang, case=case), *said])
        text = self.r.t("%(case)s is cancelled. Reason: %(reason)s", self.lang, case=case, reason=reason.strip())
        return "\n".join([text, *said])

    async def unreachable(self) -> str:
        r, lang = self.r, self.lang
        people = await self.actions.unreachable()
        if not people:
            return r.t("The bot can reach everyone.", lang)
        lines = [r.t("The bot cannot reach these people (they blocked it or left Telegram):", lang)]
        lines += [f"• {p.name} — " + r.t("since %(when)s", lang, when=r.when(p.unreachable_at, lang)) for p in people]
        return "\n".join(lines)
