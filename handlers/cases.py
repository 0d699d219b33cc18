"""The case card: where a case stands, who holds its current tasks and until when."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, User
from flows.i18n import _
from flows.runtime import EDIT_PREFIX, MOVE_TASK, EngineError
from handlers.common import AfterCommit, Registered, answer, say
from services.cases import CaseService, Loaded
from services.core import Core
from tgbot.callbacks import CaseCb
from tgbot.case_view import case_view
from tgbot.conversation import Conversation

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
router.callback_query.filter(Registered())
router.message.filter(Registered())


@router.message(Command("case"))
async def case_by_number(
    message: Message, command: CommandObject, session: AsyncSession, core: Core, user: User, roles: set[str]
) -> None:
    """`/case 12`: where any case one may see stands — stage, who holds its tasks, until when."""
    number = (command.args or "").strip().lstrip("№#")
    if not number.isdigit():
        raise EngineError(_("Send the case number, for example: /case 12"))
    service = CaseService(core, session)
    loaded = await service.load(int(number), lock=False)
    if not await may_see(session, loaded, user, roles):
        raise EngineError(_("You cannot see this case."))
    say(core, session, message.chat.id, *(await case_view(service, user, loaded)))


async def may_see(session: AsyncSession, loaded: Loaded, user: User, roles: set[str]) -> bool:
    if user.is_admin or loaded.state.initiator_id == user.id or roles & set(loaded.state.spec.roles):
        return True
    involved = await session.execute(
        select(Task.id)
        .where(Task.case_id == loaded.row.id, (Task.assignee_id == user.id) | (Task.done_by == user.id))
        .limit(1)
    )
    return involved.first() is not None


@router.callback_query(CaseCb.filter())
async def on_case(
    query: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    core: Core,
    user: User,
    roles: set[str],
    after_commit: AfterCommit,
) -> None:
    service = CaseService(core, session)
    loaded = await service.load(callback_data.case_id, lock=False)
    if not await may_see(session, loaded, user, roles):
        raise EngineError(_("You cannot see this case."))
    if callback_data.action == "cancel":
        await service.cancel(user, loaded.row.id)
        answer(after_commit, query, core.translator.t("The case is cancelled.", user.language))
        return
    if callback_data.action == "edit":
        loaded = await service.request_edit(user, loaded.row.id, callback_data.arg)
        edit_task = next(
            (
                t
                for t in loaded.state.open_tasks()
                if t.key == EDIT_PREFIX + callback_data.arg and t.assignee_id == user.id
            ),
            None,
        )
        if edit_task is None or edit_task.id is None:
            raise EngineError(_("This field cannot be changed at this stage."))
        await Conversation(core, session, user).begin(loaded.task_rows[edit_task.id], "submit")
        answer(after_commit, query)
        return
    if callback_data.action == "move":
        loaded = await service.move(user, loaded.row.id, callback_data.arg)
        move_task = next(
            (
                t
                for t in loaded.state.open_tasks()
                if t.key == MOVE_TASK and t.assignee_id == user.id and t.stage == callback_data.arg
            ),
            None,
        )
        if move_task is not None and move_task.id is not None:
            # The stage needs fields that are still empty: ask for them here, then the move completes.
            await Conversation(core, session, user).begin(loaded.task_rows[move_task.id], "submit")
            answer(after_commit, query)
            return
        stage = core.wording.stage_title(loaded.state.spec, loaded.state.stage, user.language)
        answer(after_commit, query, core.translator.t("Moved: %(stage)s", user.language, stage=stage))
        loaded = await service.load(loaded.row.id, lock=False)
        say(core, session, user.tg_id, *(await case_view(service, user, loaded)))
        return
    text, markup = await case_view(service, user, loaded)
    say(core, session, user.tg_id, text, markup)
    answer(after_commit, query)
