"""`UpdateDispatcher` routes as aiogram's own dispatcher: an update of a type this aiogram does not know is warned
of and not handled (not an error that would fail the inbox's row)."""

from __future__ import annotations

import pytest
from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Message, Update

from tgbot.dispatcher import UpdateDispatcher

BOT = Bot("42:TEST")
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "from": {"id": 7, "is_bot": False,
           "first_name": "Марина"}, "text": "привет"}  # fmt: skip


def _dispatcher(seen: list[str]) -> UpdateDispatcher:
    dispatcher = UpdateDispatcher()
    router = Router()

    @router.message()
    async def heard(message: Message, event_from_user: object, event_chat: object) -> None:
        assert event_from_user is not None and event_chat is not None
        seen.append(message.text or "")

    dispatcher.include_router(router)
    return dispatcher


async def test_a_message_reaches_its_handler_with_the_person_and_the_chat() -> None:
    seen: list[str] = []
    result = await _dispatcher(seen).feed_update(BOT, Update.model_validate({"update_id": 1, "message": MESSAGE}))
    assert result is not UNHANDLED and seen == ["привет"]


async def test_an_update_of_an_unknown_type_is_warned_of_and_not_handled() -> None:
    seen: list[str] = []
    with pytest.warns(RuntimeWarning, match="unknown update type"):
        result = await _dispatcher(seen).feed_update(BOT, Update.model_validate({"update_id": 2}))
    assert result is UNHANDLED and seen == []

