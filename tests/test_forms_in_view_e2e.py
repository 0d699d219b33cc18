"""Seed 1 in chat (issue 12, point 6): one watch corrected alone, the return from repair asked as a date of its own
beside the first arrival, and dates that must follow one another refused with the date they clash with."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from docx import Document

from tests.chat import Person
from tests.conftest import Harness
from tests.test_admin_panel import Panel
from tests.test_admin_panel import panel as panel  # the fixture: the web panel on the same bot
from tests.test_defect_return_e2e import (
    confirm_defect_and_ship,
    inform_supplier,
    register_defect,
    replaced_but_not_fixed,
    verdict,
)
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop


async def test_the_return_from_repair_is_asked_as_such_and_kept_beside_the_first_arrival(
    shop: Harness, panel: Panel
) -> None:
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager, supplier="Helvetia")  # arrived 18.12.2026
    await confirm_defect_and_ship(shop)  # shipped 21.12.2026
    await inform_supplier(service)
    await verdict(service, "Ремонт")

    # A month later (22.01.2027) the goods are back. Sent back before they were even shipped: refused, naming the
    # shipping date.
    await shop.move_to(datetime(2027, 1, 22, 7, 0, tzinfo=UTC))
    await service.press("Готово", await service.expect("Проконтролируйте готовность"))
    await service.expect("Дата отправки товара поставщиком")
    await service.send("20.12.2026")
    refusal = await service.expect("⚠️", "Дата отправки товара поставщиком")
    assert "раньше, чем «Дата отправки» (21.12.2026)" in refusal["text"], refusal["text"]
    await service.send("20 января 2027")  # a date in words
    summary = await service.expect("Проверьте")
    assert "Дата отправки товара поставщиком: 20.01.2027" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)

    # Not fixed: the goods came back from repair — a date of its own, so the first arrival is not offered to keep.
    await service.press("Не устранён", await service.expect("Дефект устранён?"))
    question = await service.expect("Дата возврата из ремонта")
    assert "Дата поступления" not in question["text"] and "18.12.2026" not in question["text"], question["text"]
    assert "Оставить как есть" not in " ".join(service.buttons(question)), question
    await service.send("19.01.2027")
    refusal = await service.expect("⚠️", "Дата возврата из ремонта")
    assert "«Дата отправки товара поставщиком» (20.01.2027)" in refusal["text"], refusal["text"]
    await service.send("сегодня")  # 22.01.2027
    await service.expect("Комментарий")
    await service.send("Всё ещё отстают")
    summary = await service.expect("Проверьте")
    assert "Дата возврата из ремонта: 22.01.2027" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)

    # The supplier's new 5 working days count from the return, and the task says so.
    card = await service.expect("Уведомите поставщика о браке")
    assert "29.01.2027 18:00" in card["text"] and "с возврата из ремонта 22.01.2027" in card["text"], card["text"]
    # The case card keeps the goods' first arrival (the incoming document's date) and the return beside it.
    await service.press("Дело", card)
    case_card = await service.expect("📁 №")
    assert "Дата поступления товара: 18.12.2026\n" in case_card["text"], case_card["text"]
    assert "Дата возврата из ремонта: 22.01.2027" in case_card["text"], case_card["text"]
    case_id = int(case_card["text"].split("№", 1)[1].split(" ", 1)[0])

    # The panel's case page says the same, and nothing «changed» the arrival.
    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/cases/{case_id}") as response:
            page = await response.text()
    assert "22.01.2027 · ранее: 18.12.2026" not in page
    assert "«Дата поступления товара» изменено" not in page

    # The letter made again for the second shipment cites the incoming document with its own date.
    await service.press("Готово", card)
    await service.press("В сервисный центр", await service.expect("Куда поставщик просит отправить часы"))
    await service.expect("Адрес отправки")
    await service.send("Москва, Петровка, 10")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await service.expect("Проверьте и подпишите сопроводительный документ")
    letter = [d for d in await service.documents() if d["file_name"].endswith(".docx")][-1]
    text = "\n".join(p.text for p in Document(io.BytesIO(await service.download(letter["url"]))).paragraphs)
    assert "Основание: входящий документ № ВХ-42 от 18.12.2026" in text, text


async def test_the_panel_names_the_day_a_replacement_came_as_such(shop: Harness, panel: Panel) -> None:
    """After the supplier's exchange the replacement came with the same defect: the panel's page of the case names
    its date, in the fields and in the history, as the day the replacement came — nothing came back from a repair."""
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Обмен")
    await shop.move_to(datetime(2027, 1, 20, 7, 0, tzinfo=UTC))
    await replaced_but_not_fixed(service)
    await service.send("Замена тоже отстаёт")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await service.expect("Уведомите поставщика о браке")
    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/cases/1") as response:
            page = await response.text()
    assert "Дата получения замены" in page and "20.01.2027" in page, page
    assert "из ремонта" not in page, page


async def questions_since(person: Person, message_id: int) -> list[str]:
    return [m["text"] for m in await person.bot_messages() if m["message_id"] > message_id and "✏️" in m["text"]]


async def test_one_watch_is_corrected_added_or_removed_without_asking_the_others_again(shop: Harness) -> None:
    manager, admin = shop.people["Марина"], shop.people["Ольга"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    for answer in ("2", "90 000", "Longines", "ВХ-7", "Иванова Марина", "18.12.2026"):
        await manager.expect("✏️")
        await manager.send(answer)
    for model, serial in (("L1", "SN-1"), ("L2", "SN-2")):
        for answer in (model, serial, "Отстают"):
            await manager.expect("✏️")
            await manager.send(answer)
        await manager.photo()
        await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    summary = await manager.expect("Проверьте")

    # The second watch's serial was mistyped: only that one question is asked again, showing the old answer.
    await manager.press("Исправить", summary)
    await manager.press("Часы", await manager.expect("Какое поле"))
    entries = await manager.expect("Какую запись «Часы» исправить?")
    assert manager.buttons(entries)[:2] == ["Часы №1: L1, SN-1, Отстают", "Часы №2: L2, SN-2, Отстают"]
    await manager.press("Часы №2", entries)
    await manager.press("Серийный номер", await manager.expect("Часы №2: что исправить?"))
    question = await manager.expect("Часы №2: Серийный номер")
    assert "SN-2" in question["text"] and "Оставить как есть" in " ".join(manager.buttons(question))
    await manager.send("SN-22")
    summary = await manager.expect("Проверьте")
    assert "SN-22" in summary["text"] and "SN-1" in summary["text"] and "Количество: 2" in summary["text"]
    assert len(await questions_since(manager, question["message_id"] - 1)) == 1, "nothing else was asked again"

    # Opened the first watch's photo by mistake: it shows the photo it has (counted, not a file name) and keeps it.
    await manager.press("Исправить", summary)
    await manager.press("Часы", await manager.expect("Какое поле"))
    await manager.press("Часы №1", await manager.expect("Какую запись «Часы» исправить?"))
    await manager.press("Фото дефекта", await manager.expect("Часы №1: что исправить?"))
    question = await manager.expect("Часы №1: Фото дефекта")
    assert "Сейчас: 1 фото" in question["text"] and ".png" not in question["text"], question["text"]
    await manager.press("Оставить как есть", question)
    summary = await manager.expect("Проверьте")
    assert summary["text"].count("Фото дефекта: 1 фото") == 2, summary["text"]

    # A third watch turned up in the box: one more entry, and the quantity follows.
    await manager.press("Исправить", summary)
    await manager.press("Часы", await manager.expect("Какое поле"))
    await manager.press("Добавить запись", await manager.expect("Какую запись «Часы» исправить?"))
    await manager.expect("Часы №3: Модель")
    for answer in ("L3", "SN-3", "Царапина"):
        await manager.send(answer)
        await manager.expect("✏️")
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    summary = await manager.expect("Проверьте")
    assert "Количество: 3" in summary["text"] and "Часы №3:" in summary["text"] and "SN-3" in summary["text"]

    # The first one is fine after all: it goes, the others move up.
    await manager.press("Исправить", summary)
    await manager.press("Часы", await manager.expect("Какое поле"))
    await manager.press("Часы №1", await manager.expect("Какую запись «Часы» исправить?"))
    await manager.press("Удалить эту запись", await manager.expect("Часы №1: что исправить?"))
    note = await manager.expect("Убрано из списка: Часы №1.")
    assert "«Количество» теперь: 2." in note["text"], note["text"]
    summary = await manager.expect("Проверьте")
    assert "Количество: 2" in summary["text"] and "SN-1\n" not in summary["text"] + "\n", summary["text"]
    assert summary["text"].index("SN-22") < summary["text"].index("SN-3") and "Часы №3" not in summary["text"]
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")
    registered = await admin.expect("Новый возврат брака")
    assert "2 шт." in registered["text"] and "L2 (SN-22)" in registered["text"] and "L3 (SN-3)" in registered["text"]
    assert "SN-1)" not in registered["text"]
