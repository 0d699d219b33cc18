"""A person filling a task's form in chat: one question at a time, answers checked, a summary to confirm.

`Conversation` puts together the form's ground (`tgbot.form_base`: its shape, the draft, the question asked),
the answers (`tgbot.form_answers`) and the corrections from the summary (`tgbot.form_corrections`); here the
buttons of an open form routed to them, a form put aside and resumed, confirmed or cancelled.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from db.models import Task
from flows import forms
from flows.i18n import _
from flows.items import entry_fields, entry_of, item_of_form, item_state, parse_item_edit, parse_item_task
from flows.runtime import (
    CONTINUED_AT,
    MOVE_TASK,
    START_TASK,
    EngineError,
    comment_file_key,
    pending_approval,
    stage_waits_until,
)
from flows.status import CaseStatus, TaskStatus
from services import kept_files, outbox
from services import people as people_repo
from services.cases import Loaded
from tgbot.callbacks import FormCb, TaskCb
from tgbot.form_answers import FormAnswers
from tgbot.form_base import SUMMARY_ROW, AnyTask, FormCase, FormError, IncomingFile, comment_field, step_stamp
from tgbot.form_corrections import FormCorrections

__all__ = [
    "SUMMARY_ROW", "AnyTask", "Conversation", "FormCase", "FormError", "IncomingFile", "comment_field", "step_stamp",
]  # fmt: skip


class Conversation(FormAnswers, FormCorrections):
    async def press(self, button: FormCb) -> None:
        """A button of the open form: the form's task must still be the one the button belongs to."""
        task = await self.active_task()
        if task is None or task.id != button.task_id:
            if not (button.action == "confirm" and await self._confirm_aside(task, button)):
                await self._bring_back(button.task_id)
            return
        action, step = button.action, button.step
        if action == "pick":
            await self.pick(task, button.arg, step)
        elif action == "files":
            await self.files_done(task, step)
        elif action in ("yes", "no"):
            await self.more(task, action == "yes", step)
        elif action == "skip":
            await self.skip(task, step)
        elif action == "keep":
            await self.keep(task, step)
        elif action == "back":
            await self.back(task, step)
        elif action == "edit":
            await self.edit(task, step)
        elif action == "field":
            await self.edit_field(task, button.arg, step)
        elif action == "entry":
            await self.pick_entry(task, button.arg, step)
        elif action == "sub":
            await self.correct_entry(task, button.arg, step)
        elif action in ("add", "drop", "all"):
            await self.change_entries(task, action, button.arg, step)
        elif action == "kept":  # the file sent earlier offered: «use it» or «send another»
            await self.use_kept(task, button.arg == "use", step)
        elif action == "resume":
            await self.resume(task)
        elif action == "confirm":
            await self.confirm(task, step)
        elif action == "cancel":
            await self.cancel(task, step)
        elif action == "later":  # «⏸ Отложить»: the answers so far are kept, «▶️ Продолжить» goes on from them
            await self._current(task, step)
            await self.put_aside()

    async def put_aside(self) -> bool:
        """The person turned to something else (/start, the menu) with a form open: say which form it is and
        close it for answers, keeping the draft — the next message must not be saved as a field unseen.
        «Continue» opens it again where it stopped. False if no form was open."""
        task = await self.active_task()
        if task is None:
            return False
        loaded, _fields, _names = await self.form_of(task, (task.draft or {}).get("outcome"))
        self.user.active_task_id = None
        text = self.r.t(
            "📝 The form “%(task)s” (case #%(case)s) is put aside; your answers are kept. Continue it now or later "
            "from “My tasks”.",
            self.lang,
            task=self.r.form_title(loaded.spec, loaded.task, loaded.data, self.lang),  # an item's by the item
            case=task.case_id,
        )
        resume = InlineKeyboardButton(
            text=self.r.t("▶️ Continue", self.lang), callback_data=TaskCb(action="resume", task_id=task.id).pack()
        )
        self.say(text, InlineKeyboardMarkup(inline_keyboard=[[resume]]).model_dump(exclude_none=True))
        return True

    async def item_form_open(self, loaded: Loaded, name: str, index: int, wanted: str) -> bool:
        """A move or a correction pressed on an item's card while a form of an item is open (this item's, even put
        aside, or any other's being filled): one form at a time — the person is told to finish or cancel that one,
        and it is asked again; nothing is moved. The press that opens the form being filled (`wanted`) is no other."""
        active = await self.active_task()
        held = active if active is not None and item_of_form(active.key) is not None else None
        if held is None:
            mine = (t for t in loaded.state.open_tasks() if t.assignee_id == self.user.id and t.id is not None)
            same = next((t for t in mine if item_of_form(t.key) == (name, index) and t.key != wanted), None)
            held = loaded.task_rows.get(same.id or 0) if same is not None else None
        if held is None or held.key == wanted or not held.draft:
            return False
        form, _fields, _names = await self.form_of(held, held.draft.get("outcome"))
        title = self.r.form_title(form.spec, form.task, form.data, self.lang)
        self.say(self.r.t("The form “%(task)s” (case #%(case)s) is still open: finish it or cancel it first.",
                          self.lang, task=title, case=held.case_id))  # fmt: skip
        await self.begin(held, held.draft.get("outcome") or "submit")
        return True

    async def resume(self, task: AnyTask) -> None:
        await self.ask(task)

    async def ask_again_in(self, lang: str) -> None:
        """The person has switched language: the question they are at (or their form's summary) is asked again in
        it, the answers given kept — left as it was, it stayed in the other language above the switch."""
        task = await self.active_task()
        if task is not None:
            self.lang = lang
            await self.ask(task)

    async def _confirm_aside(self, open_task: AnyTask | None, button: FormCb) -> bool:
        """«Confirm» on the summary of a form put aside (another form was opened over it): its answers are all there
        and unchanged since that summary (its stamp), so it is confirmed as it stands, and the open form stays open
        — bringing it back instead put the other aside, and two summaries took turns at each press. False where
        the form is not at that summary any more (it is brought back to where it stopped)."""
        task = await self.session.get(Task, button.task_id)
        if task is None or task.status != TaskStatus.OPEN or task.assignee_id != self.user.id or not task.draft:
            return False
        try:
            *_form, step = await self._current(task, button.step)
        except EngineError:
            return False
        if step is not None:
            return False
        await self.confirm(task, button.step)
        if open_task is not None:
            self.user.active_task_id = open_task.id  # confirming closed «the» form; the one being filled is open still
        return True

    async def _bring_back(self, task_id: int) -> None:
        """A button of a form that is not the open one: if that form was put aside (the menu, another form opened
        over it) and is still this person's, it comes back where it stopped — the pressed step may be stale, so
        nothing of it is done — and the open one is put aside in turn. A form done or dropped stays closed."""
        task = await self.session.get(Task, task_id)
        if task is None or task.status != TaskStatus.OPEN or task.assignee_id != self.user.id or not task.draft:
            raise EngineError(_("This form is no longer open."))
        await self.put_aside()
        await self.begin(task, task.draft.get("outcome") or "submit")

    async def confirm(self, task: AnyTask, step_no: int) -> Loaded:
        form, fields, names, draft, step = await self._current(task, step_no)
        if step is not None:
            raise EngineError(_("The form is not complete yet."))
        values = {k: v for k, v in draft["values"].items() if k in names}
        said_as_file = draft["values"].get(comment_file_key(task.key))
        if not values.get(f"{task.key}_comment"):
            said_as_file = None
        if said_as_file:  # the comment was a photo: it goes with its words
            values[comment_file_key(task.key)] = said_as_file
        # Said here in the person's language (the engine checks it again, for every other way in): a date
        # corrected from the summary may no longer fit another.
        broken = forms.form_rule_problem(
            fields, values, form.data, self.today(), self.r.tr.lang(self.lang), calendar=self.core.calendar
        )
        if broken is not None:
            raise EngineError(broken[0], **broken[1])
        registering = task.key == START_TASK
        loaded = await self.cases.submit(
            self.user, task.id, draft["outcome"], values, registering=registering, answering=True
        )
        if said_as_file and task.case_id is not None:
            # Only now the case's: a photo sent as the comment of a decision not made stays no case's file.
            await kept_files.give_to_case(self.session, said_as_file, task.case_id)
        self.user.active_task_id = None
        self._finished(draft)
        item = parse_item_task(task.key)
        if item is not None and pending_approval(loaded.state, item[0], item[1]) is not None:
            await self.say_with_own(loaded, self.r.item_waits(loaded.state, *item, self.lang))
            return loaded
        edit = parse_item_edit(task.key)
        if edit is not None:
            await self.say_with_own(loaded, self._item_corrected(loaded, *edit))
            return loaded
        if item is not None:
            name, index, _to = item
            found = item_state(loaded.state.data, name, index) or {}
            await self.say_with_own(
                loaded,
                self.r.t(
                    "✅ “%(item)s” — now “%(stage)s”. %(case)s — stage: %(case_stage)s.",
                    self.lang,
                    item=self.r.item_title(loaded.state, name, index, self.lang),
                    stage=self.r.item_stage_title(loaded.state, name, found.get("stage"), self.lang),
                    case=self.r.case_name(loaded.state, self.lang),
                    case_stage=self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang),
                ),
            )
            return loaded
        if task.key in (START_TASK, MOVE_TASK) and loaded.state.status == CaseStatus.ACTIVE:
            if await self.cases.allowed_moves(self.user, loaded):
                # A pipeline moved by hand: show where the case stands and where it can go next.
                from tgbot.case_view import case_view

                self.say(*(await case_view(self.cases, self.user, loaded)))
                await self.cases.notifier.own_words_apart(loaded, self.user)
                return loaded
        if loaded.registered:
            await self.cases.notifier.own_words_apart(loaded, self.user)  # none: the registration's message said them
            return loaded  # the registration's own first message said it, with the process's notices to them
        if task.key == START_TASK:
            said = self.r.t(
                "✅ Case %(case)s is registered. Stage: %(stage)s.",
                self.lang,
                case=self.r.case_name(loaded.state, self.lang),
                stage=self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang),
            )
            waiting = await self._waiting_for_others(loaded)
            await self.say_with_own(loaded, f"{said} {waiting}" if waiting else said)
        else:
            await self.say_done(loaded)
        return loaded

    async def say_done(self, loaded: Loaded) -> None:
        """A task done (its form confirmed, or its button pressed where it asks nothing): where the case is now and
        whom it waits for next, unless the step itself told this person so."""
        if await self._told_by_the_step(loaded):
            # Their card (or the case's closing) is the answer: the process's notices to them come after it.
            await self.cases.notifier.own_words_apart(loaded, self.user)
            return
        done = self.r.t(
            "✅ Done. %(case)s — stage: %(stage)s.",
            self.lang,
            case=self.r.case_name(loaded.state, self.lang),
            stage=self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang),
        )
        waiting = await self._waiting_for_others(loaded)
        await self.say_with_own(loaded, f"{done} {waiting}" if waiting else done)

    async def say_with_own(self, loaded: Loaded, text: str) -> None:
        """The answer to what the person just did, with the process's own notices of that step to them in the same
        message («✅ Готово … — этап: На складе.» and «…все позиции на складе — пора отгружать»): one message for
        one event, the answer first (`Loaded.answering`)."""
        said = await self.cases.notifier.own_words(loaded, self.user)
        self.say("\n".join([text, *said]))

    async def _waiting_for_others(self, loaded: Loaded) -> str:
        """Whom the case now waits for besides this person — the other production's head, the security head after
        the manager's contract — or until when it waits for a date: the doer is not left to guess who acts next.
        Their own open tasks are not named: their cards say it."""
        state = loaded.state
        if state.status != CaseStatus.ACTIVE:
            return ""
        roles = await people_repo.roles_of(self.session, self.user.id)

        until = stage_waits_until(state, self.cases.now, self.core.calendar)
        names = await self.cases.names(state)
        mine = [t for t in state.open_tasks() if t.assignee_id == self.user.id and t.key not in (START_TASK, MOVE_TASK)]
        waiting = self.r.waiting_for(state, names, self.lang, until=until, skip=lambda t: t.is_for(self.user.id, roles))
        if not mine:
            return waiting
        # The logistics head who confirmed production №1's delivery read «✅ Готово … — этап: Подтверждение доставки.»
        # and nothing more: the case waits for him still, for №2. Said, by the tasks' titles; their cards are above.
        titles = "; ".join(dict.fromkeys(self.r.task_title(state.spec, t, self.lang, state.data) for t in mine))
        still = self.r.tr.tn("Still yours here: %(titles)s.", "Still yours here (%(n)s): %(titles)s.", len(mine),
                             self.lang, titles=titles)  # fmt: skip
        return f"{still} {waiting}" if waiting else still

    def _item_corrected(self, loaded: Loaded, name: str, index: int, field: str) -> str:
        """What the person who corrected an item's field reads: the item and the value it has now."""
        state = loaded.state
        fdef = entry_fields(state.spec, name)[field]
        value = (entry_of(state.data, name, index) or {}).get(field)
        return self.r.t(
            "✅ “%(item)s”: %(field)s is now %(value)s.",
            self.lang,
            item=self.r.item_title(state, name, index, self.lang),
            field=self.r.local(fdef.label, self.lang),
            value=self.r.summary_value(fdef, value, self.lang, state.spec),
        )

    async def _told_by_the_step(self, loaded: Loaded) -> bool:
        """Whether the step itself told this person where the case now stands: a card of a task it gave them (or
        their role) names the case and its stage, and «🏁 Case closed» goes to whoever started or led a closed case.
        A «Done» after those would come behind the card they may already have acted on, naming a stage the case
        has left (and a second «closed»)."""
        state = loaded.state
        if state.status != CaseStatus.ACTIVE:
            return self.user.id in (state.initiator_id, state.responsible_id)
        roles = await people_repo.roles_of(self.session, self.user.id)
        created = self.cases.store.created.values()  # this case's, and a case it called in the same step
        return any(t.status == TaskStatus.OPEN and t.is_for(self.user.id, roles) for t in created)

    def _finished(self, draft: dict[str, Any] | None) -> None:
        """The form is over: its summary's «Confirm / Correct / Back / Cancel» come off, so that an old summary
        does not look like something still waiting for an answer."""
        row_id = (draft or {}).get(SUMMARY_ROW)
        if isinstance(row_id, int):
            outbox.enqueue(
                self.session,
                chat_id=self.user.tg_id,
                method="editMessageReplyMarkup",
                payload={},
                now=self.cases.now,
                ref_id=row_id,
            )

    async def cancel(self, task: AnyTask, step_no: int | None = None) -> None:
        if step_no is not None:
            await self._current(task, step_no)
        if task.key == START_TASK and await self._handed_on(task):
            return
        self.user.active_task_id = None
        self._finished(task.draft)
        await self._save(task, None)
        if task.key == START_TASK:
            loaded = await self.cases.cancel(self.user, task.case_id, answered=True)
            text = self.r.t("Cancelled; nothing was registered.", self.lang)
            if loaded.given_back:  # an order request's positions went back to the cart
                text += "\n" + self.r.t(loaded.given_back, self.lang)
            said = await self.cases.notifier.cancel_words(loaded, self.user)  # the process's own, in this answer
            self.say("\n".join([text, *said]))
        elif not ((task.key == MOVE_TASK or item_of_form(task.key)) and await self._withdrawn(task)):
            self.say(self.r.t("Cancelled. The task stays with you; open it from “My tasks” when ready.", self.lang))

    async def _handed_on(self, task: AnyTask) -> bool:
        """A request another case's step started, its fields still to fill: the case has its number (its person was
        told, the case it continues names it), so a «cancel» of its form (an old button, /cancel, «🗑») puts it aside,
        its answers kept, as its button says — it is cancelled from its card, with a reason, like any case."""
        form, _fields, _names = await self.form_of(task, (task.draft or {}).get("outcome"))
        if CONTINUED_AT not in form.data:
            return False
        if self.user.active_task_id != task.id or not await self.put_aside():
            self.say(self.r.t("Cancelled. The task stays with you; open it from “My tasks” when ready.", self.lang))
        return True

    async def _withdrawn(self, task: AnyTask) -> bool:
        """A hand move's form cancelled by its mover («✖️ Отказ», then «Отмена» at the reason), or an item's move or
        correction: nothing is changed and its form does not stay in «Мои задачи» — unless the case waits for it
        (`Engine.withdraw_move`)."""
        try:
            loaded = await self.cases.withdraw_move(self.user, task.id)
        except EngineError:
            return False
        edit = parse_item_edit(task.key)
        if edit is not None:
            named = self.r.item_title(loaded.state, edit[0], edit[1], self.lang)
            self.say(self.r.t("Cancelled: “%(item)s” stays as it was.", self.lang, item=named))
            return True
        item = parse_item_task(task.key)
        if item is not None:
            state, name, index = loaded.state, item[0], item[1]
            stage = (item_state(state.data, name, index) or {}).get("stage")
            self.say(self.r.t("Cancelled: “%(item)s” stays at “%(stage)s”.", self.lang,
                              item=self.r.item_title(state, name, index, self.lang),
                              stage=self.r.item_stage_title(state, name, stage, self.lang)))  # fmt: skip
            return True
        here = loaded.state.spec.stage(loaded.state.stage).title
        self.say(self.r.t("Cancelled: the case stays at the stage “%(stage)s”.", self.lang, stage=here))
        return True
