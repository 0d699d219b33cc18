"""Seed 1, SWISSTIME: a defective watch goes back to the supplier, driven in chat by the real people."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest

from tests.chat import Person, picture, start_a_return_of_faulty_watches
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


def morning(year: int, month: int, day: int) -> datetime:
    """10:00 in Moscow that day."""
    return datetime(year, month, day, 7, 0, tzinfo=UTC)


KEEP = "Оставить как есть"  # the button that offers a value the case already has


async def register_defect(manager: Person, *, supplier: str = "Альфа", arrival: str = "18.12.2026") -> None:
    """The shop manager fills the request one field at a time, making the usual mistakes on the way. The tests
    begin on Monday 21.12.2026: the goods came on the Friday before."""
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press(supplier, await manager.expect("Поставщик"))
    # The supplier's question now says whom she chose, and offers no other supplier to press.
    picked = await manager.wait_for("✏️ Поставщик\n✅ ", supplier)  # this case's, not an earlier one's
    assert supplier in picked["text"] and manager.buttons(picked) == [], (picked["text"], manager.buttons(picked))
    await manager.expect("Количество", "Отправьте целое число от 1 до 50.")  # the range before, not after a mistake
    await manager.send("много")  # not a number: the bot explains and asks again
    await manager.expect("⚠️", "Количество")  # what is wrong, above the same question: one message
    await manager.send("1")
    await manager.expect("Сумма закупки")
    await manager.send("125 000")
    await manager.expect("Марка")
    await manager.send("Longines")
    await manager.expect("Входящий номер")
    await manager.send("ВХ-42")
    await manager.expect("ФИО сотрудника", "Отправьте фамилию и имя, например: Иванова Марина.")
    await manager.send("Иван")  # a first name alone names nobody on the letter to the supplier
    refusal = await manager.expect("⚠️")
    assert refusal["text"].startswith(
        "⚠️ Напишите фамилию и имя (и отчество, если есть), например: Иванова Марина Сергеевна\n\n✏️ ФИО сотрудника"
    ), refusal["text"]
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
    assert "⏭" not in " ".join(manager.buttons(question)), "photos are required: no skip button"
    await manager.send("вот фото")  # text where a photo is expected
    await manager.expect("⚠️")
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    summary = await manager.expect("Проверьте")
    assert "Longines" in summary["text"] and "SN-123456" in summary["text"] and "125" in summary["text"]
    # One watch: its block is «Часы:», a number is for telling several apart.
    assert "\nЧасы:\n" in summary["text"] and "Часы №1" not in summary["text"], summary["text"]
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

    notes = {person.name: await person.expect("Брак не подтверждён") for person in (manager, admin, director)}
    assert all("Часы идут точно" in note["text"] for note in notes.values()), notes
    assert "Дело закрыто" not in notes["Марина"]["text"], notes  # the goods are still on the service's books

    # He moved the goods to the service warehouse in 1C, so he moves them back, and says so with a button.
    card = await service.expect("Брака нет — переместите товар обратно в магазин в 1С")
    assert "ВХ-42" in card["text"] and "Часы идут точно" in card["text"], card["text"]
    await service.press("Готово", card)
    # Only then the case closes, and the shop hears its watches can be sold.
    closed = await manager.expect("Дело закрыто")
    assert "перемещён в 1С обратно в магазин" in closed["text"], closed["text"]
    await admin.expect("перемещён в 1С обратно в магазин")


async def confirm_defect_and_ship(shop: Harness, *, first_round: bool = True, shipped: str = "21.12.2026") -> None:
    """From «defect confirmed» to «goods with the supplier»: the service manager's steps with their documents;
    the goods are shipped on the day the test stands at (21.12.2026)."""
    service, head = shop.people["Сергей"], shop.people["Кладовщик Иван"]
    if first_round:
        await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
        await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
        await head.photo()
        await head.press("Готово", await head.expect("Фото с осмотра", "1"))
        await head.press("Подтвердить", await head.expect("Проверьте"))
    card = await service.expect("Уведомите поставщика о браке")
    assert "25.12.2026 18:00" in card["text"], card["text"]  # 5 working days after the arrival on Friday 18.12
    await service.press("Готово", card)
    await service.press("В сервисный центр", await service.expect("Куда поставщик просит отправить часы"))
    await service.expect("Адрес отправки")
    await service.send("Москва, Петровка, 10")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    card = await service.expect("Проверьте и подпишите сопроводительный документ")
    await service.press("Готово", card)
    card = await service.expect("Упакуйте товар и передайте перевозчику")
    await service.press("Готово", card)
    await service.expect("Дата отправки")
    await service.send(shipped)
    await service.expect("Номер накладной")
    await service.send("СДЭК 1234567")
    await service.expect("Документы на отправку")
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    await service.press("Подтвердить", await service.expect("Проверьте"))
    note = await shop.people["Директор Пётр"].expect("отправлен поставщику")
    assert "СДЭК 1234567" in note["text"], note["text"]


async def inform_supplier(service: Person) -> None:
    """Step 8: the supplier's contact gets the shipment data, with the signed documents at hand."""
    card = await service.card("Отправьте поставщику данные об отправке", button="Готово")
    assert "service@" in card["text"] or "returns@" in card["text"]  # the supplier's e-mail from the directory
    await service.press("Готово", card)


