"""`UpdateDispatcher.route` (the routers flattened into one loop) takes every update to the handler aiogram's own
`propagate_event` takes it to, with the same data.

First on routers built to hold aiogram's rules (a refused root filter passing the router's sub-routers by, filters'
dict results, inner middlewares of the routers above, SkipHandler, REJECTED, a sub-router's outer middleware); then
on the bot's own routers with every update of a few end-to-end scenarios: each update, just before the bot handles
it, goes through a copy of the bot's routers whose handlers only record what they got, once each way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.filters import Command
from aiogram.types import Message, TelegramObject, Update

import tests.test_callbacks_e2e as callbacks
import tests.test_escalations_e2e as escalations
from app.application import build_dispatcher
from tests.conftest import Harness
from tgbot.dispatcher import UpdateDispatcher

BOT = Bot("42:TEST")
PERSON = {"id": 7, "is_bot": False, "first_name": "Марина"}
CHAT = {"id": 7, "type": "private", "first_name": "Марина"}


def _recording(dispatcher: UpdateDispatcher) -> UpdateDispatcher:
    """Every handler of `dispatcher` made one that returns its name and the data it was given (its own parameters
    kept, so it is given what the real handler would be)."""
    for router in dispatcher.chain_tail:
        for event, observer in router.observers.items():
            for handler in observer.handlers:
                name = f"{router.name} {event} {getattr(handler.callback, '__name__', handler.callback)}"

                async def record(_event: Any, *args: Any, _name: str = name, **data: Any) -> Any:
                    return _name, data

                handler.callback = record
    return dispatcher


async def _both(dispatcher: UpdateDispatcher, update: Update, data: dict[str, Any]) -> tuple[Any, Any]:
    kind = update.event_type
    event = getattr(update, kind)

    async def aiogram_way() -> Any:
        try:
            return await dispatcher.propagate_event(kind, event, event_update=update, **data)
        except SkipHandler:
            return UNHANDLED

    async def loop_way() -> Any:
        try:
            return await dispatcher.route(kind, event, update, data)
        except SkipHandler:
            return UNHANDLED

    return await loop_way(), await aiogram_way()


# Routers built to hold aiogram's rules.


class Seen(BaseMiddleware):
    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        data[self.name] = data.get(self.name, 0) + 1  # a handler that skips leaves it for the next, as in aiogram
        return await handler(event, data)


def _text_is(word: str) -> Callable[..., Awaitable[Any]]:
    async def check(message: Message, **data: Any) -> Any:
        return {"word": word, "roots": data.get("roots", 0)} if message.text == word else False

    return check


async def _has_roots(_event: Any, roots: int = 0) -> dict[str, int]:
    return {"roots": roots + 1}


async def _refuse(_event: Any) -> bool:
    return False


def _handled(name: str) -> Callable[..., Awaitable[Any]]:
    async def handled(_event: Any, **data: Any) -> Any:
        return name, data

    return handled


async def _skip(_event: Any) -> None:
    raise SkipHandler


async def _reject(_event: Any) -> Any:
    return REJECTED


def _rules() -> UpdateDispatcher:
    dispatcher = UpdateDispatcher()
    dispatcher.message.middleware(Seen("top"))
    dispatcher.message.filter(_has_roots)
    skipping = Router(name="skipping")
    skipping.message.middleware(Seen("skipping"))
    skipping.message.register(_skip, _text_is("skip"))
    skipping.message.register(_skip, _text_is("skip"), _text_is("skip"))
    skipping.message.register(_reject, _text_is("reject"))
    skipping.message.register(_skip, _text_is("twice"))
    skipping.message.register(_handled("after a skip"), _text_is("twice"))
    skipping.message.register(_skip, _text_is("below"))
    skipping.message.register(_handled("deep in skipping"), Command("deep"), _text_is("/deep words"))
    under_rejected = Router(name="under rejected")
    under_rejected.message.register(_handled("under rejected"), _text_is("reject"))
    under_rejected.message.register(_handled("below a skip"), _text_is("below"))
    skipping.include_router(under_rejected)
    refused = Router(name="refused")
    refused.message.filter(_refuse)
    under_refused = Router(name="under refused")
    under_refused.message.register(_handled("under refused"))
    refused.include_router(under_refused)
    rooted = Router(name="rooted")
    rooted.message.filter(_has_roots)
    inner = Router(name="inner")
    inner.message.middleware(Seen("inner"))
    inner.message.register(_handled("inner skip"), _text_is("skip"))
    inner.message.register(_handled("inner deep"), Command("deep"))
    inner.callback_query.register(_handled("inner button"))
    rooted.include_router(inner)
    last = Router(name="last")
    last.message.register(_handled("last"))
    dispatcher.include_routers(skipping, refused, rooted, last)
    return dispatcher


def _update(**event: Any) -> Update:
    if "data" in event:
        return Update.model_validate({"update_id": 1, "callback_query": {"id": "1", "from": PERSON,
                                      "chat_instance": "c", **event}}, context={"bot": BOT})  # fmt: skip
    message = {"message_id": 1, "date": 0, "chat": CHAT, "from": PERSON, **event}
    return Update.model_validate({"update_id": 1, "message": message}, context={"bot": BOT})


WAYS = [  # what each update meets on its way, and where it ends, with what aiogram gives the handler
    ({"text": "skip"}, "inner skip", {"top": 1, "inner": 1, "word": "skip", "roots": 2}),  # fresh data a router
    ({"text": "twice"}, "after a skip", {"top": 2, "skipping": 2, "word": "twice"}),  # as the skipping one left it
    ({"text": "below"}, "below a skip", {"top": 1, "skipping": 1, "word": "below"}),  # its router's data, not
    # what its router's handlers left
    ({"text": "reject"}, "last", {"top": 1, "skipping": None, "roots": 1}),  # REJECTED: its sub-router passed by
    ({"text": "/deep words"}, "deep in skipping", {"top": 1, "skipping": 1, "word": "/deep words", "roots": 1}),
    ({"text": "/deep"}, "inner deep", {"top": 1, "inner": 1, "roots": 2}),
    ({"text": "other"}, "last", {"top": 1, "roots": 1}),
    ({"data": "x"}, "inner button", {}),
]


@pytest.mark.parametrize(("event", "taker", "given"), WAYS)
async def test_the_loop_keeps_aiogrames_rules(event: dict[str, Any], taker: str, given: dict[str, Any]) -> None:
    dispatcher = _rules()
    assert dispatcher.flattened("message") is not None
    loop, aiogram = await _both(dispatcher, _update(**event), {"bot": BOT, "dispatcher": dispatcher})
    assert loop == aiogram
    name, data = loop
    assert name == taker and {key: data.get(key) for key in given} == given
    assert {"event_router", "handler", "event_update", "bot"} <= set(data)


async def test_a_routers_outer_middleware_leaves_the_kind_to_aiogram() -> None:
    dispatcher = _rules()
    dispatcher.sub_routers[-1].message.outer_middleware(Seen("outer"))
    assert dispatcher.flattened("message") is None and dispatcher.flattened("callback_query") is not None
    loop, aiogram = await _both(dispatcher, _update(text="other"), {"bot": BOT})
    assert loop == aiogram and loop[1]["outer"] == 1


async def test_an_outer_middleware_below_a_router_without_handlers_leaves_the_kind_to_aiogram() -> None:
    """A router the loop would pass by (nothing below it takes messages) still runs its sub-routers' outer
    middlewares in aiogram: that kind stays aiogram's."""
    dispatcher = _rules()
    empty, below = Router(name="empty"), Router(name="below empty")
    below.message.outer_middleware(Seen("outer"))
    empty.include_router(below)
    dispatcher.include_router(empty)
    assert dispatcher.flattened("message") is None
    loop, aiogram = await _both(dispatcher, _update(text="nobody takes this"), {"bot": BOT})
    assert loop == aiogram


