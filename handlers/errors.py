"""Errors people understand: an engine refusal carries its own text; anything else is logged once."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent

from flows.runtime import EngineError
from services.core import Core
from tgbot.middlewares import update_lang

log = logging.getLogger(__name__)


def router() -> Router:
    errors = Router(name=__name__)
    errors.errors.register(on_error)
    return errors


async def on_error(event: ErrorEvent, bot: Bot, core: Core | None = None, **data: object) -> None:
    update = event.update
    if data.get("inbox_update_id") is not None:
        # From the inbox: the middleware has answered it (a refusal) or counted it for a retry; a reply sent
        # here, outside any transaction, would go out again on every retry.
        log.error("update %s failed outside its transaction", update.update_id, exc_info=event.exception)
        return
    lang = update_lang(update, dict(data))
    exception = event.exception
    if isinstance(exception, EngineError):
        text = core.translator.t(exception.message, lang, **exception.params) if core else str(exception)
    else:
        log.error("update %s failed", update.update_id, exc_info=exception)
        text = (
            core.translator.t("Something went wrong on our side. Nothing you entered is lost; please try again.", lang)
            if core
            else "Error"
        )
    # The transaction was rolled back, so this reply goes straight to Telegram, not through the outbox.
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.message is not None:
        await bot.send_message(update.message.chat.id, text)
