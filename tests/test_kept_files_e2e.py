"""A file sent when no question asks for one is kept, and offered at the next question for a file («use it» / «send
another»); a question once answered shows the answer and no buttons (seed 1: the defect's photos)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from db.models import Case, StoredFile
from tests.chat import Person, picture
from tests.conftest import Harness
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tests.test_files_on_phone_e2e import up_to_the_photos_of_the_defect


def keys(message: dict[str, Any]) -> list[str]:
    return [k["text"] for row in message.get("inline_keyboard") or [] for k in row]


async def latest(person: Person, message_id: int) -> dict[str, Any]:
    """The message as the person's chat shows it now (after any edit)."""
    return next(m for m in await person.bot_messages() if m["message_id"] == message_id)


async def no_buttons_left(person: Person, message_id: int) -> dict[str, Any]:
    for _ in range(200):
        message = await latest(person, message_id)
        if not keys(message):
            return message
        await asyncio.sleep(0.05)  # the edit goes out through the outbox, after the update
    raise AssertionError(f"the answered question still has buttons: {keys(message)}")


async def test_a_photo_sent_before_the_question_is_used_when_the_question_comes(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.photo(picture(80, 60), filename="IMG_0042.png")
    said = await manager.expect("Сохранил")
    assert "предложу" in said["text"] and "не сохранён" not in said["text"], said["text"]

    question = await up_to_the_photos_of_the_defect(manager)
    assert "Использовать файл, который вы прислали раньше?" in question["text"], question["text"]
    await manager.press("Использовать", question)
    received = await manager.expect("Фото дефекта", "Получено: 1")
    # The offer's message shows what was taken and no buttons: «use it» pressed twice takes nothing twice.
    offered = await no_buttons_left(manager, question["message_id"])
    assert "Получено: 1" in offered["text"], offered["text"]
    assert "Использовать" not in " ".join(keys(received)), keys(received)
    await manager.press("Готово", received)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")

    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalars().one()
        photos = case.data["units"][0]["photos"]
        stored = (await session.execute(select(StoredFile))).scalars().all()
    # The case holds the very photo sent before the question (the one stored file, the case's now).
    assert len(photos) == 1 and [(f.id, f.case_id, f.kind) for f in stored] == [(photos[0]["id"], case.id, "photo")]


async def test_send_another_forgets_the_kept_photo_and_asks_plainly(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.photo()
    await manager.expect("Сохранил")
    question = await up_to_the_photos_of_the_defect(manager)
    await manager.press("Отправить другой", question)
    again = await manager.expect("Фото дефекта")
    assert "раньше" not in again["text"] and "Использовать" not in " ".join(keys(again)), again
    await no_buttons_left(manager, question["message_id"])
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")
    # Declined: not offered again at the next question for a photo.
    assert not [m for m in await manager.bot_messages() if "раньше?" in (m.get("text") or "")][1:]


async def test_a_question_answered_by_a_button_loses_its_buttons(shop: Harness) -> None:
    """«Skip», «Done», an option: the question shows the answer chosen and no buttons to press by mistake."""
    manager = shop.people["Марина"]
    question = await up_to_the_photos_of_the_defect(manager)
    await manager.photo()
    received = await manager.expect("Фото дефекта", "Получено: 1")
    await manager.press("Готово", received)
    summary = await manager.expect("Проверьте")
    done = await no_buttons_left(manager, received["message_id"])
    assert "Фото дефекта" in done["text"] and "✅ Получено: 1" in done["text"], done["text"]
    # The photo question before it, answered by the photo sent, lost its «Done» too.
    await no_buttons_left(manager, question["message_id"])
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")


async def test_an_english_reader_is_offered_the_photo_in_english(harness: Harness) -> None:
    manager = await harness.person("Maria", "shop_manager", language="en")
    await manager.photo()
    said = await manager.expect("Saved")
    assert "offer" in said["text"], said["text"]
    await manager.send("▶️ Start a process")
    await manager.press("Return of defective watches", await manager.expect("Which process"))
    await manager.press("Альфа", await manager.expect("Supplier"))
    await manager.expect("Quantity")
    for answer, question in (
        ("1", "Purchase sum"), ("125,000", "Brand"), ("Longines", "Incoming document number"),
        ("IN-42", "Employee's full name"), ("Maria Ivanova", "Date the goods arrived"), ("18.12.2026", "Model"),
        ("L2.793.4", "Serial"), ("SN-1", "Defect description"),
    ):  # fmt: skip
        await manager.send(answer)
        await manager.expect(question)
    await manager.send("Runs slow")
    question = await manager.expect("Photos of the defect", "Use the file you sent earlier?")
    await manager.press("Use it", question)
    await manager.press("Done", await manager.expect("Photos of the defect", "Received: 1"))
    await manager.press("Confirm", await manager.expect("Please check"))
    await manager.expect("is registered")