async def test_a_magic_filter_is_checked_as_aiogram_checks_it() -> None:
    """`F.…` filters, which aiogram runs in a thread, are resolved in place by the loop: the same handler, the same
    data (a magic filter's `.as_()` result included)."""
    dispatcher = UpdateDispatcher()
    magic = Router(name="magic")
    magic.message.register(_handled("magic text"), F.text == "magic")
    magic.message.register(_handled("magic caption"), F.caption.as_("caption"))
    last = Router(name="last")
    last.message.register(_handled("last"))
    dispatcher.include_routers(magic, last)
    assert dispatcher.flattened("message") is not None
    for event, taker, given in (({"text": "magic"}, "magic text", None), ({"caption": "seen"}, "magic caption", "seen"),
                                ({"text": "other"}, "last", None)):  # fmt: skip
        loop, aiogram = await _both(dispatcher, _update(**event), {"bot": BOT})
        assert loop == aiogram and loop[0] == taker and loop[1].get("caption") == given


# The bot's own routers, with the updates of end-to-end scenarios.


class SameRoute(BaseMiddleware):
    """On the update observer, inside the bot's `DbSessionMiddleware` (the person, the session and the services in
    the data): the update through a recording copy of the bot's routers both ways, before the bot handles it."""

    def __init__(self, harness: Harness) -> None:
        self.copy = _recording(build_dispatcher(harness.core))
        self.seen: dict[str, int] = {}

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        loop, aiogram = await _both(self.copy, event, dict(data))
        assert loop == aiogram, f"{event.event_type}: the loop took it to {loop}, aiogram to {aiogram}"
        name = loop[0] if loop is not UNHANDLED else "unhandled"
        self.seen[name] = self.seen.get(name, 0) + 1
        return await handler(event, data)


