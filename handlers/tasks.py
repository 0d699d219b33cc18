"""Task card buttons: take a task from a role pool, answer it with an outcome."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, User
from flows.i18n import _
from flows.runtime import EngineError
from flows.status import TaskStatus
from handlers.common import AfterCommit, Registered, answer
from services.cases import CaseService
from services.core import Core
from tgbot.callbacks import TaskCb
from tgbot.conversation import Conversation

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
router.callback_query.filter(Registered())


@router.callback_query(TaskCb.filter())
async def on_task_button(
    query: CallbackQuery,
    callback_data: TaskCb,
    session: AsyncSession,
    core: Core,
    user: User,
    after_commit: AfterCommit,
) -> None:
    t = core.translator.t
    service = CaseService(core, session)
    task = await session.get(Task, callback_data.task_id)
    if task is None:
        raise EngineError(_("This task does not exist."))
    if callback_data.action == "claim":
        await service.claim(user, task.id)
        answer(after_commit, query, t("The task is yours.", user.language))
        return
    if callback_data.action == "out":
        if task.status != TaskStatus.OPEN:
            raise EngineError(_("This task is already done or no longer needed."))
        if task.assignee_id != user.id:
            raise EngineError(_("This task is assigned to someone else."))
        conversation = Conversation(core, session, user)
        if await conversation.begin(task, callback_data.arg):
            answer(after_commit, query)
            return
        await conversation.cases.submit(user, task.id, callback_data.arg, {})
        answer(after_commit, query, t("Done ✅", user.language))
        return
    if callback_data.action == "work":
        if callback_data.arg == "start":
            await service.start_work(user, task.id)
            answer(after_commit, query, t("⏱ The timer is running.", user.language))
        else:
            await service.pause_work(user, task.id)
            answer(after_commit, query, t("⏸ Paused.", user.language))
        return
    answer(after_commit, query)
