"""Files as people on phones see them (seed 1): a photo has no name a person would know, a photo question asks for a
photo, an album sent at once is one answer, a summary does not send back what was just sent, and a mail the bot
cannot send is said in words a shop's people understand."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import User
from tests.chat import Person, picture, start_a_return_of_faulty_watches
from tests.conftest import Harness
from tests.test_defect_return_e2e import back_from_the_supplier, inform_supplier, verdict
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tgbot.callbacks import FormCb


def after(messages: list[dict[str, Any]], message_id: int) -> list[dict[str, Any]]:
    return [m for m in messages if m["message_id"] > message_id]


async def up_to_the_shipping_documents(shop: Harness) -> Person:
    """From the registered defect to the service manager's question for the signed shipping documents."""
    service, head = shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    await head.photo()
    await head.press("Готово", await head.expect("Фото с осмотра", "1"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.press("Готово", await service.expect("Уведомите поставщика о браке"))
    await service.press("В сервисный центр", await service.expect("Куда поставщик просит отправить часы"))
    await service.expect("Адрес отправки")
    await service.send("Москва, Петровка, 10")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await service.press("Готово", await service.expect("Проверьте и подпишите сопроводительный документ"))
    await service.press("Готово", await service.expect("Упакуйте товар и передайте перевозчику"))
    await service.send("21.12.2026")
    await service.expect("Номер накладной")
    await service.send("СДЭК 1234567")
    await service.expect("Документы на отправку")
    return service


async def test_a_photo_among_the_documents_is_called_a_photo_not_by_its_telegram_id(shop: Harness) -> None:
    await register(shop.people["Марина"])
    service = await up_to_the_shipping_documents(shop)
    # The signed act photographed on the phone, and the carrier's act as a PDF.
    await service.photo(filename="IMG_0001.png")
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "2"))
    summary = await service.expect("Проверьте")
    assert "Документы на отправку (подписанные): фото и act.pdf" in summary["text"], summary["text"]
    assert "photo_" not in summary["text"] and "IMG_0001" not in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)
    await shop.people["Директор Пётр"].expect("отправлен поставщику")

    await service.send("/case 1")
    await service.expect("📁 №1")
    card = await service.card("Документы на отправку", button="Файлы")
    assert "Документы на отправку (подписанные): фото и act.pdf" in card["text"], card["text"]
    assert "photo_" not in card["text"], card["text"]


async def up_to_the_description_of_the_defect(manager: Person) -> None:
    """Seed 1's request filled up to the question for the defect's description: one watch, its model and serial."""
    await start_a_return_of_faulty_watches(manager)
    for answer, question in (
        ("1", "Сумма закупки"),
        ("125 000", "Марка"),
        ("Longines", "Входящий номер"),
        ("ВХ-42", "ФИО сотрудника"),
        ("Иванова Марина", "Дата поступления"),
        ("18.12.2026", "Часы №1: Модель"),
        ("L2.793.4", "Серийный номер"),
        ("SN-123456", "Описание дефекта"),
    ):
        await manager.send(answer)
        await manager.expect(question)


async def up_to_the_photos_of_the_defect(manager: Person) -> dict[str, Any]:
    """Seed 1's request filled up to the question for the defect's photos (returned)."""
    await up_to_the_description_of_the_defect(manager)
    await manager.send("Отстают на 30 секунд в сутки")
    return await manager.expect("Фото дефекта")


async def register(manager: Person) -> None:
    """The shop manager registers one defective watch with one photo."""
    await up_to_the_photos_of_the_defect(manager)
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")


async def test_a_photo_question_offers_done_only_once_a_photo_came(shop: Harness) -> None:
    """Марина is asked for the defect's photos: with none sent there is no «Готово» to press (it could only say to
    send one); a press of it from an older message still asks for a photo, and the first photo brings it."""
    manager = shop.people["Марина"]
    question = await up_to_the_photos_of_the_defect(manager)
    assert "✅ Готово" not in manager.buttons(question), manager.buttons(question)
    task_id = FormCb.unpack(next(k["callback_data"] for row in question["inline_keyboard"] for k in row)).task_id
    done = FormCb(action="files", task_id=task_id).pack()
    said = await manager.press_data(question["message_id"], done, unchecked=True)
    assert said is not None and "хотя бы одно фото" in said and "файл" not in said, said
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "1"))
    await manager.expect("Проверьте")


