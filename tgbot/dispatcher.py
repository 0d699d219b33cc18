"""aiogram's dispatcher with the per-update work this bot does not use left out.

aiogram feeds an update through its `update` observer: its outer middlewares (errors, the user context, the FSM's),
the observer's trigger (the data copied, its one handler's filters checked, an inner-middleware chain wrapped), the
handler `_listen_update` (copied again) and the update type's lookup, a cached property holding the last 128
updates. Only then is the event propagated to the routers — 200–360 µs per update on the bench machine with no-op
handlers. `UpdateDispatcher.feed_update` does what of that this bot needs, in one call: the error handlers on an
exception, the person and chat for the filters and `DbSessionMiddleware` (`event_from_user`, `event_chat`), the
outer middlewares registered on `update` (ours), then the event propagated as `_listen_update` would.

The propagation itself is a loop over the routers flattened once per kind of update (`_Route`): aiogram's
`Router.propagate_event` copies the update's data into each router it passes (several times: its outer middlewares,
its root filters, its observer's trigger) and into each filter call and handler check, resolves each chosen
handler's inner middlewares by walking up the routers and wraps them anew — most of what a message's way through the
routers cost. The loop keeps what aiogram does: routers in their order (a router's root filters refused, its
sub-routers are passed by), filters' dict results merged into the data the later filters and the handler get, the
inner middlewares of the handler's router and of every router above it (the dispatcher's first), a handler's
SkipHandler passing the update to the next handler, REJECTED passing the router's sub-routers by, `event_router` and
`handler` set as aiogram sets them. tests/test_routing_loop.py holds it to aiogram's own propagation."""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from typing import TYPE_CHECKING, Any, cast

from aiogram import Dispatcher, Router, loggers
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, CancelHandler, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
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
        # Per kind of update, its flattened routes, or None where aiogram's own propagation is kept; made at the
        # kind's first update. aiogram would let a router or handler be added later (it refuses only a router
        # already included elsewhere); the loop would not see it. The bot builds its dispatcher whole before the
        # first update (`app.application.build_dispatcher`), and nothing registers handlers afterwards.
        self._routes: dict[str, _Route | None] = {}

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
            return await self.route(update_type, event, update, data)
        except SkipHandler:
            return UNHANDLED

    async def route(self, update_type: str, event: TelegramObject, update: Update, data: dict[str, Any]) -> Any:
        """The event through the routers, as aiogram's `propagate_event(update_type, event, event_update=update,
        **data)` would take it: by the flattened loop, or aiogram's own way where the loop does not follow it."""
        route = self._routes[update_type] if update_type in self._routes else self.flattened(update_type)
        if route is None:
            return await self.propagate_event(update_type, event, event_update=update, **data)
        return await route.propagate(event, {**data, "event_update": update})

    def flattened(self, update_type: str) -> _Route | None:
        route = self._routes[update_type] = _Route.flatten(self, update_type)
        return route


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


class _Filter:
    """A filter as aiogram's `FilterObject.call` calls it, without the copies of the data on the way in."""

    __slots__ = ("call", "callback", "magic", "params")

    def __init__(self, item: FilterObject) -> None:
        self.call = item.call
        self.callback = item.callback
        # A magic filter (`F.text == …`) is resolved here: aiogram runs every sync callable in a thread (a hop to
        # the default executor and back per check), which for a magic filter — attribute reads and comparisons on
        # the event, nothing that blocks — costs far more than the check itself.
        self.magic = item.magic.resolve if item.magic is not None else None
        # The names it takes, or None: called through aiogram's own `call` (all the data, or any other sync
        # function in a thread, as aiogram runs it).
        self.params = tuple(item.params) if item.awaitable and not item.varkw else None

    async def check(self, event: TelegramObject, data: dict[str, Any]) -> Any:
        if self.magic is not None:
            return self.magic(event)
        if self.params is None:
            return await self.call(event, **data)
        return await self.callback(event, **{name: data[name] for name in self.params if name in data})


async def _passes(filters: tuple[_Filter, ...], event: TelegramObject, data: dict[str, Any]) -> dict[str, Any] | None:
    """As aiogram's `HandlerObject.check`: None when a filter refuses, else what the filters returned as dicts (each
    filter seeing the earlier ones' results)."""
    found: dict[str, Any] = {}
    for item in filters:
        check = await item.check(event, {**data, **found} if found else data)
        if not check:
            return None
        if isinstance(check, dict):
            found.update(check)
    return found