@pytest.fixture
def checks() -> list[SameRoute]:
    return []


@pytest.fixture
def harness_factory(
    harness_factory: Callable[..., Awaitable[Harness]], checks: list[SameRoute]
) -> Callable[..., Awaitable[Harness]]:
    async def make(**overrides: Any) -> Harness:
        harness = await harness_factory(**overrides)
        assert harness.app.dispatcher is not None
        check = SameRoute(harness)
        harness.app.dispatcher.update.outer_middleware(check)
        checks.append(check)
        return harness

    return make


def _seen(checks: list[SameRoute]) -> dict[str, int]:
    (check,) = checks  # one bot per test (a second would find the first's admin in the database)
    return check.seen


async def test_a_forms_updates_take_the_same_way_both_ways(
    harness_factory: Callable[..., Awaitable[Harness]], checks: list[SameRoute]
) -> None:
    await callbacks.test_every_press_is_answered_within_telegrams_time(await harness_factory())
    seen = _seen(checks)
    assert {name.split()[1] for name in seen if name != "unhandled"} == {"message", "callback_query"}, seen


async def test_an_invites_and_a_searchs_updates_take_the_same_way_both_ways(
    harness_factory: Callable[..., Awaitable[Harness]], checks: list[SameRoute]
) -> None:
    harness = await harness_factory()  # an admin's command, a person's /start with the invite's code, inline search
    person = await harness.person("Марина", "shop_manager")
    await person.inline("часы")
    await person.send("/tasks")
    seen = _seen(checks)
    taken = {"handlers.admins message invite", "handlers.start message start", "handlers.portal inline_query search"}
    assert taken <= set(seen), seen


async def test_an_escalations_updates_take_the_same_way_both_ways(
    harness_factory: Callable[..., Awaitable[Harness]], checks: list[SameRoute], tmp_path: Path
) -> None:
    await escalations.test_the_chief_moves_the_deadline_with_a_reason_and_later_takes_the_task_over(
        harness_factory, tmp_path
    )
    seen = _seen(checks)
    assert sum(seen.values()) >= 10 and {name.split()[1] for name in seen} == {"message", "callback_query"}, seen