async def test_a_mail_the_bot_cannot_send_is_said_in_what_it_means_for_the_person(shop: Harness) -> None:
    """This shop has no mail server: the supplier's e-mail cannot go, and the service manager, whose step sent it,
    reads what to do about it — not the configuration's words, which are the admins' business (the panel)."""
    await register(shop.people["Марина"])
    service = await up_to_the_shipping_documents(shop)
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    await service.press("Подтвердить", await service.expect("Проверьте"))
    told = await service.expect("не ушло")
    text = told["text"]
    assert text.startswith(
        "⚠️ Почта у бота не настроена, письмо на service@alpha-time.example (дело №1) не ушло — "
        "отправьте его сами, текст ниже."
    ), text
    assert "SMTP" not in text and "Для администратора" not in text, text
    assert "Кому: service@alpha-time.example" in text and "Тема: Возврат брака Longines" in text, text


async def test_photos_sent_at_once_are_one_answer_and_the_summary_does_not_send_them_back(shop: Harness) -> None:
    manager = shop.people["Марина"]
    question = await up_to_the_photos_of_the_defect(manager)
    await manager.album([picture(64, 48), picture(48, 64), picture(40, 40)], album_id="13781234567890")
    # One question after the album, counting all three (it is brought up to date as the photos come in).
    await manager.wait_for("Фото дефекта", "Получено: 3")
    await shop.settle()
    since = after(await manager.bot_messages(), question["message_id"])
    asked = [m for m in since if "Фото дефекта" in (m["text"] or "")]
    assert len(asked) == 1, [m["text"] for m in asked]
    await manager.press("Готово", asked[0])
    summary = await manager.expect("Проверьте")
    assert "Фото дефекта: 3 фото" in summary["text"], summary["text"]
    await shop.settle()
    # Her photos are right above in her chat: the bot sends none of them back.
    assert not [m for m in after(await manager.bot_messages(), question["message_id"]) if m.get("photos")]
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")
    # The warehouse head, who judges the defect, still sees them, and anyone may bring them back from the card.
    await shop.people["Сергей"].press("Готово", await shop.people["Сергей"].expect("Переместите товар на склад"))
    head = shop.people["Кладовщик Иван"]
    card = await head.expect("Подтвердите наличие дефекта")
    await shop.settle()
    assert len([m for m in await head.bot_messages() if m.get("photos")]) == 3
    assert any("Файлы (3)" in b for b in head.buttons(card)), head.buttons(card)


async def test_is_the_defect_fixed_brings_the_photos_once_and_the_documents_on_request(shop: Harness) -> None:
    """The service manager judging the repair sees the defect's photos with the card, as one album; the case's
    documents (the accompanying one, the signed act, the verdict) are not sent with it again, but one tap away."""
    await register(shop.people["Марина"])
    service = await up_to_the_shipping_documents(shop)
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await inform_supplier(service)
    await verdict(service, "Ремонт")
    summary = await back_from_the_supplier(service)
    card = await service.expect("Дефект устранён?")
    await shop.settle()
    brought = after(await service.bot_messages(), summary["message_id"])  # the files come first, then the card
    photos = [m for m in brought if m.get("photos")]
    assert len(photos) == 2 and len({m.get("media_group_id") for m in photos}) == 1, [m["text"] for m in photos]
    assert not [m for m in brought if m.get("document")], [m["document"]["file_name"] for m in brought]
    button = next(b for b in service.buttons(card) if "Файлы" in b)
    assert button == "📎 Файлы (5)", service.buttons(card)  # two photos, the accompanying document, act, verdict
    last = (await service.bot_messages())[-1]["message_id"]
    await service.press("Файлы", card)
    await shop.settle()
    again = after(await service.bot_messages(), last)
    assert len([m for m in again if m.get("document")]) == 3 and len([m for m in again if m.get("photos")]) == 2


