"""Seed 3 as its people played it in the demo: what they read in the chat when an agreed quote hands the client on,
a client whose name carries its own quotes, a file answered and corrected, a warehouse date on a day off, and the
payment marked on the last task."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.chat import Person
from tests.conftest import Harness
from tests.test_fulfillment_e2e import (  # noqa: F401 (the fixture)
    a_request_for_a_client_under_contract,
    fulfillment,
    new_quote,
    through_the_director,
    to_the_warehouse_date,
)
from tests.test_handoff_notice_e2e import an_old_clients_quote_agreed


async def texts_of(shop: Harness, person: Person) -> list[str]:
    """Everything the bot said to the person, in the order their chat shows it."""
    await shop.settle()
    return [m.get("text") or m.get("caption") or "" for m in await person.bot_messages()]


def first_index(texts: list[str], fragment: str) -> int:
    found = [i for i, text in enumerate(texts) if fragment in text]
    assert found, (fragment, texts[-6:])
    return found[0]


async def test_an_agreed_quote_closes_first_and_the_contract_it_starts_says_it_continues_it(
    fulfillment: Harness,  # noqa: F811
) -> None:
    """Алина's client agrees the offer: she reads that the quote is closed, then that the contract continues quote №1
    and whom it waits for now — the lawyer, and until when. Not the new case first and its reason after."""
    manager = fulfillment.people["Алина"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(fulfillment, manager)
    await fulfillment.people["Юрист Вера"].expect("Подготовьте договор с клиентом")

    texts = await texts_of(fulfillment, manager)
    closed = first_index(texts, "Дело закрыто: №1")
    continued = first_index(texts, "№2 · Договор: ООО Ромашка")
    assert closed < continued, texts[-4:]
    said = texts[continued]
    assert "Продолжение дела №1 («Заявка на просчёт заказа»): КП с клиентом согласовано." in said, said
    assert "Ждёт: Юрист Вера (Юрист) — до 23.12.2026 18:00" in said, said


async def test_a_receiving_request_an_agreed_quote_starts_reads_as_one_created_request(
    fulfillment: Harness,  # noqa: F811
) -> None:
    """A client under contract agrees the offer: the receiving request comes after the quote's close, says it
    continues the quote and what to do with it, and does not say «заявка» twice in a row."""
    manager = await an_old_clients_quote_agreed(fulfillment)
    note = await manager.card("Продолжение дела №1 («Заявка на просчёт заказа»)", button="Дело")
    assert "Заявка на приёмку товара создана. Направьте её на склад" in note["text"], note["text"]
    texts = await texts_of(fulfillment, manager)
    assert first_index(texts, "Дело закрыто: №1") < first_index(texts, "Продолжение дела №1"), texts[-4:]
    assert not [t for t in texts if "Заявка создана: заявка" in t or "Начато автоматически" in t], texts[-4:]


async def test_a_request_filed_by_hand_says_it_is_created_once(fulfillment: Harness) -> None:  # noqa: F811
    await a_request_for_a_client_under_contract(fulfillment, "Заявка на отгрузку")
    texts = await texts_of(fulfillment, fulfillment.people["Алина"])
    assert [t for t in texts if "Заявка на отгрузку создана. Направьте её на склад" in t], texts[-4:]
    assert not [t for t in texts if "Заявка создана: заявка" in t], texts[-4:]


async def test_a_client_whose_name_has_its_own_quotes_is_not_quoted_again(fulfillment: Harness) -> None:  # noqa: F811
    """A company's name written with its own quotes is said as it is written, not in a second pair of them; a word
    she typed is still quoted."""
    manager = fulfillment.people["Алина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка на просчёт заказа", await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")
    for name in ('ООО "Лютик"', "ООО «Ромашка»"):
        await manager.send(name)
        offer = await manager.expect("пока нет. Создать?")
        assert offer["text"] == f"Компании {name} пока нет. Создать?", offer["text"]
        assert f"➕ Создать {name}" in manager.buttons(offer), manager.buttons(offer)
        await manager.press("Ввести заново", offer)
        await manager.expect("Клиент (компания)")
    await manager.send("Ромашка")
    offer = await manager.expect("пока нет. Создать?")
    assert offer["text"] == "Компании «Ромашка» пока нет. Создать?", offer["text"]


async def test_an_offer_file_is_named_once_when_confirmed_and_on_the_card(fulfillment: Harness) -> None:  # noqa: F811
    """Алина attaches the offer from the case card, then the corrected one the director asked for: the check before
    saving and the case card name «Файл КП» once each."""
    manager, director = fulfillment.people["Алина"], fulfillment.people["Генеральный Олег"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await manager.press("Сформировать КП", await manager.expect("Этап: Новая заявка на просчёт"))
    await manager.press("Файл КП", await manager.wait_for("Этап: Сформировать КП"))
    await manager.expect("Файл КП", "Отправьте файл")
    await manager.document(b"%PDF offer v1", "offer_v1.pdf")
    check = await manager.expect("Проверьте")
    assert check["text"].count("Файл КП") == 1 and "offer_v1.pdf" in check["text"], check["text"]
    await manager.press("Подтвердить", check)
    await manager.press("На согласование ГД", await manager.card("Этап: Сформировать КП", button="На согласование"))

    task = await director.expect("Согласуйте коммерческое предложение")
    await director.press("Вернуть с замечаниями", task)
    await director.expect("Что исправить?")
    await director.send("Цена хранения завышена")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    await manager.press("Заполнить", await manager.card("Исправьте КП по замечанию директора", button="Заполнить"))
    await manager.expect("Исправленный файл КП")
    await manager.document(b"%PDF offer v2", "offer_v2.pdf")
    await manager.expect("Что исправлено в КП")
    await manager.send("Цена пересчитана")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await director.press("Согласовать", await director.expect("Согласуйте коммерческое предложение", "повторно"))
    await manager.press("Дело", await manager.expect("КП согласовано директором"))
    card = await manager.expect("№1", "Этап: Согласовать КП с клиентом")
    assert "Файл КП: offer_v2.pdf\n   ранее: offer_v1.pdf" in card["text"], card["text"]
    assert card["text"].lower().count("файл кп") == 1, card["text"]


async def test_a_day_off_warning_offers_the_next_working_day_as_a_button(fulfillment: Harness) -> None:  # noqa: F811
    """«Завтра» said on a Friday is a Saturday: the bot names the next working day and offers it as a button, which
    answers the question; typing a date would still do."""
    shop = fulfillment
    manager = shop.people["Алина"]
    shop.clock.set(datetime(2026, 12, 25, 7, 0, tzinfo=UTC))  # Friday 10:00 in Moscow
    await to_the_warehouse_date(shop, "Заявка на приёмку товара", "300")
    await manager.send("завтра")
    warned = await manager.expect("ближайший рабочий день — 28.12.2026", "Дата работ на складе")
    assert "📅 28.12.2026" in manager.buttons(warned), manager.buttons(warned)
    await manager.press("📅 28.12.2026", warned)
    check = await manager.expect("Проверьте")
    assert "Дата работ на складе: 28.12.2026" in check["text"], check["text"]
    await manager.press("Подтвердить", check)
    card = await shop.people["Кладовщик Тимур"].wait_for("Примите товар и сделайте пересчёт", "Нажмите «✋ Взять»")
    assert "Срок: 28.12.2026 18:00" in card["text"], card["text"]


async def test_a_day_off_button_is_checked_again_when_pressed(fulfillment: Harness) -> None:  # noqa: F811
    """A date button names a day, and the day is checked as a typed one would be: a forged Sunday is refused."""
    shop = fulfillment
    manager = shop.people["Алина"]
    shop.clock.set(datetime(2026, 12, 25, 7, 0, tzinfo=UTC))
    await to_the_warehouse_date(shop, "Заявка на приёмку товара", "300")
    await manager.send("завтра")
    warned = await manager.expect("ближайший рабочий день — 28.12.2026", "Дата работ на складе")
    (data,) = [k["callback_data"] for row in warned["inline_keyboard"] for k in row if k["text"] == "📅 28.12.2026"]
    answer = await manager.press_data(warned["message_id"], data.replace("2026-12-28", "2026-12-27"), unchecked=True)
    assert answer and "27.12.2026 — нерабочий день" in answer, answer


async def test_a_payment_marked_reads_as_paid_not_as_done(fulfillment: Harness) -> None:  # noqa: F811
    """The last task of a receiving request has one button, «💰 Оплачено»: once pressed, its card says «Оплачено»,
    not the generic «Выполнено»."""
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    card = await a_request_for_a_client_under_contract(shop, "Заявка на приёмку товара")
    await manager.press("Направить заявку на склад", card)
    await manager.expect("Количество единиц")
    await manager.send("300")
    await manager.expect("Дата работ на складе")
    await manager.send("23.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await timur.press("Взять", await timur.card("Примите товар и сделайте пересчёт", button="Взять"))
    await timur.press("Готово", await timur.card("Примите товар", "Вы взяли", button="Готово"))
    await timur.expect("Файл пересчёта")
    await timur.document(b"sku;qty\nA;300\n", "recount.csv")
    await timur.expect("Комментарий склада")
    await timur.send("Всё сошлось")
    await timur.press("Подтвердить", await timur.expect("Проверьте"))
    await manager.press("Клиент согласовал", await manager.expect("Согласуйте с клиентом результат склада"))
    await manager.press("Готово", await manager.expect("Выставьте и отправьте клиенту счёт"))
    await manager.document(b"%PDF invoice", "invoice.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    task = await manager.expect("Отметьте оплату счёта")
    await manager.press("Оплачено", task)
    await manager.expect("Оплата получена")
    await shop.settle()
    (now,) = [m for m in await manager.bot_messages() if m["message_id"] == task["message_id"]]
    assert "💰 Оплачено (Алина)" in now["text"], now["text"]
    assert "Выполнено" not in now["text"], now["text"]
