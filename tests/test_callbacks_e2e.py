"""A pressed button spins in the person's client until the bot answers the callback query; Telegram refuses an
answer that comes too late («query is too old», about 15 s). The bot answers every press in time (refusals of
stale buttons too: tests/test_rights_e2e.py)."""

from __future__ import annotations

from typing import Any

from tests.chat import Person
from tests.conftest import Harness

TELEGRAMS_TIME = 15.0  # seconds Telegram keeps a callback query open (the sandbox's callback_answer_ttl)


async def press_and_wait(person: Person, message: dict[str, Any], label: str) -> dict[str, Any]:
    data = next(b["callback_data"] for row in message["inline_keyboard"] for b in row if label in b["text"])
    payload = {"message_id": message["message_id"], "data": data, "wait": TELEGRAMS_TIME}
    async with person.http.post(f"{person.api}/callbacks", json=payload) as response:
        assert response.status == 200
        return dict(await response.json())


async def test_every_press_is_answered_within_telegrams_time(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await manager.send("▶️ Начать процесс")
    menu = await manager.expect("Какой процесс")
    assert (await press_and_wait(manager, menu, "Возврат бракованных часов"))["answered"] is True
    supplier = await manager.expect("Поставщик")
    assert (await press_and_wait(manager, supplier, "Альфа"))["answered"] is True
    await manager.expect("Количество")
