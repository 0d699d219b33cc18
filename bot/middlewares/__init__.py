"""Outer middlewares: one database transaction per update, and the person behind it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser

from bot import people
from bot.core import Core

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One update is one transaction: all it changes, and every message it queues, commit together."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.core.sessionmaker() as session:
            async with session.begin():
                data["session"] = session
                data["core"] = self.core
                tg_user: TgUser | None = data.get("event_from_user")
                data["user"] = await people.user_by_tg(session, tg_user.id) if tg_user else None
                if data["user"] is not None:
                    data["roles"] = await people.roles_of(session, data["user"].id)
                else:
                    data["roles"] = set()
                result = await handler(event, data)
            self.core.outbox_written()
            return result


def update_lang(update: Update, data: dict[str, Any]) -> str:
    user = data.get("user")
    if user is not None:
        return str(user.language)
    tg_user: TgUser | None = data.get("event_from_user")
    return "en" if tg_user and (tg_user.language_code or "").startswith("en") else "ru"
