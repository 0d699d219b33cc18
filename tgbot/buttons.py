"""What the buttons of task and case cards and of the start menu do: a case command, and a form opened in
chat when the command needs answers first. Returns what the chat shows; the handlers only send it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardButton

from db.models import User
from flows.i18n import _
from flows.items import item_edit_key, item_state, item_task_key
from flows.runtime import EDIT_PREFIX, MOVE_TASK, START_TASK, EngineError, TaskState, pending_approval
from flows.status import TaskStatus
from services import access, outbox
from services.case_cancel import CaseCancel
from services.cases import CaseService, Loaded
from services.comments import Comments
from services.diagrams import Diagrams
from services.escalations import Escalations
from services.menu import Pick, remember_choice
from services.wording.files import case_file_names
from tgbot.callbacks import CaseCb, EscalationCb, ItemCb, TaskCb
from tgbot.case_view import case_view
from tgbot.conversation import Conversation
from tgbot.notifier import send_files
from tgbot.render import Renderer, markup


@dataclass
class Reply:
    """The button's answer (a short notice, or None) and a card to send, if any."""

    notice: str | None = None
    card: tuple[str, dict[str, Any] | None] | None = None


class CardButtons:
    def __init__(self, cases: CaseService, conversation: Conversation, renderer: Renderer) -> None:
        self.cases = cases
        self.conversation = conversation
        self.r = renderer
        self.user: User = conversation.user
        self.lang = conversation.lang

    # --- task cards -----------------------------------------------------------------------------------

    async def task(self, button: TaskCb) -> str | None:
        """Take a task from the pool, choose an outcome (its form opens if it asks anything), start or
        pause the timer. The notice for the button."""
        task = await self.cases.task_row(button.task_id)
        if button.action == "claim":
            loaded = await self.cases.claim(self.user, task.id, answering=True)
            if loaded.task_rows[task.id].status == TaskStatus.DONE:  # taking it was the work (`done_when_taken`)
                await self.conversation.say_done(loaded)  # as any task done: where the case is now, whom it awaits
                return self.r.t("Done ✅", self.lang)
            return self.r.t("The task is yours.", self.lang)
        if button.action in ("out", "noparts"):
            # noparts: a reclamation's parts task done after all, the products in the cart not its parts (asked)
            outcome = button.arg if button.action == "out" else "done"
            access.require_holder(self.user, task)
            if await self.conversation.begin(task, outcome):
                return None
            loaded = await self.cases.submit(self.user, task.id, outcome, {}, answering=True)
            await self.conversation.say_done(loaded)  # a notice flashes away: the chat says what happens now
            return self.r.t("Done ✅", self.lang)
        if button.action == "card":  # «📋 Open the task» under a notice: the card again, at the bottom of the chat
            access.require_holder(self.user, task)
            await self.cases.show_task(self.user, task.id)
            return None
        if button.action == "work" and button.arg == "start":
            await self.cases.start_work(self.user, task.id)
            return self.r.t("⏱ The timer is running.", self.lang)
        if button.action == "work":
            await self.cases.pause_work(self.user, task.id)
            return self.r.t("⏸ Paused.", self.lang)
        if button.action == "resume" and (task.key == START_TASK or task.draft):
            access.require_holder(self.user, task)
            # The draft is kept: the form goes on where it stopped (a request's, or a task's put aside).
            await self.conversation.begin(task, (task.draft or {}).get("outcome") or "submit")
            return None
        if button.action == "discard" and task.key == START_TASK:
            access.require_holder(self.user, task)
            await self.conversation.cancel(task)
            return None
        return None

    # --- case cards -----------------------------------------------------------------------------------

    async def case(self, viewer: access.Viewer, button: CaseCb) -> Reply:
        """Show a case one may see, cancel it, ask to change a field, or move it by hand."""
        loaded = await self.cases.visible(viewer, button.case_id)
        if button.action in ("cancel", "cancel_yes", "keep"):
            return await self._cancel(button)
        if button.action == "edit":
            await self._edit(loaded.row.id, button.arg)
            return Reply()
        if button.action == "move":
            return await self._move(loaded.row.id, button.arg)
        if button.action in ("mute", "unmute"):
            muted = button.action == "mute"
            loaded = await self.cases.mute(viewer, loaded.row.id, muted)
            if self.user.id != loaded.state.initiator_id:
                notice = (
                    self.r.t("🔕 You no longer follow this case; your own tasks still come.", self.lang)
                    if muted
                    else self.r.t("🔔 You follow this case: you will be told when it moves on.", self.lang)
                )
            else:
                notice = (
                    self.r.t("🔕 No more stage updates about this case; your own tasks still come.", self.lang)
                    if muted
                    else self.r.t("🔔 You will be told again when this case moves on.", self.lang)
                )
            return Reply(notice, await case_view(self.cases, self.user, loaded))
        if button.action == "files":
            state = loaded.state
            files = self.r.files(state.spec, state.data, case_file_names(state.spec, state.data), self.lang)
            send_files(self.cases.session, self.user.tg_id, self.cases.now, files, self.r.case_name(state, self.lang),
                       loaded.row.id)  # fmt: skip
            return Reply(self.r.t("Files of the case: %(n)s", self.lang, n=len(files)))
        if button.action == "doc":
            state = loaded.state
            ref = access.case_file(state.spec, state.data, int(button.arg) if button.arg.isdigit() else 0)
            if ref is None:
                raise EngineError(_("This document is no longer on the case."))
            label = self.r.t("Document from 1C", self.lang)
            send_files(self.cases.session, self.user.tg_id, self.cases.now, [(label, ref)],
                       self.r.case_name(state, self.lang), loaded.row.id)  # fmt: skip
            return Reply()
        if button.action in ("comment", "note", "reply"):
            reply_to = int(button.arg) if button.action == "reply" and button.arg.isdigit() else None
            await Comments(self.cases).ask(viewer, loaded.row.id, button.action == "note", reply_to)
            case = self.r.case_name(loaded.state, self.lang)
            internal = bool(viewer.user.prompt and viewer.user.prompt.get("internal"))
            ask = (
                self.r.t("🔒 Write an internal note on %(case)s (the dealer's side will not see it): text, a photo "
                         "or a file. /cancel to drop it.", self.lang, case=case)
                if internal
                else self.r.t("💬 Write your comment on %(case)s: text, a photo or a file. /cancel to drop it.",
                              self.lang, case=case)
            )  # fmt: skip
            return Reply(card=(ask, None))
        if button.action == "thread":
            entries, _total = await Comments(self.cases).thread(viewer, loaded.row.id)
            lines = [self.r.case_name(loaded.state, self.lang), *(self.r.comment_line(e, self.lang) for e in entries)]
            return Reply(card=("\n".join(lines), None))
        if button.action == "diagram":
            picture = await Diagrams(self.cases.core, self.cases.session).case_picture(viewer, loaded.row.id)
            payload = {"file_id": picture.file_id, "caption": picture.caption[:1000]}
            outbox.enqueue(
                self.cases.session, chat_id=self.user.tg_id, method="sendPhoto", payload=payload, now=self.cases.now
            )
            return Reply()
        return Reply(card=await case_view(self.cases, self.user, loaded))

    async def _cancel(self, button: CaseCb) -> Reply:
        """“✖️ Cancel the case”: why is asked first, then the person confirms or keeps the case."""
        cancelling, r, lang = CaseCancel(self.cases, self.user), self.r, self.lang
        if button.action == "keep":
            cancelling.keep()
            return Reply(r.t("The case goes on.", lang))
        if button.action == "cancel_yes":
            loaded, deciders = await cancelling.confirm(button.case_id)
            if deciders:  # gone too far to take back alone (an order 1C has): those who cancel it decide
                text = r.t("Your request to cancel %(case)s, with the reason, went to the people with the role "
                           "“%(roles)s”. The case goes on until they cancel it.", lang,
                           case=r.case_name(loaded.state, lang), roles=r.roles(list(deciders), lang))  # fmt: skip
                return Reply(card=(text, None))
            text = r.t("%(case)s is cancelled.", lang, case=r.case_name(loaded.state, lang))
            if loaded.given_back:  # an order request not yet registered: its positions went back to the cart
                text += "\n" + r.t(loaded.given_back, lang)
            # The process's own words to them on the cancel (the accountant told to return a prepayment): here.
            said = await self.cases.notifier.cancel_words(loaded, self.user)
            return Reply(card=("\n".join([text, *said]), None))
        loaded, current, asked = await cancelling.ask(button.case_id, button.arg)
        if not current:
            stage = r.stage_title(loaded.state.spec, loaded.state.stage, lang)
            notice = r.t("This card is old: the case is at “%(stage)s” now. Here is its card as it stands.", lang,
                         stage=stage)  # fmt: skip
            return Reply(notice, await case_view(self.cases, self.user, loaded))
        await self.conversation.put_aside()  # the reason must not be taken as an answer of an open form
        case = r.case_name(loaded.state, lang)
        if asked is not None and asked.once_sent:  # said before the reason: confirming will only ask those who may
            text = r.t("✖️ %(case)s is already in 1C: only the people with the role “%(roles)s” can cancel it now. "
                       "Write the reason in one message: it goes to them with your request to cancel.", lang,
                       case=case, roles=r.roles(asked.by, lang))  # fmt: skip
        elif asked is not None:
            text = r.t("✖️ At the stage “%(stage)s” only the people with the role “%(roles)s” can cancel %(case)s. "
                       "Write the reason in one message: it goes to them with your request to cancel.", lang,
                       stage=r.stage_title(loaded.state.spec, loaded.state.stage, lang), case=case,
                       roles=r.roles(asked.by, lang))  # fmt: skip
        else:
            text = r.t("✖️ Cancel %(case)s? Write the reason in one message: whoever works on the case will read it.",
                       lang, case=case)  # fmt: skip
        return Reply(card=(text, self._keep_button(button.case_id)))

    def _keep_button(self, case_id: int, *, confirm: bool = False, asks: bool = False) -> dict[str, Any] | None:
        """«Keep the case»; with `confirm`, the button that cancels it — or, where the person only `asks`, the one
        that sends the request, saying so."""
        keep = InlineKeyboardButton(text=self.r.t("↩️ Keep the case", self.lang),
                                    callback_data=CaseCb(action="keep", case_id=case_id).pack())  # fmt: skip
        rows = [[keep]]
        if confirm:
            data = CaseCb(action="cancel_yes", case_id=case_id).pack()
            label = self.r.t("📨 Ask to cancel", self.lang) if asks else self.r.t("✖️ Cancel the case", self.lang)
            rows.insert(0, [InlineKeyboardButton(text=label, callback_data=data)])
        return markup(rows)

    async def cancel_reason(self, text: str) -> tuple[str, dict[str, Any] | None]:
        """The reason for a cancellation came: the person confirms it (or the request to those who cancel the case
        at its stage), seeing where the case stands."""
        loaded, asked = await CaseCancel(self.cases, self.user).reason(text)
        r, lang, state = self.r, self.lang, loaded.state
        case, stage = r.case_name(state, lang), r.stage_title(state.spec, state.stage, lang)
        if asked is not None:
            question = r.t("Ask the people with the role “%(roles)s” to cancel %(case)s?\nStage: %(stage)s\nReason: "
                           "%(reason)s\nThe case goes on until they cancel it.", lang, roles=r.roles(asked.by, lang),
                           case=case, stage=stage, reason=text.strip())  # fmt: skip
        else:
            question = r.t("Cancel %(case)s?\nStage: %(stage)s\nReason: %(reason)s", lang, case=case, stage=stage,
                           reason=text.strip())  # fmt: skip
        return question, self._keep_button(loaded.row.id, confirm=True, asks=asked is not None)

    async def _edit(self, case_id: int, name: str) -> None:
        loaded = await self.cases.request_edit(self.user, case_id, name)
        task = self._my_open_task(loaded, lambda t: t.key == EDIT_PREFIX + name)
        if task is None:
            raise EngineError(_("This field cannot be changed at this stage."))
        await self.conversation.begin(loaded.task_rows[task.id or 0], "submit")

    async def _move(self, case_id: int, to: str) -> Reply:
        loaded = await self.cases.move(self.user, case_id, to)
        task = self._my_open_task(loaded, lambda t: t.key == MOVE_TASK and t.stage == to)
        if task is not None:
            # The stage needs fields that are still empty: ask for them here, then the move completes.
            await self.conversation.begin(loaded.task_rows[task.id or 0], "submit")
            return Reply()
        stage = self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang)
        loaded = await self.cases.load(loaded.row.id, lock=False)
        return Reply(
            self.r.t("Moved: %(stage)s", self.lang, stage=stage), await case_view(self.cases, self.user, loaded)
        )

    # --- item cards -----------------------------------------------------------------------------------

    async def item(self, viewer: access.Viewer, button: ItemCb) -> Reply:
        """Move an item of a case one may see (its form opens if the new stage asks for fields), correct one of its
        fields (asked here, as a case's field is), show its history, or send its card here."""
        loaded = await self.cases.visible(viewer, button.case_id)
        name, index = button.list, button.index
        if name not in loaded.state.spec.tracks() or item_state(loaded.state.data, name, index) is None:
            raise EngineError(_("This item does not exist."))
        if button.action == "history":
            await self.cases.notifier.item_history(loaded, name, index, self.user)
            return Reply()
        if button.action == "card":
            await self.cases.show_item(self.user, loaded.row.id, name, index)
            return Reply()
        wanted = (item_edit_key if button.action == "edit" else item_task_key)(name, index, button.arg)
        if await self.conversation.item_form_open(loaded, name, index, wanted):
            return Reply()
        if button.action == "edit":
            loaded = await self.cases.request_item_edit(self.user, loaded.row.id, name, index, button.arg)
            task = self._my_open_task(loaded, lambda t: t.key == wanted)
            if task is None:
                raise EngineError(_("This field of the item cannot be changed where it stands, or not by you."))
            await self.conversation.begin(loaded.task_rows[task.id or 0], "submit")
            return Reply()
        loaded = await self.cases.move_item(self.user, loaded.row.id, name, index, button.arg)
        task = self._my_open_task(loaded, lambda t: t.key == wanted)
        if task is not None:
            # The item's new stage needs fields its entry lacks: ask for them here, then the move completes.
            await self.conversation.begin(loaded.task_rows[task.id or 0], "submit")
            return Reply()
        if pending_approval(loaded.state, name, index) is not None:
            return Reply(self.r.item_waits(loaded.state, name, index, button.arg, self.lang))
        stage = self.r.item_stage_title(loaded.state, name, button.arg, self.lang)
        return Reply(self.r.t("Moved: %(stage)s", self.lang, stage=stage))

    def _my_open_task(self, loaded: Loaded, wanted: Any) -> TaskState | None:
        return next(
            (t for t in loaded.state.open_tasks() if t.assignee_id == self.user.id and t.id is not None and wanted(t)),
            None,
        )

    # --- the start menu -------------------------------------------------------------------------------

    async def start(self, process: str, *, fresh: bool = False, chosen: Pick | None = None) -> None:
        """Start a case; its start form opens at once, or, with nothing to ask, the case is registered. With a
        request of this process still unfinished, the person chooses: continue it, or drop it and start anew.
        `chosen`: the press on a «Which process?» list this is, remembered as its choice with the start."""
        drafts = await self.cases.drafts(self.user, process)
        if drafts and not fresh:
            if chosen is not None:
                remember_choice(self.user, chosen)
            self.conversation.say(*self.r.draft_or_fresh(*drafts[0], self.lang))
            return
        for state, _task in drafts:
            await self.cases.cancel(self.user, state.id or 0)
        loaded = await self.cases.start(self.user, process, registering=True)
        if chosen is not None:
            # Set after the start's reads (the first would have flushed it as an UPDATE of its own): the first
            # question's statement, or the update's last, writes it with her form pointer, in the case's transaction.
            remember_choice(self.user, chosen)
        task = next((x for x in loaded.state.tasks if x.key == START_TASK and x.status == "open"), None)
        if task is not None and task.id is not None:
            await self.conversation.begin(loaded.task_rows[task.id], "submit")
            return
        if loaded.registered:
            return  # the step's first message said it, before the report and the card it gave
        case = self.r.case_name(loaded.state, self.lang)
        self.conversation.say(self.r.t("✅ Case %(case)s is registered.", self.lang, case=case))


