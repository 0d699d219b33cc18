"""Receiving updates from Telegram into the inbox (`tgbot.inbox.InboxProcessor` stores and handles them).

In polling mode the offset moves past an update only once it is stored (Telegram forgets updates below the offset
we ask for next); in webhook mode Telegram gets 200 only after the row is committed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiohttp import web

from tgbot.inbox import InboxProcessor

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# A NUL character written as JSON's escape, not itself escaped (an even run of backslashes before it, or none):
# «\\u0000» is a backslash and the text «u0000», which stays.
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(raw: str) -> str:
    """Telegram's JSON without NUL characters (U+0000): nobody sees one in a message, and PostgreSQL stores none —
    an update holding one could not be stored, and as the offset moves only past stored updates, the bot answered
    nobody after it. Text without one (nearly all) is returned as it is, after one search."""
    return _NUL.sub(r"\1", raw) if "\\u0000" in raw else raw


def loads_without_nul(raw: str) -> Any:
    """The bot session's `json_loads`: Telegram's answers (getUpdates' updates among them) without NUL characters."""
    return json.loads(without_nul(raw))


class RawGetUpdates(GetUpdates):
    """getUpdates answered with the updates as Telegram sent them: they are stored as they came and validated into
    `Update` once, when handled (not parsed, dumped back to JSON and parsed again)."""

    __returning__ = list[dict[str, Any]]


class Poller:
    """getUpdates with the offset moved only past stored updates."""

    def __init__(self, bot: Bot, processor: InboxProcessor, *, timeout: int = 10, allowed: list[str] | None = None):
        self.bot = bot
        self.processor = processor
        self.timeout = timeout
        self.allowed = allowed
        self.offset: int | None = None
        self._stopping = False
        self._waiting: asyncio.Future[list[dict[str, Any]]] | None = None  # the long poll in flight

    async def run(self) -> None:
        backoff = 1.0
        while not self._stopping:
            self._waiting = asyncio.ensure_future(
                self.bot(
                    cast(
                        "TelegramMethod[list[dict[str, Any]]]",  # a string: parametrised at run time, it costs ms
                        RawGetUpdates(offset=self.offset, timeout=self.timeout, allowed_updates=self.allowed),
                    ),
                    request_timeout=self.timeout + 10,
                )
            )
            try:
                updates = await self._waiting
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if self._stopping and (current is None or not current.cancelling()):
                    return  # `stop` ended the long poll: nothing was taken, Telegram keeps the updates
                raise
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)
                continue
            except (TelegramNetworkError, TelegramAPIError) as error:
                log.warning("getUpdates failed (%s); again in %.0f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            if not updates:
                continue
            await self.processor.store(updates)  # raises on a database error: the offset stays put
            ids = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
            if ids:
                self.offset = max(ids) + 1

    def stop(self) -> None:
        """Stop at once: a long poll waiting for updates is given up (the offset is not confirmed, so whatever it
        would have brought comes with the next getUpdates); storing what already came is let finish."""
        self._stopping = True
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()


def webhook_handler(processor: InboxProcessor, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Telegram's POST: 200 only once the update is committed; a repeated update_id is stored once. A worker that
    shares the inbox starts the update it stored itself, without a pass (`InboxProcessor.receive`)."""

    async def handle(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return web.Response(status=401)
        try:
            raw = without_nul((await request.read()).decode())  # stored as it is parsed
            payload = json.loads(raw)
        except ValueError:
            return web.Response(status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400)
        await processor.receive(payload, raw)
        return web.Response()

    return handle
