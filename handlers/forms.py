"""While a person fills a form: their messages are answers, the form's buttons steer it."""

from __future__ import annotations

import logging
from typing import Any, Final

from aiogram import Bot, Router
from aiogram.filters import BaseFilter, Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, User
from flows.i18n import _
from flows.runtime import EngineError
from handlers.common import MY_CASES, MY_TASKS, NEW_CASE, AfterCommit, MenuButton, NotACommand, Registered, answer, say
from services.core import Core
from tgbot.callbacks import FormCb
from tgbot.conversation import Conversation, FormError, IncomingFile

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())


class FillingForm(BaseFilter):
    async def __call__(self, _event: Any, user: Any = None, **_: Any) -> bool:
        return user is not None and user.active_task_id is not None


async def _active(conversation: Conversation) -> Task:
    task = await conversation.active_task()
    if task is None:
        raise EngineError(_("There is no form open now. Use the menu."))
    return task


@router.message(Command("cancel"), FillingForm())
async def cancel_command(message: Message, session: AsyncSession, core: Core, user: User) -> None:
    conversation = Conversation(core, session, user)
    await conversation.cancel(await _active(conversation))


@router.message(FillingForm(), ~MenuButton(MY_TASKS), ~MenuButton(NEW_CASE), ~MenuButton(MY_CASES), NotACommand())
async def on_answer(
    message: Message, bot: Bot, session: AsyncSession, core: Core, user: User, downloads: dict[str, bytes]
) -> None:
    conversation = Conversation(core, session, user)
    task = await conversation.active_task()
    if task is None:
        say(
            core, session, message.chat.id, core.translator.t("There is no form open now. Use the menu.", user.language)
        )
        return
    try:
        incoming = _incoming_file(message, downloads)
        if incoming is not None:
            await conversation.answer_file(task, incoming)
        elif message.text is not None:
            await conversation.answer_text(task, message.text)
        else:
            raise FormError(_("Please answer with text, a photo or a file."))
    except FormError as exc:
        # A wrong answer loses nothing: say what is wrong and ask the same question again.
        say(core, session, message.chat.id, "⚠️ " + core.translator.t(exc.message, user.language, **exc.params))
        await conversation.ask(task)


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
        )
    return None


@router.callback_query(FormCb.filter())
async def on_form_button(
    query: CallbackQuery,
    callback_data: FormCb,
    session: AsyncSession,
    core: Core,
    user: User,
    after_commit: AfterCommit,
) -> None:
    conversation = Conversation(core, session, user)
    task = await conversation.active_task()
    if task is None or task.id != callback_data.task_id:
        raise EngineError(_("This form is no longer open."))
    action, step = callback_data.action, callback_data.step
    if action == "pick":
        await conversation.pick(task, callback_data.arg, step)
    elif action == "files":
        await conversation.files_done(task, step)
    elif action in ("yes", "no"):
        await conversation.more(task, action == "yes", step)
    elif action == "skip":
        await conversation.skip(task, step)
    elif action == "back":
        await conversation.back(task, step)
    elif action == "edit":
        await conversation.edit(task, step)
    elif action == "field":
        await conversation.edit_field(task, callback_data.arg, step)
    elif action == "resume":
        await conversation.resume(task)
    elif action == "confirm":
        await conversation.confirm(task, step)
    elif action == "cancel":
        await conversation.cancel(task, step)
    answer(after_commit, query)