class _Handler:
    __slots__ = ("filters", "handler", "run")

    def __init__(self, handler: HandlerObject, middlewares: list[Any]) -> None:
        self.handler = handler
        self.filters = tuple(_Filter(item) for item in handler.filters or ())
        params = tuple(handler.params) if handler.awaitable and not handler.varkw else None

        def call(event: TelegramObject, data: dict[str, Any]) -> Any:  # aiogram's `handler.call(event, **data)`
            if params is None:
                return handler.call(event, **data)
            return handler.callback(event, **{name: data[name] for name in params if name in data})

        # The inner middlewares wrapped once, not on every update (the chain keeps no state between calls), as
        # aiogram's `MiddlewareManager.wrap_middlewares` wraps them.
        run: Any = call
        for middleware in reversed(middlewares):
            run = functools.partial(middleware, run)
        self.run = run


class _Stop:
    """A router on an update's way: its root filters, its handlers, where its sub-routers end in the route."""

    __slots__ = ("end", "handlers", "parent", "roots", "router", "scoped")

    def __init__(self, router: Router, update_type: str, parent: int) -> None:
        observer = router.observers[update_type]
        self.router = router
        self.parent = parent
        self.roots = tuple(_Filter(item) for item in observer._handler.filters or ())
        middlewares = observer._resolve_middlewares()
        self.handlers = tuple(_Handler(handler, middlewares) for handler in observer.handlers)
        self.end = 0
        self.scoped = False  # its data is kept for its sub-routers


class _Route:
    """The routers an update of one kind passes, in aiogram's order (depth first, a router before its sub-routers),
    those without a handler for it below them left out (aiogram would only check their root filters)."""

    def __init__(self, stops: list[_Stop]) -> None:
        self.stops = stops

    @classmethod
    def flatten(cls, root: Router, update_type: str) -> _Route | None:
        stops: list[_Stop] = []

        def visit(router: Router, parent: int) -> None:
            # Checked over the whole subtree: a router passed by below (no handlers under it) may still hold outer
            # middlewares, which aiogram would run.
            below = [r.observers.get(update_type) for r in router.chain_tail]
            if any(observer is None or observer.outer_middleware for observer in below):
                raise _NotFlat
            if not any(observer.handlers for observer in below if observer is not None):
                return
            index = len(stops)
            stops.append(_Stop(router, update_type, parent))
            for sub in router.sub_routers:
                visit(sub, index)
            stops[index].end = len(stops)
            stops[index].scoped = stops[index].end > index + 1

        try:
            # aiogram's own way where the loop does not follow it: outer middlewares on a router's observer (they
            # wrap the router's whole subtree) or a kind of update a router has no observer for.
            visit(root, -1)
        except _NotFlat:
            return None
        return cls(stops)

    async def propagate(self, event: TelegramObject, data: dict[str, Any]) -> Any:
        stops = self.stops
        scopes: list[dict[str, Any] | None] = [None] * len(stops)
        index = 0
        while index < len(stops):
            stop = stops[index]
            kwargs = {**(data if stop.parent < 0 else cast(dict[str, Any], scopes[stop.parent])),
                      "event_router": stop.router}  # fmt: skip
            if stop.roots:
                found = await _passes(stop.roots, event, kwargs)
                if found is None:
                    index = stop.end
                    continue
                kwargs.update(found)
            if stop.scoped:
                scopes[index] = kwargs
                kwargs = kwargs.copy() if stop.handlers else kwargs  # the handlers' data is not their sub-routers'
            response = await _trigger(stop.handlers, event, kwargs)
            if response is REJECTED:
                index = stop.end
                continue
            if response is not UNHANDLED:
                return response
            index += 1
        return UNHANDLED


async def _trigger(handlers: tuple[_Handler, ...], event: TelegramObject, kwargs: dict[str, Any]) -> Any:
    """aiogram's `TelegramEventObserver.trigger`: the first handler whose filters pass; one that skips passes the
    update to the next (the data as that one left it, as in aiogram)."""
    for item in handlers:
        kwargs["handler"] = item.handler
        found = await _passes(item.filters, event, kwargs)
        if found is None:
            continue
        kwargs.update(found)
        try:
            return await item.run(event, kwargs)
        except SkipHandler:
            continue
    return UNHANDLED


class _NotFlat(Exception):
    pass
