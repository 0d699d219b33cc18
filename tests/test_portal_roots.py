"""The portal router's root checks (`PortalMessage`, `PortalButton`: one cheap check instead of one per handler)
let through every update one of its handlers takes: a handler registered for a command or a button that the root
check does not know would never be reached. Each handler's filters are read, an update each of them takes is made,
and the router's root checks must pass it too."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import CallbackQuery, InlineQuery, Message, TelegramObject

from db.models import User
from handlers import portal
from handlers.common import MenuButton, NotACommand, Registered
from services.portal_cart import QUANTITY
from tgbot.callbacks import TaskCb

BOT = Bot("42:TEST")
PERSON = {"id": 7, "is_bot": False, "first_name": "Марина"}
CHAT = {"id": 7, "type": "private", "first_name": "Марина"}


def _message(**fields: Any) -> Message:
    return Message.model_validate({"message_id": 1, "date": 0, "chat": CHAT, "from": PERSON, **fields})


def _button(kind: type[CallbackData]) -> str:
    """A press of one of `kind`'s buttons: every field given a value of its type."""
    values = {name: 1 if field.annotation in (int, "int") else "a" for name, field in kind.model_fields.items()}
    return kind(**values).pack()


class _Words:
    """The translator of a bot without catalogs: a menu button's label is its msgid."""

    def t(self, msgid: str, _lang: str | None, **_params: Any) -> str:
        return msgid


def _taken_by(event: str, filters: list[Any]) -> list[TelegramObject]:
    """Updates a handler with these filters takes; an empty list for a filter this test cannot read. A filter that
    reads the person (`TypingQuantity`: the bot asked a cart's quantity) is met by the person `unreachable` makes."""
    if event == "inline_query" and not filters:
        return [InlineQuery(id="1", from_user=PERSON, query="часы", offset="")]  # type: ignore[arg-type]
    found: list[TelegramObject] = []
    for item in filters:
        if isinstance(item, portal.TypingQuantity):
            continue
        if isinstance(item, Command):
            found += [_message(text=f"/{command} words") for command in item.commands if isinstance(command, str)]
        elif isinstance(item, MenuButton):
            found += [_message(text=msgid) for msgid in item.msgids]
        elif isinstance(item, NotACommand):
            found.append(_message(text="12"))
        elif isinstance(item, portal.ViaBot):
            found.append(_message(text="Часы", via_bot={"id": 42, "is_bot": True, "first_name": "Bot"}))
        elif isinstance(item, CallbackQueryFilter):
            data = _button(item.callback_data)
            found.append(CallbackQuery(id="1", from_user=PERSON, chat_instance="c", data=data))  # type: ignore[arg-type]
        else:
            return []
    return found


async def unreachable(router: Router) -> list[str]:
    """The handlers of `router` one of whose updates its root checks refuse (or whose updates this test cannot
    make: a new kind of filter is to be taught here)."""
    refused = []
    for event in ("message", "callback_query", "inline_query"):
        observer = router.observers[event]
        for handler in observer.handlers:
            name = f"{event}: {handler.callback.__name__}"
            filters = [item.callback for item in handler.filters or []]
            asked = {"kind": QUANTITY} if any(isinstance(f, portal.TypingQuantity) for f in filters) else None
            user = User(id=1, tg_id=7, name="Марина", active=True, is_admin=False, prompt=asked)
            data = {"bot": BOT, "user": user, "core": SimpleNamespace(translator=_Words())}
            samples = _taken_by(event, filters)
            if not samples:
                refused.append(f"{name} (no update made for its filters)")
            for sample in samples:
                taken, _ = await handler.check(sample, **data)
                assert taken, f"{name} does not take the update made for it: {sample}"
                passed, _ = await observer.check_root_filters(sample, **data)
                if not passed:
                    refused.append(f"{name} ({getattr(sample, 'text', None) or getattr(sample, 'data', '')})")
    return refused


async def test_the_portal_roots_let_through_whatever_its_handlers_take() -> None:
    assert await unreachable(portal.router()) == []


async def test_a_handler_the_root_does_not_know_is_found() -> None:
    async def nothing() -> None:
        return None

    built = portal.router()
    built.message.register(nothing, Command("wishlist"))
    built.callback_query.register(nothing, TaskCb.filter())
    built.message.register(nothing, Registered())
    assert await unreachable(built) == [
        "message: nothing (/wishlist words)",
        "message: nothing (no update made for its filters)",
        "callback_query: nothing (t:a:1:a)",
    ]
