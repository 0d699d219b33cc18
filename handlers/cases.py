"""The case card: where a case stands, who holds its current tasks and until when."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CaseCb
from bot.cases import CaseService, Loaded
from bot.core import Core
from db.models import Task, User
from flows.i18n import _
from flows.runtime import EngineError
from handlers.common import Registered, say

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
router.callback_query.filter(Registered())


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
    query: CallbackQuery, callback_data: CaseCb, session: AsyncSession, core: Core, user: User, roles: set[str]
) -> None:
    service = CaseService(core, session)
    loaded = await service.load(callback_data.case_id, lock=False)
    if not await may_see(session, loaded, user, roles):
        raise EngineError(_("You cannot see this case."))
    if callback_data.action == "cancel":
        await service.cancel(user, loaded.row.id)
        await query.answer(core.translator.t("The case is cancelled.", user.language))
        return
    names = await service.names(loaded.state)
    text = core.renderer.case_card(loaded.state, user.language, names=names, open_tasks=loaded.state.open_tasks())
    keyboard = None
    if loaded.state.status == "active" and (user.is_admin or loaded.state.initiator_id == user.id):
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=core.translator.t("✖️ Cancel the case", user.language),
                        callback_data=CaseCb(action="cancel", case_id=loaded.row.id).pack(),
                    )
                ]
            ]
        )
    say(core, session, user.tg_id, text, keyboard)
    await query.answer()