async def verdict(service: Person, decision: str) -> None:
    """The supplier's decision on the goods, with its conclusion as a file. Pressed on the task's card, which came
    with the shipment data's: what came since («✅ Готово … Ещё за вами: Поставщик получил товар?») has no buttons."""
    await service.press(decision, await service.card("Поставщик получил товар", button=decision))
    await service.expect("Заключение поставщика")
    await service.document(b"%PDF verdict", "verdict.pdf")
    await service.press("Подтвердить", await service.expect("Проверьте"))


async def back_from_the_supplier(
    service: Person, task: str = "Проконтролируйте готовность", replacement_serial: str = "SN-777001"
) -> dict[str, Any]:
    """The supplier ships the goods back today — repaired, or the replacement (`task`: «Проконтролируйте обмен»,
    whose serial number he writes down) — and the service manager confirms they came. Returns the summary he
    confirmed."""
    await service.press("Готово", await service.expect(task))
    await service.expect("Дата отправки товара поставщиком")
    await service.send("сегодня")
    if task == "Проконтролируйте обмен":
        await service.expect("Серийный номер замены")
        await service.send(replacement_serial)
    summary = await service.expect("Проверьте")
    await service.press("Подтвердить", summary)
    return summary


async def repaired_but_not_fixed(service: Person) -> None:
    """The goods come back from the repair today with the defect still there: up to «Комментарий», why."""
    await back_from_the_supplier(service)
    await service.press("Не устранён", await service.expect("Дефект устранён?"))
    await service.expect("Дата возврата из ремонта")
    await service.send("сегодня")
    await service.expect("Комментарий")


async def replaced_but_not_fixed(service: Person) -> dict[str, Any]:
    """The supplier's replacement (SN-777001) comes today with the same defect: up to «Комментарий», why. Returns the
    question of the day the replacement came."""
    await back_from_the_supplier(service, "Проконтролируйте обмен")
    await service.press("Неисправна — повторить", await service.expect("Замена исправна?"))
    question = await service.expect("Дата получения замены")
    await service.send("сегодня")
    await service.expect("Комментарий")
    return question


async def test_return_by_offset_notifies_the_accountant(shop: Harness) -> None:
    manager, service, accountant = shop.people["Марина"], shop.people["Сергей"], shop.people["Анна"]
    await register_defect(manager, supplier="Альфа")
    await confirm_defect_and_ship(shop)

    # The accompanying document was made from the supplier's own template and kept with the case.
    documents = await service.documents()
    assert any("Альфа" in (d["file_name"] or "") and d["file_name"].endswith(".docx") for d in documents)

    await inform_supplier(service)
    card = await service.expect("Поставщик получил товар")
    await service.press("взаимозачётом", card)
    await service.expect("Заключение поставщика")
    await service.document(b"%PDF verdict", "verdict.pdf")
    await service.expect("Документ о возврате")
    await service.document(b"%PDF return", "return.pdf")
    await service.press("Подтвердить", await service.expect("Проверьте"))

    note = await accountant.expect("Возврат по взаимозачёту")
    assert "Longines" in note["text"]
    await shop.settle()
    assert any(d["file_name"] == "return.pdf" for d in await accountant.documents())
    await manager.expect("Дело закрыто")


