"""While a person fills a form: their messages are answers, the form's buttons steer it."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter, Command
from aiogram.types import CallbackQuery, Message

from db.models import User
from flows.i18n import _
from flows.runtime import EngineError
from handlers.common import MENU, AfterCommit, MenuButton, Registered, answer, command_name
from services.core import Core
from tgbot.callbacks import FormCb
from tgbot.conversation import AnyTask, Conversation, FormError, IncomingFile
from tgbot.render import Renderer
from tgbot.replies import Replies

log = logging.getLogger(__name__)


def router() -> Router:
    forms = Router(name=__name__)
    forms.message.filter(Registered())
    forms.callback_query.filter(Registered())
    forms.message.register(cancel_command, Command("cancel"), FillingForm())
    forms.message.register(put_aside, FillingForm(), MenuButton(*MENU))
    forms.message.register(on_answer, Answering())
    forms.callback_query.register(on_form_button, FormCb.filter())
    return forms


class FillingForm(BaseFilter):
    async def __call__(self, _event: Any, user: Any = None) -> bool:
        return user is not None and user.active_task_id is not None


class LeavingCommand(BaseFilter):
    """A command sent with a form open that turns to other work (/tasks, /case 5, /orders, one the bot does not
    know): the form is put aside first, saying how to go on, as a menu button does — left open, it took the next
    message as an answer with its question scrolled away. /start puts it aside itself, after its greeting; /help and
    /lang ask the question again; /cancel cancels the form."""

    KEEPS = frozenset({"start", "help", "lang", "language", "cancel"})

    async def __call__(self, message: Message, user: Any = None) -> bool:
        name = command_name(message)
        return user is not None and user.active_task_id is not None and name is not None and name not in self.KEEPS


class Answering(BaseFilter):
    """A message answering the open form: not a menu button, not a command (one filter: each filter call on
    aiogram's way to a handler copies the update's data, and this is the commonest message)."""

    def __init__(self) -> None:
        self.menu = MenuButton(*MENU)

    async def __call__(self, message: Message, core: Core, user: Any = None) -> bool:
        return (
            user is not None
            and user.active_task_id is not None
            and not self.menu.pressed(message, core)
            and not (message.text or "").startswith("/")
        )


async def _active(conversation: Conversation) -> AnyTask:
    task = await conversation.active_task()
    if task is None:
        raise EngineError(_("There is no form open now. Use the menu."))
    return task


async def put_aside(message: Message, conversation: Conversation) -> None:
    """A menu button with a form open: the form is put aside (and said so), then the menu does its work."""
    await conversation.put_aside()
    raise SkipHandler


async def cancel_command(message: Message, conversation: Conversation) -> None:
    await conversation.cancel(await _active(conversation))


async def on_answer(
    message: Message,
    replies: Replies,
    renderer: Renderer,
    user: User,
    downloads: dict[str, bytes],
    conversation: Conversation,
) -> None:
    task = await conversation.active_task()
    if task is None:
        replies.say(message.chat.id, renderer.t("There is no form open now. Use the menu.", user.language))
        return
    try:
        incoming = _incoming_file(message, downloads)
        if incoming is not None:
            await conversation.answer_file(task, incoming)
        elif message.text is not None:
            await conversation.answer_text(task, message.text)
        else:
            await conversation.answer_other(task)
    except FormError as exc:
        # A wrong answer loses nothing: the same question again, what is wrong said above it (and the day it
        # suggests instead, a button away).
        warning = "⚠️ " + renderer.t(exc.message, user.language, **exc.params)
        await conversation.ask(task, warning=warning, day=exc.day)


def _incoming_file(message: Message, downloads: dict[str, bytes]) -> IncomingFile | None:
    """The file of this message, already downloaded by the middleware (outside the transaction)."""
    for item in ([message.photo[-1]] if message.photo else []) + ([message.document] if message.document else []):
        if item.file_id not in downloads:
            raise FormError(_("This file is too large; please send one under 20 MB."))
    if message.photo:
        photo = message.photo[-1]
        return IncomingFile(
            kind="photo",
            content=downloads.get(photo.file_id, b""),
            name=f"photo_{photo.file_unique_id}.jpg",
            mime_type="image/jpeg",
            tg_file_id=photo.file_id,
            tg_unique_id=photo.file_unique_id,
            album=message.media_group_id,
            caption=message.caption,
        )
    if message.document:
        document = message.document
        return IncomingFile(
            kind="document",
            content=downloads.get(document.file_id, b""),
            name=document.file_name or "file",
            mime_type=document.mime_type,
            tg_file_id=document.file_id,
            tg_unique_id=document.file_unique_id,
            album=message.media_group_id,
            caption=message.caption,
        )
    return None


async def on_form_button(
    query: CallbackQuery, callback_data: FormCb, conversation: Conversation, after_commit: AfterCommit
) -> None:
    await conversation.press(callback_data)
    answer(after_commit, query)
