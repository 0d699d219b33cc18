"""What the buttons of task and case cards and of the start menu do: a case command, and a form opened in
chat when the command needs answers first. Returns what the chat shows; the handlers only send it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.models import User
from flows.i18n import _
from flows.runtime import EDIT_PREFIX, MOVE_TASK, START_TASK, EngineError, TaskState
from services import access
from services.cases import CaseService, Loaded
from services.wording import file_fields
from tgbot.callbacks import CaseCb, TaskCb
from tgbot.case_view import case_view
from tgbot.conversation import Conversation
from tgbot.notifier import send_files
from tgbot.render import Renderer


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
            await self.cases.claim(self.user, task.id)
            return self.r.t("The task is yours.", self.lang)
        if button.action == "out":
            access.require_holder(self.user, task)
            if await self.conversation.begin(task, button.arg):
                return None
            await self.cases.submit(self.user, task.id, button.arg, {})
            return self.r.t("Done ✅", self.lang)
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
        if button.action == "cancel":
            await self.cases.cancel(self.user, loaded.row.id)
            return Reply(self.r.t("The case is cancelled.", self.lang))
        if button.action == "edit":
            await self._edit(loaded.row.id, button.arg)
            return Reply()
        if button.action == "move":
            return await self._move(loaded.row.id, button.arg)
        if button.action in ("mute", "unmute"):
            muted = button.action == "mute"
            loaded = await self.cases.mute(viewer, loaded.row.id, muted)
            notice = (
                self.r.t("🔕 No more stage updates about this case; your own tasks still come.", self.lang)
                if muted
                else self.r.t("🔔 You will be told again when this case moves on.", self.lang)
            )
            return Reply(notice, await case_view(self.cases, self.user, loaded))
        if button.action == "files":
            state = loaded.state
            files = self.r.files(state.spec, state.data, file_fields(state.spec), self.lang)
            send_files(self.cases.session, self.user.tg_id, self.cases.now, files, self.r.case_name(state, self.lang))
            return Reply(self.r.t("Files of the case: %(n)s", self.lang, n=len(files)))
        return Reply(card=await case_view(self.cases, self.user, loaded))

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

    def _my_open_task(self, loaded: Loaded, wanted: Any) -> TaskState | None:
        return next(
            (t for t in loaded.state.open_tasks() if t.assignee_id == self.user.id and t.id is not None and wanted(t)),
            None,
        )

    # --- the start menu -------------------------------------------------------------------------------

    async def start(self, process: str, *, fresh: bool = False) -> None:
        """Start a case; its start form opens at once, or, with nothing to ask, the case is registered. With a
        request of this process still unfinished, the person chooses: continue it, or drop it and start anew."""
        drafts = await self.cases.drafts(self.user, process)
        if drafts and not fresh:
            self.conversation.say(*self.r.draft_or_fresh(*drafts[0], self.lang))
            return
        for state, _task in drafts:
            await self.cases.cancel(self.user, state.id or 0)
        loaded = await self.cases.start(self.user, process)
        task = next((x for x in loaded.state.tasks if x.key == START_TASK and x.status == "open"), None)
        if task is not None and task.id is not None:
            await self.conversation.begin(loaded.task_rows[task.id], "submit")
            return
        case = self.r.case_name(loaded.state, self.lang)
        self.conversation.say(self.r.t("✅ Case %(case)s is registered.", self.lang, case=case))