async def test_the_signed_act_he_sent_is_not_sent_back_to_him_with_the_next_card(shop: Harness) -> None:
    """Сергей sends the signed act as the shipment's documents; the next card («send the supplier the shipment
    data») brings the case's documents to hand — but not his own act again: it is in his chat, his own message
    just above. The letter the bot made he has once; the «📎 Files» button still gives everything on demand. (A
    notice brings what it is about whoever sent it: «КП согласовано» comes with the very offer approved.)"""
    service = shop.people["Сергей"]
    await register_defect(shop.people["Марина"], supplier="Альфа")
    await confirm_defect_and_ship(shop)
    card = await service.card("Отправьте поставщику данные об отправке", button="Готово")
    await shop.settle()
    # The files a card brings come before it (the e-mail to send by hand, no mail server here, after it).
    names = [m["document"]["file_name"] for m in await service.bot_messages()
             if m.get("document") and m["message_id"] < card["message_id"]]  # fmt: skip
    assert "act.pdf" not in names, names
    assert len([n for n in names if n.endswith(".docx")]) == 1, names

    await service.press("Файлы", card)
    await shop.settle()
    assert "act.pdf" in [d["file_name"] for d in await service.documents()]


async def test_dates_of_what_happened_cannot_be_in_the_future_and_a_weekday_is_the_last_one(shop: Harness) -> None:
    """Monday 21.12.2026: the goods came «в пятницу» (18.12), not the coming Friday; a shipment is recorded once
    it is made, and the date the supplier sent the goods back may be today."""
    manager, service, director = shop.people["Марина"], shop.people["Сергей"], shop.people["Директор Пётр"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    for answer in ("1", "125 000", "Longines", "ВХ-42", "Иванова Марина"):
        await manager.expect("✏️")
        await manager.send(answer)
    await manager.expect("Дата поступления")
    await manager.send("25.12.2026")  # typed by mistake: the goods cannot have come yet
    refusal = await manager.expect("⚠️", "Дата поступления")
    assert "не может быть позже сегодняшней (21.12.2026)" in refusal["text"], refusal["text"]
    await manager.send("пятница")
    for answer in ("L2.793.4", "SN-123456", "Отстают"):
        await manager.expect("✏️")
        await manager.send(answer)
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    summary = await manager.expect("Проверьте")
    assert "Дата поступления товара: 18.12.2026" in summary["text"], summary["text"]
    await manager.press("Подтвердить", summary)
    note = await director.expect("Новый возврат брака")
    assert "поступили 18.12.2026" in note["text"], note["text"]

    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    head = shop.people["Кладовщик Иван"]
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    await head.press("Пропустить", await head.expect("Фото с осмотра"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.press("Готово", await service.expect("Уведомите поставщика о браке"))
    await service.press("В офис поставщика", await service.expect("Куда поставщик"))
    # The supplier directory knows the office's address: it is offered, one button keeps it.
    question = await service.expect("Адрес отправки", "Москва, ул. Часовая, 1")
    await service.press(KEEP, question)
    summary = await service.expect("Проверьте")
    assert "Адрес отправки: Москва, ул. Часовая, 1" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)
    await service.press("Готово", await service.expect("Проверьте и подпишите"))
    await service.press("Готово", await service.expect("Упакуйте товар"))
    await service.expect("Дата отправки")
    await service.send("23.12.2026")  # not shipped yet
    refusal = await service.expect("⚠️", "Дата отправки")
    assert "не может быть позже сегодняшней (21.12.2026)" in refusal["text"], refusal["text"]
    await service.send("пятница")  # the Friday the goods came, not the coming one
    await service.send("СДЭК 1234567890")
    await service.expect("Документы на отправку")
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    summary = await service.expect("Проверьте")
    assert "Дата отправки: 18.12.2026" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)
    note = await director.expect("отправлен поставщику")
    assert "18.12.2026" in note["text"] and "25.12.2026" not in note["text"], note["text"]

    await inform_supplier(service)
    await service.press("Ремонт", await service.expect("Поставщик получил товар"))
    await service.document(b"%PDF verdict", "verdict.pdf")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await service.press("Готово", await service.expect("Проконтролируйте готовность"))
    await service.expect("Дата отправки товара поставщиком")
    await service.send("сегодня")  # the supplier sent it back today: after the shipment of 18.12, so accepted
    summary = await service.expect("Проверьте")
    assert "Дата отправки товара поставщиком: 21.12.2026" in summary["text"], summary["text"]


async def test_repair_not_fixed_repeats_then_fixed_goes_back_to_the_shop(shop: Harness) -> None:
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    admin, director = shop.people["Ольга"], shop.people["Директор Пётр"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)  # shipped 21.12.2026
    documents = await service.documents()
    assert any("Helvetia" in (d["file_name"] or "") for d in documents)

    for round_no in (1, 2):
        await inform_supplier(service)
        card = await service.expect("Поставщик получил товар")
        await service.press("Ремонт", card)
        question = await service.expect("Заключение поставщика")
        # Each round's verdict is its own: the first round's file is not offered to keep.
        assert KEEP not in " ".join(service.buttons(question)) and "verdict1" not in question["text"]
        await service.document(b"%PDF verdict", f"verdict{round_no}.pdf")
        await service.press("Подтвердить", await service.expect("Проверьте"))
        card = await service.expect("Проконтролируйте готовность")
        assert "отремонтированный товар" in card["text"], card["text"]
        # The supplier sends the goods back weeks later; they are noted on that day.
        back = morning(2027, 1, 20) if round_no == 1 else morning(2027, 2, 5)
        await shop.move_to(back)
        await service.press("Готово", card)
        await service.send("сегодня")
        await service.press("Подтвердить", await service.expect("Проверьте"))
        card = await service.expect("Дефект устранён?")
        # He checks the watches against what was wrong with them, not from memory of a case among many.
        assert "Решение поставщика: Ремонт" in card["text"], card["text"]
        assert "L2.793.4 (SN-123456): Отстают на 30 секунд в сутки" in card["text"], card["text"]
        if round_no == 1:
            assert "22.01.2027 18:00" in card["text"], card["text"]  # 2 working days after the goods came back
            await shop.move_to(morning(2027, 1, 22))
            await service.press("Не устранён", card)
            # The arrival date, asked as what it is now: the first arrival is not today's return.
            question = await service.expect("Дата возврата из ремонта")
            assert KEEP not in " ".join(service.buttons(question)), question
            assert "18.12.2026" not in question["text"], question["text"]
            await service.send("22.01.2027")
            await service.expect("Комментарий")
            await service.send("Всё ещё отстают")
            await service.press("Подтвердить", await service.expect("Проверьте"))
            # Management learns that the fix did not hold, and why.
            for person in (director, manager, admin):
                note = await person.expect("Дефект не устранён")
                assert "Всё ещё отстают" in note["text"] and "22.01.2027" in note["text"], note["text"]
            # The whole cycle repeats, with the deadline counted from the new arrival.
            card = await service.expect("Уведомите поставщика о браке")
            assert "29.01.2027 18:00" in card["text"], card["text"]
            await service.press("Готово", card)
            await service.press("В офис поставщика", await service.expect("Куда поставщик"))
            # Offered: the office's address from the supplier directory, not round 1's service centre address.
            question = await service.expect("Адрес отправки")
            assert "Москва, Петровка, 10, сервисный центр" in question["text"], question["text"]
            await service.send("Москва, Петровка, 12, офис")
            summary = await service.expect("Проверьте")
            assert "Адрес отправки: Москва, Петровка, 12, офис" in summary["text"], summary["text"]
            await service.press("Подтвердить", summary)
            await service.press("Готово", await service.expect("Проверьте и подпишите"))
            await shop.move_to(morning(2027, 1, 25))
            await service.press("Готово", await service.expect("Упакуйте товар"))
            # This shipment's facts are asked afresh: the first round's date, waybill and papers are not offered.
            for asked in ("Дата отправки", "Номер накладной", "Документы на отправку"):
                question = await service.expect(asked)
                assert KEEP not in " ".join(service.buttons(question)), question
                assert "21.12.2026" not in question["text"] and "СДЭК 1234567" not in question["text"]
                if asked == "Дата отправки":
                    await service.send("сегодня")
                elif asked == "Номер накладной":
                    await service.send("СДЭК 7654321")
            await service.document(b"%PDF act 2", "act2.pdf")
            await service.press("Готово", await service.expect("Документы на отправку", "1"))
            summary = await service.expect("Проверьте")
            assert "25.01.2027" in summary["text"] and "СДЭК 7654321" in summary["text"], summary["text"]
            assert "act2.pdf" in summary["text"] and "act.pdf" not in summary["text"], summary["text"]
            await service.press("Подтвердить", summary)
            note = await director.expect("отправлен поставщику")
            assert "25.01.2027" in note["text"] and "СДЭК 7654321" in note["text"], note["text"]
            # Its deadline follows the second shipment, not the first round's.
            card = await service.card("Отправьте поставщику данные об отправке", button="Готово")
            assert "26.01.2027 18:00" in card["text"], card["text"]
        else:
            # Two working days after this return (Friday 05.02), never before it.
            assert "09.02.2027 18:00" in card["text"], card["text"]
            await service.press("Дефект устранён", card)

    # First the service manager moves the goods in 1C; the shop has nothing to confirm before that.
    card = await service.expect("Переместите товар в магазин в 1С")
    await shop.settle()
    assert await manager.find("Подтвердите получение товара магазином") is None
    await service.press("Готово", card)
    card = await manager.expect("Подтвердите получение товара магазином")
    # The task that closes the case says which watches come back and what the supplier did.
    assert "L2.793.4 (SN-123456)" in card["text"] and "решение поставщика: Ремонт" in card["text"], card["text"]
    await manager.press("Готово", card)
    for person in (admin, director):
        note = await person.expect("получен магазином")
        assert "Исправленный товар Longines" in note["text"], note["text"]
    await manager.expect("Дело закрыто")


async def test_a_replacement_with_the_same_defect_is_asked_and_reported_as_a_replacement_not_a_repair(
    shop: Harness,
) -> None:
    """The supplier exchanged the watch and the replacement lags as the first one did. Nothing came back from a
    repair: the service manager is asked the day the replacement came, the supplier's new 5 working days are said to
    count from it, and the shop manager's card of her case names it so."""
    manager, service, director = shop.people["Марина"], shop.people["Сергей"], shop.people["Директор Пётр"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Обмен")
    await shop.move_to(morning(2027, 1, 20))
    question = await replaced_but_not_fixed(service)
    assert "ремонт" not in question["text"], question["text"]
    await service.send("Замена тоже отстаёт")
    summary = await service.expect("Проверьте")
    assert "Дата получения замены: 20.01.2027" in summary["text"], summary["text"]
    assert "ремонт" not in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)

    note = await director.expect("Замена неисправна")
    assert "Замена тоже отстаёт" in note["text"] and "20.01.2027" in note["text"], note["text"]
    assert "Замена получена 20.01.2027" in note["text"] and "серийный номер SN-777001" in note["text"], note["text"]
    assert "Дефект не устранён" not in note["text"], note["text"]
    card = await service.expect("Уведомите поставщика о браке")
    assert "Срок — 5 рабочих дней с получения замены 20.01.2027" in card["text"], card["text"]
    assert "ремонт" not in card["text"], card["text"]

    await manager.send("/case 1")
    case_card = await manager.card("📁 №1", button="Схема")
    assert "Дата получения замены: 20.01.2027" in case_card["text"], case_card["text"]
    assert "из ремонта" not in case_card["text"], case_card["text"]


async def test_after_an_exchange_the_replacement_is_named_by_its_own_serial_and_checked_as_a_replacement(
    shop: Harness,
) -> None:
    """The supplier exchanged the watch: another watch comes back. The service manager writes down its serial number
    when it comes, and is asked whether the replacement is sound — not whether a defect was fixed, as nothing was
    repaired. The shop's tasks, her case card and management's closing notice name the replacement by its number
    beside the watch it replaces, so nobody takes one for the other."""
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    admin, director = shop.people["Ольга"], shop.people["Директор Пётр"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Обмен")
    await shop.move_to(morning(2027, 1, 20))

    await service.press("Готово", await service.expect("Проконтролируйте обмен"))
    await service.expect("Дата отправки товара поставщиком")
    await service.send("сегодня")
    # The replacement's number is required: asked with no way to skip it.
    question = await service.expect("Серийный номер замены")
    assert "Пропустить" not in " ".join(service.buttons(question)), question
    assert "SN-123456" not in question["text"], question["text"]  # not the old watch's number, offered to keep
    await service.send("SN-777001")
    summary = await service.expect("Проверьте")
    assert "Серийный номер замены: SN-777001" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)

    card = await service.expect("Замена исправна?")
    assert "устран" not in card["text"], card["text"]
    assert "Проверьте замену, серийный номер SN-777001" in card["text"], card["text"]
    assert "L2.793.4 (SN-123456): Отстают на 30 секунд в сутки" in card["text"], card["text"]  # what it replaces
    assert service.buttons(card)[:2] == ["Замена исправна", "Неисправна — повторить"], service.buttons(card)
    await service.press("Замена исправна", card)
    answered = await service.wait_for("Замена исправна?", "✅ Замена исправна (Сергей")
    assert "устран" not in answered["text"] and "Согласовано" not in answered["text"], answered["text"]

    card = await service.expect("Переместите товар в магазин в 1С")
    assert "Замена от поставщика, серийный номер SN-777001" in card["text"], card["text"]
    await service.press("Готово", card)
    card = await manager.expect("Подтвердите получение товара магазином")
    assert "L2.793.4 (SN-123456)" in card["text"], card["text"]
    assert "Замена от поставщика, серийный номер SN-777001" in card["text"], card["text"]

    await manager.send("/case 1")
    case_card = await manager.card("📁 №1", button="Схема")
    assert "Серийный номер замены: SN-777001" in case_card["text"], case_card["text"]
    assert "• ✅ Замена исправна — Сергей" in case_card["text"], case_card["text"]
    assert "устран" not in case_card["text"] and "approve" not in case_card["text"], case_card["text"]

    await manager.press("Готово", await manager.card("Подтвердите получение товара магазином", button="Готово"))
    for person in (admin, director):
        note = await person.expect("получен магазином")
        assert "на замену (Helvetia Watch Service, серийный номер SN-777001)" in note["text"], note["text"]


async def test_a_fix_that_did_not_hold_photographed_reaches_management_with_the_photo(shop: Harness) -> None:
    """The service manager photographs the scratch still there instead of typing why the fix failed: the director
    and the shop admin, told «Дефект не устранён», get that photo with the words, not a bare «(фото)»."""
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    admin, director = shop.people["Ольга"], shop.people["Директор Пётр"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Ремонт")
    await repaired_but_not_fixed(service)
    await service.photo(picture(80, 60))  # not the shop's photo of the defect: this one is of the repair
    await service.press("Подтвердить", await service.expect("Проверьте", "(фото)"))
    for person in (director, admin):
        note = await person.expect("Дефект не устранён", "(фото)")
        photos = [m for m in await person.bot_messages() if m.get("photos")]
        assert [m["text"].split(" · ")[0] for m in photos] == ["Комментарий"], [m["text"] for m in photos]
        assert photos[0]["message_id"] < note["message_id"]  # the photo first, then the words about it


async def test_going_back_and_correcting_a_field_before_confirming(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.send("1")
    # Back one question to look: the answer given is shown, and kept with one button.
    await manager.press("Назад", await manager.expect("Сумма закупки"))
    question = await manager.expect("Количество", "Сейчас: 1")
    await manager.press(KEEP, question)
    await manager.expect("Сумма закупки")
    # The question kept reads as answered, as a pressed option does: not «Сейчас: 1» with its buttons gone.
    kept = await manager.no_buttons_left(question["message_id"])
    assert kept["text"] == "✏️ Количество\n✅ 1 шт", kept["text"]
    await manager.send("10 000")
    await manager.press("Назад", await manager.expect("Марка"))  # the sum was wrong: back one question
    question = await manager.expect("Сумма закупки", "Сейчас: 10\u00a0000,00\u00a0₽")
    assert KEEP in " ".join(manager.buttons(question)), manager.buttons(question)
    await manager.send("12 500")  # typed anew: the new sum replaces the one given
    for answer in ("Longines", "ВХ-1", "Иванова Марина", "18.12.2026", "L2", "SN-9", "Царапина"):
        await manager.expect("✏️")
        await manager.send(answer)
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    summary = await manager.expect("Проверьте")
    assert "12" in summary["text"] and "500" in summary["text"] and "10 000" not in summary["text"]
    # Correct one field from the summary: only that one is asked again, then the summary comes back.
    await manager.press("Исправить", summary)
    await manager.press("Марка", await manager.expect("Какое поле"))
    await manager.expect("Марка")
    await manager.send("Tissot")
    old_summary = summary
    summary = await manager.expect("Проверьте")
    assert "Tissot" in summary["text"] and "Longines" not in summary["text"] and "SN-9" in summary["text"]
    # «Confirm» under the summary that still showed Longines confirms nothing.
    refused = await manager.press("Подтвердить", old_summary)
    assert refused and "последнее сообщение" in refused
    # A button from an older question is refused and changes nothing.
    old = await manager.find("✏️ Марка")
    assert old is not None
    stale = await manager.press("Отмена", old)
    assert stale and "последнее сообщение" in stale
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")


async def test_the_supplier_gets_the_shipment_data_by_e_mail(shop: Harness) -> None:
    """Step 8: the supplier's contact is not in Telegram; the e-mail goes through the same outbox."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        shop.settings.smtp_host, shop.settings.smtp_port = "127.0.0.1", port
        shop.settings.smtp_from, shop.settings.smtp_starttls = "returns@swisstime.example", False
        await shop.restart()  # settings are read once, at start
        await register_defect(shop.people["Марина"], supplier="Альфа")
        await confirm_defect_and_ship(shop)
        await shop.settle()
        assert len(received) == 1
        mail = message_from_bytes(received[0].content, policy=policy.default)
        assert received[0].rcpt_tos == ["service@alpha-time.example"]
        assert "CDEK" in mail["Subject"] or "СДЭК" in mail["Subject"]
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert "SN-123456" in body and "Петровка" in body
        names = {part.get_filename() for part in mail.iter_attachments()}
        assert "act.pdf" in names and any(n and n.endswith(".docx") for n in names)
    finally:
        controller.stop()


async def test_a_supplier_typed_as_people_call_it_is_the_one_meant(shop: Harness) -> None:
    """The shop manager types the supplier rather than pressing its button, as people call it: «Альфа», not
    «ООО «Альфа Тайм»» letter for letter. The bot takes the one supplier so named; a word that names both, or
    none, is asked again with the suppliers listed."""
    manager = shop.people["Марина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    await manager.send("Сервис")  # no supplier is called so
    refusal = await manager.expect("⚠️", "Поставщик")
    assert "ООО «Альфа Тайм», Helvetia Watch Service" in refusal["text"], refusal["text"]
    await manager.send("альфа")
    picked = await manager.wait_for("✏️ Поставщик\n✅ ")
    assert "ООО «Альфа Тайм»" in picked["text"], picked["text"]
    await manager.expect("Количество")


async def test_an_answer_edited_after_it_was_sent_is_not_taken_and_she_is_told_how_to_change_it(
    shop: Harness,
) -> None:
    """The shop manager types «30» for three watches and, as people do in Telegram, edits her message to «3». The bot
    took «30» and does not see the edit: rather than leave her thinking it counted, it says so and how to change an
    answer; going back, she corrects it and the request holds 3."""
    manager = shop.people["Марина"]
    await start_a_return_of_faulty_watches(manager)
    sent = await manager.send("30")
    await manager.expect("Сумма закупки")
    async with manager.http.patch(f"{manager.api}/messages/{sent['message_id']}", json={"text": "3"}) as response:
        assert response.status == 200, await response.text()
    told = await manager.expect("Исправления уже отправленных сообщений я не вижу")
    assert "«⬅️ Назад» или «✏️ Исправить поле»" in told["text"], told["text"]
    await manager.press("Назад", await manager.card("Сумма закупки", button="Назад"))
    await manager.expect("Количество", "Сейчас: 30")
    await manager.send("3")
    await manager.expect("Сумма закупки")
