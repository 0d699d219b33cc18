"""The case card: where a case stands, who holds its current tasks and until when."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message

from db.models import User
from flows.i18n import _
from flows.runtime import EngineError
from handlers.common import AfterCommit, Registered, answer, register_asked_text
from services.access import Viewer
from services.case_cancel import CaseCancel, cancel_asked, writing_reason
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
    # /cancel closes the question (the reason asked, or «cancel it?» after it) and says so.
    cases.message.register(keep_case_said, CancelAsked(), Command("cancel"))
    register_asked_text(cases, WritingCancelReason(), on_cancel_reason, keep_case, keep_case)
    return cases


class WritingCancelReason(BaseFilter):
    """The person pressed “✖️ Cancel the case”, and their next text is why."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return writing_reason(user)  # filters see no services (they are made for the chosen handler)


class CancelAsked(BaseFilter):
    """A cancellation of a case waits for this person: its reason, or the confirmation after it."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return cancel_asked(user) is not None


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


async def on_cancel_reason(message: Message, buttons: CardButtons, replies: Replies) -> None:
    if message.text is None:
        raise EngineError(_("Please write the reason in words."))
    replies.say(message.chat.id, *(await buttons.cancel_reason(message.text)))


async def keep_case_said(message: Message, buttons: CardButtons, replies: Replies) -> None:
    case_id = cancel_asked(buttons.user)
    CaseCancel(buttons.cases, buttons.user).keep()
    replies.say(message.chat.id, buttons.r.t("The question is closed: case #%(id)s is not cancelled.", buttons.lang,
                                             id=case_id))  # fmt: skip


async def keep_case(message: Message, buttons: CardButtons) -> None:
    """The person turned to something else (/cancel, the menu): the case is not cancelled."""
    CaseCancel(buttons.cases, buttons.user).keep()
    raise SkipHandler
