"""Outer middlewares: one database transaction per update, and the person behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser

from bot import people
from bot.core import Core

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class PersonLocks:
    """Updates from one person are handled one at a time, in arrival order (asyncio.Lock is FIFO).

    aiogram handles updates concurrently; without this, two quick answers could both read the same
    half-filled form and one would be lost. Across workers the row lock on the user does the same.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class DbSessionMiddleware(BaseMiddleware):
    """One update is one transaction: all it changes, and every message it queues, commit together."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.locks = PersonLocks()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            return await self._handle(handler, event, data, None)
        async with self.locks.hold(tg_user.id):
            return await self._handle(handler, event, data, tg_user)

    async def _handle(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], tg_user: TgUser | None
    ) -> Any:
        async with self.core.sessionmaker() as session:
            async with session.begin():
                data["session"] = session
                data["core"] = self.core
                user, roles = (
                    await people.user_and_roles(session, tg_user.id, lock=not self.core.sqlite)
                    if tg_user
                    else (None, set())
                )
                data["user"], data["roles"] = user, roles
                if user is not None:
                    # Kept apart from the row: after a rollback the row is expired, and errors still need it.
                    data["lang"] = user.language
                result = await handler(event, data)
            self.core.outbox_written()
            return result


def update_lang(update: Update, data: dict[str, Any]) -> str:
    if data.get("lang"):
        return str(data["lang"])
    tg_user: TgUser | None = data.get("event_from_user")
    return "en" if tg_user and (tg_user.language_code or "").startswith("en") else "ru"
