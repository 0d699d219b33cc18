"""Seed 3, fulfillment: pipelines moved by hand, stages that require fields, the director's approval,
hand-offs between pipelines with every field carried over, and timed warehouse work."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from db.models import Case, Company, Task, Timer
from flows.runtime import MOVE_TASK
from services import companies
from tests.chat import Person
from tests.conftest import Harness


@pytest.fixture
async def fulfillment(harness: Harness) -> Harness:
    await harness.person("Алина", "account_manager")
    await harness.person("Генеральный Олег", "general_director")
    await harness.person("Юрист Вера", "lawyer")
    await harness.person("Кладовщик Тимур", "warehouse_worker")
    await harness.person("Кладовщик Рустам", "warehouse_worker")
    return harness


async def a_request_for_a_client_under_contract(shop: Harness, process: str) -> dict[str, Any]:
    """Алина files a request of `process` («Заявка на обработку товара») for a client whose contract is signed and
    opens its card; the card at «Новая заявка» is returned."""
    manager = shop.people["Алина"]
    async with shop.core.sessionmaker() as session, session.begin():
        await companies.create(session, "ООО Старый клиент", None, shop.clock.now(), {"contract_signed": True})
    await manager.send("▶️ Начать процесс")
    await manager.press(process, await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")
    await manager.send("ООО Старый клиент")
    await manager.expect("Контактное лицо")
    await manager.send("Иван Петров, +7 900 000-00-00")
    await manager.expect("Товар")
    await manager.send("Детские игрушки")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.press("Дело", await manager.expect(process + " создана"))
    return await manager.expect("Этап: Новая заявка")


async def to_the_warehouse_date(shop: Harness, process: str, units: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Алина begins sending a request of a client under contract to the warehouse: so many units. The request's card
    she pressed it on, and the question «Дата работ на складе» asked next."""
    manager = shop.people["Алина"]
    card = await a_request_for_a_client_under_contract(shop, process)
    await manager.press("Направить заявку на склад", card)
    await manager.expect("Количество единиц")
    await manager.send(units)
    return card, await manager.expect("Дата работ на складе")


async def at_the_warehouse(shop: Harness, process: str, units: str, day: str) -> dict[str, Any]:
    """Алина sends a request of a client under contract to the warehouse: so many units, on that day. The request's
    card she pressed it on."""
    manager = shop.people["Алина"]
    card, _question = await to_the_warehouse_date(shop, process, units)
    await manager.send(day)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    return card


async def new_quote(manager: Person, company: str, *, create: bool) -> None:
    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка на просчёт заказа", await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")
    await manager.send(company)
    if create:
        await manager.press("Создать", await manager.expect(company, "Создать"))
    await manager.expect("Контактное лицо")
    await manager.send("Иван Петров, +7 900 000-00-00")
    await manager.expect("Товар")
    await manager.send("Детские игрушки")
    await manager.expect("Объём")
    await manager.send("1200")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))


async def an_offer_for_the_director(manager: Person) -> None:
    """Алина makes a quote for a new client, ООО Ромашка, and sends its offer to the general director."""
    await new_quote(manager, "ООО Ромашка", create=True)
    await manager.press("Сформировать КП", await manager.expect("Этап: Новая заявка на просчёт"))
    await manager.press("На согласование ГД", await manager.wait_for("Этап: Сформировать КП"))
    await manager.expect("Файл КП")
    await manager.document(b"%PDF offer v1", "offer_v1.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))


async def a_quote_left_at_its_first_question(manager: Person) -> None:
    """Алина begins another quote and leaves it at its first question: a request not sent, no case yet."""
    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка на просчёт заказа", await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")


async def correct_warehouse_date(manager: Person, day: str) -> None:
    """The client asks for another day: the manager opens request №1's card and corrects its warehouse date to
    `day`."""
    await manager.send("/case 1")
    await manager.press("Дата работ на складе", await manager.expect("№1", "Этап:"))
    await manager.expect("Дата работ на складе")
    await manager.send(day)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))


