"""aiogram's dispatcher with the per-update work this bot does not use left out.

aiogram feeds an update through its `update` observer: its outer middlewares (errors, the user context, the FSM's),
the observer's trigger (the data copied, its one handler's filters checked, an inner-middleware chain wrapped), the
handler `_listen_update` (copied again) and the update type's lookup, a cached property holding the last 128
updates. Only then is the event propagated to the routers — 200–360 µs per update on the bench machine with no-op
handlers. `UpdateDispatcher.feed_update` does what of that this bot needs, in one call: the error handlers on an
exception, the person and chat for the filters and `DbSessionMiddleware` (`event_from_user`, `event_chat`), the
outer middlewares registered on `update` (ours), then the event propagated as `_listen_update` would."""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from typing import TYPE_CHECKING, Any, cast

from aiogram import Dispatcher, loggers
from aiogram.dispatcher.event.bases import UNHANDLED, CancelHandler, SkipHandler
from aiogram.dispatcher.middlewares.error import ErrorsMiddleware
from aiogram.dispatcher.middlewares.user_context import (
    EVENT_CHAT_KEY,
    EVENT_FROM_USER_KEY,
    UserContextMiddleware,
)
from aiogram.types import Chat, ErrorEvent, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError

if TYPE_CHECKING:
    from aiogram import Bot


class UpdateDispatcher(Dispatcher):
    """Routes as aiogram's `Dispatcher` does; `feed_update` goes straight to the routers. No FSM (a form's state is
    the person's row and the task's draft), so no FSM context either."""

    def __init__(self) -> None:
        super().__init__(disable_fsm=True)
        # Their work is done in `feed_update`; what stays registered on `update` is the bot's own middlewares.
        for middleware in list(self.update.outer_middleware):
            if isinstance(middleware, ErrorsMiddleware | UserContextMiddleware):
                self.update.outer_middleware.unregister(middleware)

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        if update.bot is not bot and update.bot != bot:
            # As aiogram: an update read for another bot is read again for this one (its shortcuts use its bot).
            update = Update.model_validate(update.model_dump(), context={"bot": bot})
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            update_type = _event_type(update)
        except UpdateTypeLookupError:  # as aiogram: a type newer than this aiogram is warned of and not handled
            warnings.warn(f"Detected unknown update type: {update.model_dump_json(exclude_unset=True)}", RuntimeWarning,
                          stacklevel=2)  # fmt: skip
            return UNHANDLED
        event = cast(TelegramObject, getattr(update, update_type))
        data: dict[str, Any] = {"dispatcher": self, **self.workflow_data, **kwargs, "bot": bot}
        user, chat = _who(update, update_type, event)
        if user is not None:
            data[EVENT_FROM_USER_KEY] = user
        if chat is not None:
            data[EVENT_CHAT_KEY] = chat
        handler: Any = functools.partial(self._route, update_type, event)
        for middleware in reversed(self.update.outer_middleware):
            handler = functools.partial(middleware, handler)
        response = UNHANDLED
        try:
            response = await handler(update, data)
        except (SkipHandler, CancelHandler):
            raise
        except Exception as error:  # as aiogram's ErrorsMiddleware: the error handlers, with the update's data
            response = await self.propagate_event(
                update_type="error", event=ErrorEvent(update=update, exception=error), **data
            )
            if response is UNHANDLED:
                raise
        finally:
            if loggers.event.isEnabledFor(logging.INFO):
                loggers.event.info(
                    "Update id=%s is %s. Duration %d ms by bot id=%d", update.update_id,
                    "not handled" if response is UNHANDLED else "handled", (loop.time() - started) * 1000, bot.id,
                )  # fmt: skip
        return response

    async def _route(self, update_type: str, event: TelegramObject, update: Update, data: dict[str, Any]) -> Any:
        """What the `update` observer's trigger and `_listen_update` do, for the one handler aiogram registers there."""
        if self.update.middleware or len(self.update.handlers) != 1:  # something else there: aiogram's own way
            return await self.update.trigger(update, **data)
        try:
            return await self.propagate_event(update_type, event, event_update=update, **data)
        except SkipHandler:
            return UNHANDLED


def _event_type(update: Update) -> str:
    # aiogram's `Update.event_type` is an `lru_cache` under a property: each update goes into the cache (kept
    # alive there until 128 later ones push it out) and is hashed and looked up on every read.
    if update.message is not None:
        return "message"
    if update.callback_query is not None:
        return "callback_query"
    return update.event_type


def _who(update: Update, update_type: str, event: Any) -> tuple[User | None, Chat | None]:
    """The person and the chat, as aiogram's `UserContextMiddleware` resolves them."""
    if update_type == "message":
        return event.from_user, event.chat
    if update_type == "callback_query":
        return event.from_user, event.message.chat if event.message else None
    context = UserContextMiddleware.resolve_event_context(update)
    return context.user, context.chat
