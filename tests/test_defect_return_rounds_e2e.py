"""Seed 1 as its people played it in the demo: what the service manager is asked after the supplier's decision, and
what the supplier reads when the goods come back to him a second time."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from docx import Document

from tests.chat import Person
from tests.conftest import Harness
from tests.test_defect_return_e2e import (
    back_from_the_supplier,
    confirm_defect_and_ship,
    inform_supplier,
    morning,
    register_defect,
    repaired_but_not_fixed,
    replaced_but_not_fixed,
    verdict,
)
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop


class SupplierMailbox:
    """The supplier's mail server: every e-mail the bot sends lands here."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def supplier_mail() -> Iterator[tuple[SupplierMailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = SupplierMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


async def letter_text(person: Person, url: str) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(await person.download(url))).paragraphs)


async def ship_again(service: Person) -> None:
    """The repeated cycle's steps up to the goods handed to the carrier once more, today."""
    await service.press("Готово", await service.expect("Уведомите поставщика о браке"))
    await service.press("В сервисный центр", await service.expect("Куда поставщик"))
    await service.expect("Адрес отправки")
    await service.send("Москва, Петровка, 10")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await service.press("Готово", await service.expect("Проверьте и подпишите"))
    await service.press("Готово", await service.expect("Упакуйте товар"))
    await service.expect("Дата отправки")
    await service.send("сегодня")
    await service.expect("Номер накладной")
    await service.send("СДЭК 7654321")
    await service.expect("Документы на отправку")
    await service.document(b"%PDF act 2", "act2.pdf")
    await service.press("Готово", await service.expect("Документы на отправку", "1"))
    await service.press("Подтвердить", await service.expect("Проверьте"))


async def test_after_an_exchange_the_service_manager_is_asked_for_the_replacement_not_the_repair(
    shop: Harness,
) -> None:
    """The supplier exchanges the watch: nothing goes to repair, so the next task asks for the replacement."""
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager)
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Обмен")
    card = await service.card("Решение поставщика: Обмен", button="Готово")
    title = card["text"].split("\n")[0]
    assert "замен" in title and "ремонт" not in title, card["text"]
    assert "из ремонта" not in card["text"], card["text"]


async def test_after_a_repair_the_service_manager_is_still_asked_for_the_repaired_goods(shop: Harness) -> None:
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager)
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Ремонт")
    card = await service.card("Решение поставщика: Ремонт", button="Готово")
    assert "из ремонта" in card["text"].split("\n")[0], card["text"]


async def test_the_second_e_mail_to_the_supplier_says_it_is_a_repeated_return_and_why(
    shop: Harness, supplier_mail: tuple[SupplierMailbox, int]
) -> None:
    """The fix did not hold: the watches go back to the supplier, who must read that this is the second time and
    what is still wrong — not the same letter as the first."""
    mailbox, port = supplier_mail
    shop.settings.smtp_host, shop.settings.smtp_port = "127.0.0.1", port
    shop.settings.smtp_from, shop.settings.smtp_starttls = "returns@swisstime.example", False
    await shop.restart()  # settings are read once, at start
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await shop.settle()
    first = mailbox.mails[0]
    first_body = first.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Повторн" not in first["Subject"] and "Повторн" not in first_body, first_body

    await inform_supplier(service)
    await verdict(service, "Ремонт")
    await shop.move_to(morning(2027, 1, 20))
    await repaired_but_not_fixed(service)
    await service.send("Всё ещё отстают на 20 секунд")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await ship_again(service)
    await shop.settle()

    assert len(mailbox.mails) == 2, [m["Subject"] for m in mailbox.mails]
    second = mailbox.mails[1]
    body = second.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Повторный возврат" in second["Subject"], second["Subject"]
    assert "повторно" in body and "Всё ещё отстают на 20 секунд" in body, body
    assert "20.01.2027" in body, body  # when the goods came back from him


