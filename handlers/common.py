"""Small things every router needs: the menu keyboard, matching its buttons in both languages."""

from __future__ import annotations

from typing import Any

from aiogram.filters import BaseFilter
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup

from bot.core import Core
from bot.i18n import LANGUAGES
from flows.i18n import _

MY_TASKS = _("📋 My tasks")
NEW_CASE = _("▶️ Start a process")
MY_CASES = _("📁 My cases")


def menu_keyboard(core: Core, lang: str) -> ReplyKeyboardMarkup:
    t = core.translator.t
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t(MY_TASKS, lang)), KeyboardButton(text=t(NEW_CASE, lang))],
            [KeyboardButton(text=t(MY_CASES, lang))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


class MenuButton(BaseFilter):
    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    async def __call__(self, message: Message, core: Core, **_: Any) -> bool:
        if not message.text:
            return False
        return message.text in {core.translator.t(self.msgid, lang) for lang in LANGUAGES}


class Registered(BaseFilter):
    async def __call__(self, _event: Any, user: Any = None, **__: Any) -> bool:
        return user is not None and bool(user.active)


class Admin(BaseFilter):
    async def __call__(self, _event: Any, user: Any = None, **__: Any) -> bool:
        return user is not None and bool(user.is_admin)


def say(core: Core, session: Any, chat_id: int, text: str, keyboard: Any = None) -> None:
    """Reply through the outbox, in the update's transaction: it goes out once, after the change commits."""
    from bot import outbox

    markup = keyboard.model_dump(exclude_none=True) if hasattr(keyboard, "model_dump") else keyboard
    outbox.message(session, chat_id, text, core.clock.now(), markup)
