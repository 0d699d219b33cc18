"""The case card: where a case stands, who holds its current tasks and until when."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from db.models import User
from flows.i18n import _
from flows.runtime import EngineError
from handlers.common import AfterCommit, Registered, answer
from services.access import Viewer
from services.cases import CaseService
from tgbot.buttons import CardButtons
from tgbot.callbacks import CaseCb
from tgbot.case_view import case_view
from tgbot.replies import Replies

log = logging.getLogger(__name__)


def router() -> Router:
    cases = Router(name=__name__)
    cases.callback_query.filter(Registered())
    cases.message.filter(Registered())
    cases.message.register(case_by_number, Command("case"))
    cases.callback_query.register(on_case, CaseCb.filter())
    return cases


async def case_by_number(
    message: Message,
    command: CommandObject,
    replies: Replies,
    user: User,
    viewer: Viewer,
    cases: CaseService,
) -> None:
    """`/case 12`: where any case one may see stands — stage, who holds its tasks, until when."""
    number = (command.args or "").strip().lstrip("№#")
    if not number.isdigit():
        raise EngineError(_("Send the case number, for example: /case 12"))
    loaded = await cases.visible(viewer, int(number))
    replies.say(message.chat.id, *(await case_view(cases, user, loaded)))


async def on_case(
    query: CallbackQuery,
    callback_data: CaseCb,
    replies: Replies,
    user: User,
    viewer: Viewer,
    buttons: CardButtons,
    after_commit: AfterCommit,
) -> None:
    """Show a case, cancel it, change a field of it, move it by hand."""
    reply = await buttons.case(viewer, callback_data)
    if reply.card is not None:
        replies.say(user.tg_id, *reply.card)
    answer(after_commit, query, reply.notice)