class EscalationButtons:
    """The buttons of an escalation message: pick whom to reassign to, pick a new deadline (then its reason is
    asked as text), or take the task over. Returns what the chat shows; the handlers only send it."""

    def __init__(self, escalations: Escalations, conversation: Conversation, renderer: Renderer) -> None:
        self.escalations = escalations
        self.conversation = conversation
        self.r = renderer
        self.lang = conversation.lang

    async def press(self, button: EscalationCb) -> Reply:
        esc, r, lang = self.escalations, self.r, self.lang
        if button.action == "reassign":
            found, people = await esc.candidates(button.task_id, button.holder)
            choices = [(p.id, p.name) for p in people]
            return Reply(card=r.reassign_picker(found.loaded.state.spec, found.task, button.holder, choices, lang))
        if button.action == "to":
            found, target = await esc.reassign(button.task_id, button.holder, button.arg)
            title = r.task_title(found.loaded.state.spec, found.task, lang, found.loaded.state.data)
            return Reply(r.t("“%(task)s” is now with %(who)s.", lang, task=title, who=target.name))
        if button.action == "take":
            await esc.take_over(button.task_id, button.holder)
            return Reply(r.t("The task is yours now.", lang))
        if button.action == "days":
            await self.conversation.put_aside()  # the reason must not be taken as an answer of an open form
            found = await esc.ask_reason(button.task_id, button.arg)
            keep = markup([[r.keep_deadline_button(found.task, lang)]])
            return Reply(card=(r.t("Why is the deadline moved? Write the reason in one message.", lang), keep))
        return Reply()

    async def deadline_picker(self, task_id: int) -> Callable[[int], tuple[str, dict[str, Any] | None]]:
        """«Extend the deadline»: the picker, built for its own outbox row, so that «✖️ Cancel» can close it."""
        found, deadlines = await self.escalations.deadlines(task_id)
        spec, task = found.loaded.state.spec, found.task
        return lambda ref: self.r.deadline_picker(spec, task, deadlines, self.lang, ref)

    async def keep_deadline(self, task_id: int) -> str:
        """«✖️ Cancel» under the picker or the question why: nothing moves, the question (if asked) is closed."""
        found, _deadlines = await self.escalations.deadlines(task_id)
        prompt = self.escalations.user.prompt or {}
        if self.escalations.reason_pending() and prompt.get("task_id") == task_id:
            self.escalations.drop_reason()
        return self.r.deadline_kept(found.loaded.state.spec, found.task, self.lang)

    def ask_in_words(self) -> str:
        return self.r.t("Please write the reason in words.", self.lang)

    async def reason(self, text: str) -> str:
        """The reason for the picked deadline came: the deadline moves. What the person is told. A refusal (the
        task was done meanwhile) is said, not raised: raised, it would roll back and leave the question open,
        so the person's every next message would be taken for a reason again."""
        if not text.strip():
            return self.ask_in_words()
        try:
            found, due_at = await self.escalations.extend(text)
        except EngineError as refusal:
            self.escalations.drop_reason()
            return "⚠️ " + self.r.t(refusal.message, self.lang, **refusal.params)
        title = self.r.task_title(found.loaded.state.spec, found.task, self.lang, found.loaded.state.data)
        return self.r.t("🗓 “%(task)s” is now due %(when)s.", self.lang, task=title, when=self.r.when(due_at, self.lang))
