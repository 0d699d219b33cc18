"""Seed 1, SWISSTIME: a defective watch goes back to the supplier, driven in chat by the real people."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.chat import Person
from tests.conftest import Harness


@pytest.fixture
async def shop(harness: Harness) -> Harness:
    await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    await harness.person("Директор Пётр", "director")
    await harness.person("Сергей", "service_manager")
    await harness.person("Кладовщик Иван", "warehouse_head")
    await harness.person("Анна", "accountant")
    return harness


async def register_defect(manager: Person, *, supplier: str = "Альфа", arrival: str = "25.12.2026") -> None:
    """The shop manager fills the request one field at a time, making the usual mistakes on the way."""
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press(supplier, await manager.expect("Поставщик"))
    await manager.expect("Количество")
    await manager.send("много")  # not a number: the bot explains and asks again
    await manager.expect("⚠️")
    await manager.expect("Количество")
    await manager.send("1")
    await manager.expect("Сумма закупки")
    await manager.send("125 000")
    await manager.expect("Марка")
    await manager.send("Longines")
    await manager.expect("Входящий номер")
    await manager.send("ВХ-42")
    await manager.expect("ФИО сотрудника")
    await manager.send("Иванова Марина")
    await manager.expect("Дата поступления")
    await manager.send(arrival)
    await manager.expect("Часы №1: Модель")
    await manager.send("L2.793.4")
    await manager.expect("Серийный номер")
    await manager.send("SN-123456")
    await manager.expect("Описание дефекта")
    await manager.send("Отстают на 30 секунд в сутки")
    question = await manager.expect("Фото дефекта")
    assert "⏭" not in " ".join(await manager.buttons(question)), "photos are required: no skip button"
    await manager.send("вот фото")  # text where a photo is expected
    await manager.expect("⚠️")
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "1"))
    summary = await manager.expect("Проверьте")
    assert "Longines" in summary["text"] and "SN-123456" in summary["text"] and "125" in summary["text"]
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")


async def test_defect_not_confirmed_goes_back_to_the_shop(shop: Harness) -> None:
    manager, admin, director = shop.people["Марина"], shop.people["Ольга"], shop.people["Директор Пётр"]
    service, head = shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_defect(manager)

    # Shop admin and director learn of it with a summary.
    for person in (admin, director):
        note = await person.expect("Новый возврат брака")
        assert "Longines" in note["text"] and "Альфа" in note["text"] and "SN-123456" in note["text"]

    # The service manager moves the goods in 1C and confirms with a button.
    card = await service.expect("Переместите товар на склад сервиса в 1С")
    await service.press("Готово", card)
    await service.wait_for("Переместите товар", "✅")

    # The warehouse head inspects: no defect, and a comment is required for that answer.
    card = await head.expect("Подтвердите наличие дефекта")
    await head.press("Брака нет", card)
    await head.press("Пропустить", await head.expect("Фото с осмотра"))
    await head.expect("Комментарий")
    await head.send("Часы идут точно, брака нет")
    await head.press("Подтвердить", await head.expect("Проверьте"))

    for person in (manager, admin, director):
        note = await person.expect("Брак не подтверждён")
        assert "Часы идут точно" in note["text"]
    await manager.expect("Дело закрыто")