async def test_a_file_of_the_case_reaches_a_person_once_though_several_cards_bring_it(shop: Harness) -> None:
    """The accompanying letter is attached to three of the service manager's cards (sign it, pack the goods with
    it, send the shipment data): it comes with the first, not again with each — nor after a restart, when what he
    was sent is read back from the outbox; nor does the act he sent himself. The photos he has already asked for do
    not come again with his card to judge the repair; the «Files» button still sends him everything when he asks."""
    await register(shop.people["Марина"])
    service = await up_to_the_shipping_documents(shop)  # the letter's card, then the packing card that attaches it
    await shop.restart()
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    summary = await service.expect("Проверьте")
    await service.press("Подтвердить", summary)
    card = await service.card("Отправьте поставщику данные об отправке", button="Готово")
    await shop.settle()
    letters = [d for d in await service.documents() if d["file_name"].endswith(".docx")]
    assert len(letters) == 1, [d["file_name"] for d in letters]
    # The card brings the shipment's documents, but his own act is his message just above: not sent back with it
    # (the files come first, then the card; the e-mail to send by hand, no mail server here, comes after it).
    brought = [
        m for m in after(await service.bot_messages(), summary["message_id"]) if m["message_id"] < card["message_id"]
    ]
    assert not [m["document"]["file_name"] for m in brought if m.get("document")], brought

    await service.send("/case 1")
    last = (await service.bot_messages())[-1]["message_id"]
    await service.press("Файлы", await service.card("📁 №1", button="Файлы"))
    await shop.settle()
    asked = after(await service.bot_messages(), last)
    assert len([m for m in asked if m.get("photos")]) == 2 and len([m for m in asked if m.get("document")]) == 2
    await service.press("Готово", card)
    await verdict(service, "Ремонт")
    await back_from_the_supplier(service)
    card = await service.expect("Дефект устранён?")
    await shop.settle()
    assert not [m for m in after(await service.bot_messages(), card["message_id"] - 1) if m.get("photos")]
    assert "📎 Файлы (5)" in service.buttons(card), service.buttons(card)


async def test_the_shop_manager_hears_where_her_return_goes_not_every_step_of_the_paperwork(shop: Harness) -> None:
    """The stages of the service centre's own work (the supplier's answer, the documents, packing) are no news to the
    shop manager who filed the return; the director, who follows the case by choice, hears every one."""
    manager, director = shop.people["Марина"], shop.people["Директор Пётр"]
    await register(manager)
    await director.send("/case 1")
    await director.press("Следить за делом", await director.card("📁 №1", button="Следить за делом"))
    await director.card("📁 №1", button="Не следить за делом")
    service = await up_to_the_shipping_documents(shop)
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    await service.press("Подтвердить", await service.expect("Проверьте"))
    # The director hears this move in the process's own words, and only in them: one event, one message.
    await director.expect("🔔", "отправлен поставщику")
    await manager.expect("📍", "Товар в пути к поставщику")
    await shop.settle()
    heard = [m["text"] for m in await manager.bot_messages() if "📍" in (m["text"] or "")]
    assert len(heard) == 3, heard
    assert all(
        any(f"теперь «{stage}»" in line for line in heard)
        for stage in ("Проверка брака на складе", "Уведомление поставщика о браке", "Товар в пути к поставщику")
    ), heard
    followed = "\n".join(m["text"] for m in await director.bot_messages() if "📍" in (m["text"] or ""))
    assert all(
        f"теперь «{stage}»" in followed
        for stage in ("Ответ поставщика", "Сопроводительные документы", "Упаковка и отправка")
    ), followed
    assert "теперь «Товар в пути к поставщику»" not in followed, followed

    # The end is hers to hear: returned by offset, the case closes and she is told.
    await inform_supplier(service)
    await service.press("взаимозачётом", await service.expect("Поставщик получил товар"))
    await service.expect("Заключение поставщика")
    await service.document(b"%PDF verdict", "verdict.pdf")
    await service.expect("Документ о возврате")
    await service.document(b"%PDF return", "return.pdf")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await manager.expect("Дело закрыто")


async def test_an_administrator_who_must_send_it_by_hand_also_reads_the_technical_reason(harness: Harness) -> None:
    """The shop's administrator is its service manager too: told the same human words, and what to set right."""
    admin = harness.admin
    async with harness.core.sessionmaker() as session:
        number = (await session.execute(select(User.id).where(User.tg_id == admin.id))).scalar_one()
    await admin.send(f"/grant {number} service_manager")
    await admin.expect("теперь")
    harness.people["Сергей"] = admin  # the shop's steps below are his
    await harness.person("Кладовщик Иван", "warehouse_head")
    await harness.person("Директор Пётр", "director")
    manager = await harness.person("Марина", "shop_manager")
    await register(manager)
    service = await up_to_the_shipping_documents(harness)
    await service.document(b"%PDF-1.4 signed act", "act.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    await service.press("Подтвердить", await service.expect("Проверьте"))
    told = await service.expect("не ушло")
    assert told["text"].startswith("⚠️ Почта у бота не настроена, письмо на service@alpha-time.example"), told["text"]
    assert "Для администратора: SMTP is not configured (SMTP_HOST, SMTP_FROM)" in told["text"], told["text"]
