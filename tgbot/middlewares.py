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

from services import people
from services.core import Core

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


MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's own limit for bots; a local Bot API server has none


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

    async def _download_files(self, event: TelegramObject, bot: Any, tg_user: TgUser | None) -> dict[str, bytes]:
        """Fetch the message's file if someone will use it: a person filling a form, or an admin (a definition).
        A stranger's files are not downloaded at all."""
        message = event.message if isinstance(event, Update) else None
        if message is None or bot is None or tg_user is None or message.chat.type != "private":
            return {}
        wanted = [message.photo[-1]] if message.photo else []
        if message.document is not None:
            wanted.append(message.document)  # type: ignore[arg-type]
        if not wanted:
            return {}
        async with self.core.sessionmaker() as session:
            user = await people.user_by_tg(session, tg_user.id)
        if user is None or not (user.active_task_id or user.is_admin):
            return {}
        downloads: dict[str, bytes] = {}
        for item in wanted:
            if (item.file_size or 0) > MAX_FILE_BYTES:
                continue  # the form says the file is missing and asks again
            content = await bot.download(item.file_id)
            if content is not None:
                downloads[item.file_id] = content.read()
        return downloads

    async def _handle(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], tg_user: TgUser | None
    ) -> Any:
        # Files are fetched before the transaction opens: on SQLite a transaction holds the one write lock,
        # and a slow 20 MB upload must not stall everybody else's updates.
        data["downloads"] = await self._download_files(event, data.get("bot"), tg_user)
        async with self.core.sessionmaker() as session:
            data["after_commit"] = []
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
            for deferred in data.get("after_commit", []):
                with contextlib.suppress(Exception):  # an expired button answer is not worth an error
                    await deferred()
            return result


def update_lang(update: Update, data: dict[str, Any]) -> str:
    if data.get("lang"):
        return str(data["lang"])
    tg_user: TgUser | None = data.get("event_from_user")
    return "en" if tg_user and (tg_user.language_code or "").startswith("en") else "ru"