async def through_the_director(shop: Harness, manager: Person) -> None:
    """Offer prepared, returned once with remarks, approved; then agreed with the client."""
    director = shop.people["Генеральный Олег"]
    card = await manager.expect("Этап: Новая заявка на просчёт")
    await manager.press("Сформировать КП", card)
    card = await manager.wait_for("Этап: Сформировать КП")
    # The director's stage requires the offer file: the move is held and the bot asks for it right here.
    await manager.press("На согласование ГД", card)
    await manager.expect("Файл КП")
    await manager.document(b"%PDF offer v1", "offer_v1.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    task = first = await director.expect("Согласуйте коммерческое предложение")
    await director.press("Вернуть с замечаниями", task)
    await director.expect("Что исправить?")
    await director.send("Цена хранения завышена, пересчитайте")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    # A returned offer goes back only as a corrected one: a task asks for the new file and what was corrected;
    # the case card offers no move that would send the same file again.
    task = await manager.expect("Исправьте КП по замечанию директора")
    assert "Директор вернул КП на доработку: Цена хранения завышена" in task["text"], task["text"]
    # The director's own card keeps the words he decided on: the first offer, not «sent again after rework».
    decided = await decided_card(shop, director, first)
    assert "Детские игрушки" in decided and "повторно" not in decided and "Что исправлено" not in decided, decided
    await manager.press("Дело", task)
    card = await manager.expect("Этап: Доработать КП")
    assert "На согласование ГД" not in " ".join(manager.buttons(card)), manager.buttons(card)
    await manager.press("Заполнить", await manager.card("Исправьте КП по замечанию директора", button="Заполнить"))
    question = await manager.expect("Исправленный файл КП")
    assert "Оставить как есть" not in " ".join(manager.buttons(question))  # the returned file is no answer
    await manager.document(b"%PDF offer v2", "offer_v2.pdf")
    question = await manager.expect("Что исправлено в КП")
    assert "Пропустить" not in " ".join(manager.buttons(question))
    await manager.send("Цена хранения пересчитана: 12 ₽ за паллето-место в сутки")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    # The director sees it is the second time, with the remark he made and what was done about it.
    task = await director.expect("Согласуйте коммерческое предложение", "КП прислано повторно")
    assert "Ваше замечание: Цена хранения завышена, пересчитайте" in task["text"], task["text"]
    assert "Что исправлено: Цена хранения пересчитана" in task["text"], task["text"]
    await director.press("Согласовать", task)
    note = await manager.expect("КП согласовано директором")
    decided = await decided_card(shop, director, task)  # approved as the second offer, and still says so
    assert "КП прислано повторно" in decided and "Что исправлено: Цена хранения пересчитана" in decided, decided
    await manager.press("Дело", note)
    await manager.press("Клиент согласовал", await manager.expect("Этап: Согласовать КП с клиентом"))


async def decided_card(shop: Harness, person: Person, card: dict) -> str:
    """The text of a task card once its decision is on it (the card edited in place)."""
    await shop.settle()
    (now,) = [m for m in await person.bot_messages() if m["message_id"] == card["message_id"]]
    return str(now["text"])


async def warehouse_work(shop: Harness, worker: Person, *, minutes: list[int], comment: str) -> None:
    """The worker takes the task, starts the timer, pauses and resumes, then finishes with the recount."""
    # The card comes to the warehouse's people only: it says what to do, not that someone with a role is awaited.
    card = await worker.wait_for("Примите товар и сделайте пересчёт", "Нажмите «✋ Взять», чтобы заняться задачей.")
    assert "Ждёт исполнителя" not in card["text"], card["text"]
    await worker.press("Взять", card)
    for index, spent in enumerate(minutes):
        card = await worker.wait_for("Примите товар", "Вы взяли" if index == 0 else "на паузе")
        await worker.press("Начать работу" if index == 0 else "Продолжить", card)
        running = await worker.wait_for("Примите товар", "В работе с")
        # The first stretch says only since when; a resumed one, the time done before it too.
        assert ("до этого" in running["text"]) == (index > 0), running["text"]
        shop.clock.advance(minutes=spent)
        if index < len(minutes) - 1:
            await worker.press("Пауза", running)
            shop.clock.advance(minutes=15)  # a break does not count
    await worker.press("Готово", running)
    # A recount after the client's corrections is a new count: the last one's file and words are not on offer.
    question = await worker.expect("Файл пересчёта")
    assert "Оставить как есть" not in " ".join(worker.buttons(question)), worker.buttons(question)
    await worker.document(b"sku;qty\nA;600\nB;600\n", "recount.csv")
    # Put off till later: the file already sent is kept, and «Продолжить» asks on from where it stopped.
    await worker.press("Отложить", await worker.expect("Комментарий склада"))
    await worker.press("Продолжить", await worker.expect("отложена, ваши ответы сохранены"))
    question = await worker.expect("Комментарий склада")
    assert "Оставить как есть" not in " ".join(worker.buttons(question)), worker.buttons(question)
    await worker.send(comment)
    await worker.press("Подтвердить", await worker.expect("Проверьте"))


async def test_new_client_from_first_request_to_paid_receiving(fulfillment: Harness) -> None:
    shop = fulfillment
    manager, lawyer = shop.people["Алина"], shop.people["Юрист Вера"]
    timur, rustam = shop.people["Кладовщик Тимур"], shop.people["Кладовщик Рустам"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(shop, manager)

    # A new client: the contract pipeline starts by itself.
    task = await lawyer.expect("Подготовьте договор с клиентом")
    assert "ООО Ромашка" in task["text"] and "Детские игрушки" in task["text"]
    await lawyer.press("Готово", task)
    await lawyer.document(b"%PDF contract", "contract.pdf")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))
    task = await manager.expect("Подпишите договор с клиентом")
    await manager.press("Договор подписан", task)
    await manager.document(b"%PDF signed", "signed.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    # The company is marked; the receiving request starts with every field carried over.
    async with shop.core.sessionmaker() as session:
        company = (await session.execute(select(Company).where(Company.name == "ООО Ромашка"))).scalar_one()
        assert company.data == {"contract_signed": True}
        receiving = (await session.execute(select(Case).where(Case.process == "fulfillment_receiving"))).scalar_one()
        contract = (await session.execute(select(Case).where(Case.process == "new_client_contract"))).scalar_one()
        quote = (await session.execute(select(Case).where(Case.process == "fulfillment_quote"))).scalar_one()
    assert receiving.parent_id == contract.id and contract.parent_id == quote.id
    assert receiving.data["client"]["name"] == "ООО Ромашка"
    for name in ("contact_name", "goods_description", "monthly_volume", "offer_file"):
        assert receiving.data[name] == quote.data[name], name

    note = await manager.expect("Заявка на приёмку товара создана")
    await manager.press("Дело", note)
    card = await manager.expect("Этап: Новая заявка")
    assert "Детские игрушки" in card["text"] and "1200" in card["text"].replace("\u00a0", "").replace(" ", "")
    # Sending to the warehouse needs the units and the date: asked here, then the move completes.
    await manager.press("Направить заявку на склад", card)
    await manager.expect("Количество единиц")
    await manager.send("1200")
    await manager.expect("Дата работ на складе")
    await manager.send("23.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    # Only the worker who took the task may run its timer: a forged «start» from someone else is refused.
    card = await rustam.wait_for("Примите товар и сделайте пересчёт", "Нажмите «✋ Взять»")
    task_id = card["inline_keyboard"][0][0]["callback_data"].split(":")[2]
    answer = await rustam.press_data(card["message_id"], f"t:work:{task_id}:start", unchecked=True)
    assert answer and "Сначала возьмите задачу" in answer, answer
    await warehouse_work(shop, timur, minutes=[45, 20], comment="Пересчитано, расхождений нет")

    # The client asks for corrections: back to the warehouse with the remarks.
    task = await manager.expect("Согласуйте с клиентом результат склада")
    await manager.press("Есть правки", task)
    await manager.expect("Правки клиента")
    await manager.send("Пересчитайте коробку B")
    await manager.expect("Дата работ на складе")  # the rework gets its own date, so it is not overdue at once
    await manager.send("24.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    card = await timur.wait_for("Правки клиента: Пересчитайте коробку B", "Нажмите «✋ Взять»")
    assert "Пересчитайте коробку B\nНажмите «Начать работу»" in card["text"], card["text"]  # two lines, not one
    await warehouse_work(shop, timur, minutes=[10], comment="Коробка B: 600, верно")
    await manager.press("Клиент согласовал", await manager.expect("Согласуйте с клиентом результат склада"))
    await manager.press("Готово", await manager.expect("Выставьте и отправьте клиенту счёт"))
    await manager.document(b"%PDF invoice", "invoice.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("Отметьте оплату счёта")
    # The client is slow to pay: the day before the deadline the reminder brings her card back with one press,
    # wherever it has gone up the chat meanwhile.
    async with shop.core.sessionmaker() as session:
        payment = (await session.execute(select(Task.id).where(Task.key == "payment_received"))).scalar_one()
        remind = select(Timer.due_at).where(Timer.task_id == payment, Timer.kind == "remind")
        reminded_at = (await session.execute(remind)).scalar_one()
    await shop.move_to(reminded_at + timedelta(minutes=1))
    reminder = await manager.expect("Напоминание", "Отметьте оплату счёта")
    assert manager.buttons(reminder) == ["📋 Открыть задачу", "📁 Дело"], manager.buttons(reminder)
    await manager.press("Открыть задачу", reminder)
    await manager.press("Оплачено", await manager.expect("Отметьте оплату счёта", "Эта задача — ваша"))
    await manager.expect("Оплата получена")

    # Time is kept per person and task: 45 + 20 + 10 minutes, breaks excluded.
    await manager.send(f"/case {receiving.id}")  # closed by now: «Мои дела» keeps it behind «Закрытые дела»
    card = await manager.expect("Время работы")
    assert "Кладовщик Тимур" in card["text"] and "1 ч 15 мин" in card["text"], card["text"]
    await shop.admin.send("/worktime")
    report = await shop.admin.expect("Кладовщик Тимур")
    assert "1 ч 15 мин" in report["text"], report["text"]


async def test_existing_client_goes_straight_to_receiving(fulfillment: Harness) -> None:
    shop = fulfillment
    manager = shop.people["Алина"]
    async with shop.core.sessionmaker() as session, session.begin():
        await companies.create(session, "ООО Старый клиент", None, shop.clock.now(), {"contract_signed": True})
    await new_quote(manager, "ООО Старый клиент", create=False)
    await through_the_director(shop, manager)
    await manager.expect("Заявка на приёмку товара создана")
    async with shop.core.sessionmaker() as session:
        processes = sorted((await session.execute(select(Case.process))).scalars())
    assert processes == ["fulfillment_quote", "fulfillment_receiving"]  # no contract pipeline


async def test_refusal_needs_a_reason(fulfillment: Harness) -> None:
    shop = fulfillment
    manager = shop.people["Алина"]
    await new_quote(manager, "ООО Ромашка", create=True)
    card = await manager.expect("Этап: Новая заявка на просчёт")
    await manager.press("Отказ", card)
    question = await manager.expect("Причина отказа")
    assert "Пропустить" not in " ".join(manager.buttons(question))
    # The reason is asked right here: no task card besides, and nothing says the deal is refused before it is.
    assert [m["text"] for m in await manager.bot_messages() if "Отказ КП" in (m.get("text") or "")] == []
    # Leaving the reason unsaid is «Передумать», not a bare «Отмена» that reads as cancelling the deal itself.
    assert "↩️ Передумать" in manager.buttons(question) and "✖️ Отмена" not in manager.buttons(question)
    await manager.press("Передумать", question)  # no reason, no refusal: the deal stays where it was
    await manager.expect("Отменено: дело остаётся на этапе «Новая заявка на просчёт»")
    async with shop.core.sessionmaker() as session:
        quote = (await session.execute(select(Case))).scalar_one()
        forms = (await session.execute(select(Task).where(Task.key == MOVE_TASK, Task.status == "open"))).all()
    assert quote.status == "active" and quote.stage == "new"
    assert forms == []  # the refusal's form does not wait in «Мои задачи» for a reason nobody means to give

    await manager.press("Отказ", await manager.find("Этап: Новая заявка на просчёт"))
    await manager.expect("Причина отказа")
    await manager.send("Клиент выбрал другой склад")
    await manager.press("Подтвердить", await manager.expect("Проверьте", "Переход на этап «Отказ КП»"))
    await manager.expect("Дело закрыто")
    async with shop.core.sessionmaker() as session:
        quote = (await session.execute(select(Case))).scalar_one()
    assert quote.status == "done" and quote.result == "failure"
    assert quote.data["refusal_reason"] == "Клиент выбрал другой склад"


async def test_refusal_reasons_are_reportable_and_any_case_can_be_looked_up(fulfillment: Harness) -> None:
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await manager.press("Отказ", await manager.expect("Этап: Новая заявка на просчёт"))
    await manager.send("Дорого")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("Дело закрыто")

    await director.send("/case 1")
    card = await director.expect("№1")
    assert "Отказ КП" in card["text"] and "Дорого" in card["text"]

    await shop.admin.send("/export fulfillment_quote")
    export = (await shop.admin.expect("Заявка на просчёт заказа: 1"))["document"]
    sheet = load_workbook(io.BytesIO(await shop.admin.download(export["url"]))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    reason_column = rows[0].index("Причина отказа")
    assert rows[1][reason_column] == "Дорого" and rows[1][2] == "Отказ КП"
    # Where each case stands and when it began and ended: a status, and dates Excel sorts (not text).
    status, created, closed = (rows[0].index(h) for h in ("Статус", "Создано", "Закрыто"))
    assert rows[1][status] == "Завершено"  # the word the panel says it with
    assert isinstance(rows[1][created], datetime) and isinstance(rows[1][closed], datetime)
    assert rows[1][created] <= rows[1][closed]


async def test_a_warehouse_date_is_a_working_day(fulfillment: Harness) -> None:
    """«Завтра» said on a Friday is a Saturday: nobody works at the warehouse then, so the date is refused with the
    next working day named, and the worker's task is due on a day people work."""
    shop = fulfillment
    manager = shop.people["Алина"]
    shop.clock.set(datetime(2026, 12, 25, 7, 0, tzinfo=UTC))  # Friday 10:00 in Moscow
    await to_the_warehouse_date(shop, "Заявка на приёмку товара", "300")
    await manager.send("завтра")
    # Asked again, what is wrong said above the question.
    await manager.expect("26.12.2026 — нерабочий день; ближайший рабочий день — 28.12.2026", "Дата работ на складе")
    await manager.send("28.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    card = await shop.people["Кладовщик Тимур"].wait_for("Примите товар и сделайте пересчёт", "Нажмите «✋ Взять»")
    assert "Срок: 28.12.2026 18:00" in card["text"], card["text"]


async def test_a_moved_warehouse_date_moves_the_workers_deadline(fulfillment: Harness) -> None:
    """The client asks for the processing three days later: the worker's task is due on the new date, he hears it
    as a message of its own, and he is neither overdue nor escalated on the date that was dropped."""
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    await at_the_warehouse(shop, "Заявка на обработку товара", "1800", "23.12.2026")
    card = await timur.wait_for("Обработайте товар по заявке", "Срок: 23.12.2026 18:00")
    assert "дата 23.12.2026" in card["text"], card["text"]
    # Where the request is, not the manager's own step («Направить заявку на склад») he might think is his.
    assert "Этап: На складе" in card["text"], card["text"]

    await correct_warehouse_date(manager, "25.12.2026")

    note = await timur.expect("Дата работ на складе — теперь 25.12.2026")
    assert "Срок задачи «Обработайте товар по заявке» перенесён на 25.12.2026 18:00" in note["text"], note["text"]
    card = await timur.wait_for("Обработайте товар по заявке", "Срок: 25.12.2026 18:00")
    assert "дата 25.12.2026" in card["text"], card["text"]
    # The manager changed it herself: she is not told what she has just done.
    assert not await manager.find("перенесён на 25.12.2026")

    await shop.move_to(datetime(2026, 12, 23, 15, 5, tzinfo=UTC))  # 23.12 18:05 in Moscow: the old deadline
    assert not await timur.find("Просрочено")
    async with shop.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "warehouse_work"))).scalar_one()
    assert task.due_at == datetime(2026, 12, 25, 15, 0, tzinfo=UTC)
    await shop.move_to(datetime(2026, 12, 25, 15, 5, tzinfo=UTC))
    await timur.expect("Просрочено", "Обработайте товар по заявке")


async def test_a_client_is_offered_where_its_business_works_not_to_another_business(fulfillment: Harness) -> None:
    """One bot runs several businesses' processes (`konveyer demo`): the warehouse's manager looking for a client is
    not offered the meat plant's client (added in one of its deals) nor a dealer of the representative office —
    only the companies of her own business and those an admin keeps for everyone. The client she adds in a quote is
    her business's: offered again in its receiving request."""
    shop = fulfillment
    manager = shop.people["Алина"]
    now = shop.clock.now()
    async with shop.core.sessionmaker() as session, session.begin():
        await companies.create(session, "ООО Альфа Мясо", None, now, directory="meat_deal")
        await companies.create_organisation(session, "dealer", "ООО Альфа Дилер", None, now, {})
        await companies.create(session, "ООО Альфа Склад", None, now, {"contract_signed": True})
    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка на просчёт заказа", await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")
    await manager.send("Альфа")
    offered = await manager.expect("«Альфа»: это одна из этих компаний?")
    assert manager.buttons(offered) == ["ООО Альфа Склад", "➕ Создать «Альфа»", "✏️ Ввести заново"], manager.buttons(
        offered
    )
    await manager.send("ООО Альфа Мясо")  # typed whole: not taken as the meat plant's, a new one is offered
    await manager.press("Создать", await manager.expect("Компании «ООО Альфа Мясо» пока нет. Создать?"))
    await manager.expect("Контактное лицо")
    async with shop.core.sessionmaker() as session:
        added = (await session.execute(select(Company).where(Company.name == "ООО Альфа Мясо"))).scalars().all()
    assert sorted(c.directory or "" for c in added) == ["fulfillment_clients", "meat_deal"]

    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка на приёмку товара", await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")
    await manager.send("Альфа")
    offered = await manager.expect("«Альфа»: это одна из этих компаний?")
    assert manager.buttons(offered) == ["ООО Альфа Мясо", "ООО Альфа Склад", "➕ Создать «Альфа»", "✏️ Ввести заново"]


async def test_a_corrected_warehouse_date_is_news_to_whoever_follows_the_request(fulfillment: Harness) -> None:
    """The client asks for the processing two days later and Алина corrects the date on the request's card. The
    director, who follows the request, hears it in his own language: what changed, from what, to what, and who did
    it. The worker, who follows it too, hears it once — as his task's new deadline. Алина is not told what she has
    just done, and nobody reads the field's key."""
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    director = await shop.person("Director Grace", "general_director", language="en")
    await at_the_warehouse(shop, "Заявка на обработку товара", "1800", "23.12.2026")
    await timur.wait_for("Обработайте товар по заявке", "Срок: 23.12.2026 18:00")
    for follower, number, follow in ((director, "#1", "Follow the case"), (timur, "№1", "Следить за делом")):
        await follower.send("/case 1")
        await follower.press(follow, await follower.card(number, button=follow))

    await correct_warehouse_date(manager, "25.12.2026")

    told = await director.expect("Warehouse date is now Dec 25, 2026, was Dec 23, 2026 (Алина).")
    assert "ООО Старый клиент" in told["text"], told["text"]
    note = await timur.expect("Дата работ на складе — теперь 25.12.2026")
    assert "Срок задачи «Обработайте товар по заявке» перенесён на 25.12.2026 18:00" in note["text"], note["text"]
    await shop.settle()
    texts = {p.name: [m.get("text") or "" for m in await p.bot_messages()] for p in (manager, timur, director)}
    assert not [t for t in texts["Алина"] if "было 23.12.2026" in t or "теперь 25.12.2026" in t]  # she did it
    assert not [t for t in texts["Кладовщик Тимур"] if "было 23.12.2026" in t]  # one message, the deadline's
    assert not [t for said in texts.values() for t in said if "work_date" in t]


@pytest.mark.parametrize(
    ("process", "work", "result"),
    [
        ("Заявка на обработку товара", "Обработайте товар по заявке", "Файл с результатом обработки"),
        ("Заявка на отгрузку", "Соберите и отгрузите товар", "Файл с результатом сборки"),
    ],
)
async def test_after_the_clients_corrections_the_warehouse_reports_its_new_pass(
    fulfillment: Harness, process: str, work: str, result: str
) -> None:
    """The client does not accept the warehouse's result and the request goes back with corrections: the worker
    does the job again and attaches a new result file and a new comment — the last pass's file and words are not
    offered to keep (the manager would be sent the old count), as in receiving. The earlier ones stay on the card.
    The file is asked for as what this work leaves (the processing's result, the picking's), not as a recount:
    nothing is recounted when goods are processed or shipped."""
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    await at_the_warehouse(shop, process, "200", "22.12.2026")

    async def warehouse_pass(file_name: str, comment: str) -> None:
        card = await timur.card(work, button="Взять")
        assert f"приложите {result.lower()} и комментарий" in card["text"], card["text"]
        await timur.press("Взять", card)
        await timur.press("Готово", await timur.card(work, "Вы взяли", button="Готово"))
        question = await timur.expect(result)
        assert "Оставить как есть" not in " ".join(timur.buttons(question)), timur.buttons(question)
        await timur.document(b"sku;qty\nA;200\n", file_name)
        question = await timur.expect("Комментарий склада")
        assert "Оставить как есть" not in " ".join(timur.buttons(question)), timur.buttons(question)
        await timur.send(comment)
        await timur.press("Подтвердить", await timur.expect("Проверьте"))

    await warehouse_pass("pass1.csv", "Одной коробки не хватает")
    check = await manager.card("Согласуйте с клиентом результат склада", "Одной коробки не хватает")
    await manager.press("Есть правки", check)
    await manager.expect("Правки клиента")
    await manager.send("Коробка нашлась у клиента, пересчитайте")
    await manager.press("Оставить как есть", await manager.expect("Дата работ на складе"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    await warehouse_pass("pass2.csv", "Всё на месте")
    check = await manager.card("Согласуйте с клиентом результат склада", "Комментарий склада: Всё на месте")
    await manager.press("Дело", check)
    card = await manager.expect(f"{result}: pass2.csv")
    assert "ранее: pass1.csv" in card["text"], card["text"]


async def test_a_recount_file_sent_to_the_chat_opens_the_task_that_asks_for_it(fulfillment: Harness) -> None:
    """Тимур, at work, sends the recount file to the chat as one does, before «Готово»: the task under «Сохранил»
    asks its questions at once with that file offered — not its card again, to press «Готово» on and then «Use»."""
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    await at_the_warehouse(shop, "Заявка на приёмку товара", "300", "23.12.2026")
    await timur.press("Взять", await timur.wait_for("Примите товар и сделайте пересчёт", "Нажмите «✋ Взять»"))
    await timur.press("Начать работу", await timur.wait_for("Примите товар", "Вы взяли"))
    await timur.wait_for("Примите товар", "В работе с")

    await timur.document(b"sku;qty\nA;300\n", "recount.csv")
    await timur.press("Примите товар и сделайте пересчёт", await timur.expect("Сохранил", "Файл нужен"))
    question = await timur.expect("Файл пересчёта", "Использовать файл, который вы прислали раньше?")
    await timur.press("Использовать", question)
    await timur.expect("Комментарий склада")
    await timur.send("Всё сошлось, две коробки мятые")
    await timur.press("Подтвердить", await timur.expect("Проверьте", "recount.csv"))
    task = await manager.expect("Согласуйте с клиентом результат склада")
    assert "две коробки мятые" in task["text"], task["text"]


async def test_words_typed_with_a_task_open_point_to_the_task(fulfillment: Harness) -> None:
    """Тимур, at work, types his result into the chat instead of pressing «Готово»: not just «not understood» and the
    menu, but his open task under it, whose card a press brings back with its buttons."""
    shop = fulfillment
    timur = shop.people["Кладовщик Тимур"]
    await at_the_warehouse(shop, "Заявка на приёмку товара", "300", "23.12.2026")
    await timur.press("Взять", await timur.wait_for("Примите товар и сделайте пересчёт", "Нажмите «✋ Взять»"))

    await timur.send("всё сошлось, две коробки мятые")
    said = await timur.expect("Не удалось понять сообщение")
    assert "Ваши задачи" in said["text"], said["text"]
    await timur.press("Примите товар и сделайте пересчёт", said)
    card = await timur.expect("Примите товар и сделайте пересчёт", "Вы взяли")
    assert "▶️ Начать работу" in timur.buttons(card), timur.buttons(card)