async def test_a_faulty_replacement_goes_back_named_by_its_own_serial_and_its_repair_is_checked_on_it(
    shop: Harness, supplier_mail: tuple[SupplierMailbox, int]
) -> None:
    """The supplier exchanged the watch and the replacement (SN-777001) lags too: it goes back to him, and his letter
    says the replacement is faulty and which watch he gets — the replacement by its number, not only the first watch.
    He repairs it this time: the service manager checks the repair on the replacement, and once it holds, the watch
    goes to the shop — the first round's «faulty» does not send it round again."""
    mailbox, port = supplier_mail
    shop.settings.smtp_host, shop.settings.smtp_port = "127.0.0.1", port
    shop.settings.smtp_from, shop.settings.smtp_starttls = "returns@swisstime.example", False
    await shop.restart()  # settings are read once, at start
    manager, service, director = shop.people["Марина"], shop.people["Сергей"], shop.people["Директор Пётр"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await verdict(service, "Обмен")
    await shop.move_to(morning(2027, 1, 20))
    await replaced_but_not_fixed(service)
    await service.send("Замена тоже отстаёт")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    note = await director.expect("Замена неисправна")
    assert "серийный номер SN-777001" in note["text"] and "Замена тоже отстаёт" in note["text"], note["text"]
    await ship_again(service)
    await shop.settle()

    assert len(mailbox.mails) == 2, [m["Subject"] for m in mailbox.mails]
    second = mailbox.mails[1]
    body = second.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Повторный возврат" in second["Subject"], second["Subject"]
    assert "замена, серийный номер SN-777001, пришла к нам 20.01.2027, но она неисправна" in body, body
    assert "Замечание при проверке: Замена тоже отстаёт." in body, body
    assert "Отправляем полученную от вас замену: серийный номер SN-777001." in body, body
    assert "• L2.793.4, серийный номер SN-123456: Отстают на 30 секунд в сутки" in body, body
    assert "дефект не устранён" not in body, body
    # The accompanying letter made for this shipment names the replacement too; the first one had none to name.
    letters = [d for d in await service.documents() if d["file_name"].endswith(".docx")]
    first_letter, second_letter = (
        await letter_text(service, letters[0]["url"]),
        await letter_text(service, letters[-1]["url"]),
    )
    assert "замена" not in first_letter, first_letter
    assert "отправляется полученная от поставщика замена, серийный номер SN-777001." in second_letter, second_letter

    # The second round: he repairs the replacement.
    await inform_supplier(service)
    await verdict(service, "Ремонт")
    await back_from_the_supplier(service)
    card = await service.expect("Дефект устранён?")
    assert "Решение поставщика: Ремонт" in card["text"], card["text"]
    assert "Замена, серийный номер SN-777001" in card["text"], card["text"]  # the watch repaired is the replacement
    await service.press("Дефект устранён", card)
    # Fixed: the watch goes to the shop, by its number.
    card = await service.expect("Переместите товар в магазин в 1С")
    assert "Замена от поставщика, серийный номер SN-777001" in card["text"], card["text"]


async def test_an_e_mail_sent_by_hand_comes_with_exactly_its_files_as_the_bot_would_attach_them(shop: Harness) -> None:
    """No mail server: the service manager must send the shipment data himself. He is told which files go with
    the letter and gets exactly those below it — not sent to the case's «📎 Файлы», which holds every file of the
    case (the defect's photos, the inspection's), a different number from the letter's."""
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager)
    await confirm_defect_and_ship(shop)
    told = await service.expect("Почта у бота не настроена")
    await shop.settle()
    letter = "Сопроводительное письмо — ООО «Альфа Тайм».docx"
    assert f"Приложите к письму файлы (2): {letter} и act.pdf — они есть в этом чате." in told["text"], told["text"]
    assert "📎" not in told["text"], told["text"]
    # Each of the letter's files is in his chat once, the bot's — the letter a card brought before, the act he sent
    # himself with this letter to send (a card does not bring a person's own file back: `at_hand`) — so that all the
    # e-mail takes is in one place to forward; nothing else came.
    after = [m for m in await service.bot_messages() if m["message_id"] > told["message_id"]]
    documents = [m["document"]["file_name"] for m in await service.bot_messages() if m.get("document")]
    assert sorted(documents) == sorted([letter, "act.pdf"]), documents
    assert not [m for m in after if m.get("photos")], after


async def test_the_case_card_says_who_decided_what_when_and_why(shop: Harness) -> None:
    """The shop manager opens her case: the card says what was decided on it — the warehouse head found no defect,
    when, and his words — not only where the case stands. A plain «Готово» is no decision and is not listed."""
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_defect(manager)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брака нет", await head.expect("Подтвердите наличие дефекта"))
    await head.press("Пропустить", await head.expect("Фото с осмотра"))
    await head.expect("Комментарий")
    await head.send("Часы идут точно, брака нет")
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.expect("Брака нет — переместите товар обратно в магазин в 1С")

    await manager.send("/case 1")
    card = await manager.card("📁 №1", button="Схема")
    assert "Решения:\n• ✖️ Брака нет — Кладовщик Иван, 21.12.2026 10:00: «Часы идут точно, брака нет»" in card["text"], (
        card["text"]
    )
    assert "Готово —" not in card["text"], card["text"]
    assert "reject" not in card["text"], card["text"]
