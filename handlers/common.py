"""Small things every router needs: the menu keyboard, matching its buttons in both languages."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import Router
from aiogram.filters import BaseFilter, Command
from aiogram.types import CallbackQuery, Message, ReplyKeyboardMarkup

from services.core import Core
from services.i18n import LANGUAGES
from tgbot import menu_view
from tgbot.menu_view import MY_CASES, MY_TASKS, NEW_CASE
from tgbot.render import Renderer


def menu_keyboard(
    core: Core, renderer: Renderer, lang: str, roles: Iterable[str] = (), is_admin: bool = False
) -> ReplyKeyboardMarkup:
    """The menu under the chat for these roles (`tgbot.menu_view.menu_keyboard`), over the processes loaded now."""
    return menu_view.menu_keyboard(renderer, lang, roles, is_admin, core.registry.current_specs())


class MenuButton(BaseFilter):
    """One of these menu buttons (their labels in every language). Several in one filter: one filter call on
    aiogram's way to a handler, each of which copies the update's data. `loose`: the label typed by hand counts too
    («начать процесс», without the emoji, in any case) — for the menu itself, not where a form would take the
    words as an answer."""

    def __init__(self, *msgids: str, loose: bool = False) -> None:
        self.msgids = msgids
        self.loose = loose
        self._labels: tuple[object, frozenset[str]] | None = None  # (translator, the buttons' labels in each language)

    async def __call__(self, message: Message, core: Core) -> bool:
        return self.pressed(message, core)

    def pressed(self, message: Message, core: Core) -> bool:
        if not message.text:
            return False
        known = self._labels
        if known is None or known[0] is not core.translator:  # translated once, not on every message
            labels = {core.translator.t(msgid, lang) for msgid in self.msgids for lang in LANGUAGES}
            if self.loose:
                labels |= {typed(label) for label in labels}
            known = self._labels = (core.translator, frozenset(labels))
        return message.text in known[1] or (self.loose and typed(message.text) in known[1])


def typed(label: str) -> str:
    """A label as someone types it: no emoji or marks around the words, any case."""
    return _AROUND_WORDS.sub("", label).casefold()


_AROUND_WORDS = re.compile(r"^\W+|\W+$")


MENU = (MY_TASKS, NEW_CASE, MY_CASES)  # the buttons that leave a form or a question for the menu's work


class Registered(BaseFilter):
    async def __call__(self, _event: Any, user: Any = None) -> bool:
        return user is not None and bool(user.active)


class Admin(BaseFilter):
    async def __call__(self, _event: Any, user: Any = None) -> bool:
        return user is not None and bool(user.is_admin)


class PrivateChat(BaseFilter):
    """Only private chats. A plain async filter: aiogram runs magic filters (F.…) in a thread, a hop per update."""

    async def __call__(self, event: Any) -> bool:
        chat = getattr(event, "chat", None) or getattr(getattr(event, "message", None), "chat", None)
        return chat is not None and chat.type == "private"


class NotACommand(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return not (message.text or "").startswith("/")


def command_name(message: Message) -> str | None:
    """The command as aiogram's `Command` filters read it: the first word of the text or the caption (leading spaces
    skipped, as `Command` splits on whitespace), «/», then the name before «@» (which may be empty); None for a
    message that is no command."""
    words = (message.text or message.caption or "").split(maxsplit=1)
    if not words or words[0][:1] != "/":
        return None
    return words[0][1:].partition("@")[0]


class ACommand(BaseFilter):
    """What aiogram's `Command` filters can match (a text or a caption starting with their prefix, «/»): the root
    filter of a router of commands alone, so other messages pass it with one check instead of one per command."""

    async def __call__(self, message: Message) -> bool:
        return command_name(message) is not None


AfterCommit = list[Callable[[], Awaitable[Any]]]
MessageHandler = Callable[..., Awaitable[Any]]


def register_asked_text(
    built: Router, waiting: BaseFilter, on_text: MessageHandler, on_cancel: MessageHandler, on_menu: MessageHandler
) -> None:
    """A text the bot asked for after a button (a reason, a comment, an organisation's detail): /cancel drops the
    question, a menu button goes where it says (`on_menu`), any other text that is not a command is the answer."""
    built.message.register(on_cancel, waiting, Command("cancel"))
    built.message.register(on_menu, waiting, MenuButton(*MENU))
    built.message.register(on_text, waiting, NotACommand())


def answer(after_commit: AfterCommit, query: CallbackQuery, text: str | None = None, show_alert: bool = False) -> None:
    """Answer a button after the update's transaction commits: «the task is yours» only once it is saved."""
    after_commit.append(lambda: query.answer(text, show_alert=show_alert))
