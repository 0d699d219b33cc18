"""An admin's inline commands on cases in chat: `/find` (by number or words), the case's admin card and its
buttons (reassign a task, cancel with a reason, retry a failed step), `/unreachable`. The reason for a
cancellation is the admin's next message."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message

from db.models import User
from handlers.common import (
    Admin,
    AfterCommit,
    answer,
    register_asked_text,
)
from services.admin_actions import cancel_pending
from tgbot.admin_buttons import AdminButtons
from tgbot.callbacks import AdminCb
from tgbot.replies import Replies


def router() -> Router:
    built = Router(name=__name__)
    built.message.filter(Admin())
    built.callback_query.filter(Admin())
    built.message.register(find, Command("find"))
    built.message.register(unreachable, Command("unreachable"))
    built.callback_query.register(on_button, AdminCb.filter())
    register_asked_text(built, WritingReason(), on_reason, keep_case, drop_reason)
    return built


class WritingReason(BaseFilter):
    """The admin chose to cancel a case, and their next text is why."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        # (filters see no services: they are made for the chosen handler; the router's root filter is `Admin`)
        return cancel_pending(user) is not None


async def find(message: Message, command: CommandObject, admin_buttons: AdminButtons, replies: Replies) -> None:
    replies.say(message.chat.id, *(await admin_buttons.find(command.args or "")))


async def unreachable(message: Message, admin_buttons: AdminButtons, replies: Replies) -> None:
    replies.say(message.chat.id, await admin_buttons.unreachable())


async def on_button(
    query: CallbackQuery, callback_data: AdminCb, admin_buttons: AdminButtons, replies: Replies,
    after_commit: AfterCommit,
) -> None:
    reply = await admin_buttons.press(callback_data)
    if reply.card is not None:
        replies.say(query.from_user.id, *reply.card)
    answer(after_commit, query, reply.notice)


async def on_reason(message: Message, admin_buttons: AdminButtons, replies: Replies) -> None:
    if message.text is None:
        replies.say(message.chat.id, admin_buttons.r.t("Please write the reason in words.", admin_buttons.lang))
        return
    replies.say(message.chat.id, await admin_buttons.cancel(message.text))


async def keep_case(message: Message, admin_buttons: AdminButtons, replies: Replies) -> None:
    """/cancel: the question is closed, and the admin reads so (not «nothing to cancel»): the case goes on."""
    case_id = admin_buttons.actions.cancel_pending()
    admin_buttons.actions.drop_cancel()
    said = admin_buttons.r.t("The question is closed: case #%(id)s is not cancelled.", admin_buttons.lang, id=case_id)
    replies.say(message.chat.id, said)


async def drop_reason(message: Message, admin_buttons: AdminButtons) -> None:
    """The admin turned to something else: the case is not cancelled, and the menu does its work."""
    admin_buttons.actions.drop_cancel()
    raise SkipHandler
