"""Seed 2, Turmyasovo: one full week of the pre-order cycle over three deals, and the deal pipeline after it.

Monday: managers register three deals. Thursday 09:00 the cycle starts by itself — the bot was down that
morning, so it starts once when it is back. Every block of the cycle is worked in chat; on the general
director's confirmation each manager is told which deals to move. The prepaid deal goes all the way to
«Сделка закрыта», the postpaid one waits at «Проверено СБ» for the commercial director to let it go on credit,
the third is dropped.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from db.models import Case
from tests.chat import Person, start_a_deal_with_a_new_client
from tests.conftest import Harness

MSK = 3  # hours ahead of UTC


def msk(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour - MSK, minute, tzinfo=UTC)


@pytest.fixture
async def plant(harness: Harness) -> Harness:
    for name, role in [
        ("Антон", "sales_manager"),
        ("Белла", "sales_manager"),
        ("Кирилл", "commercial_director"),
        ("Дмитрий", "deputy_director"),
        ("Пётр", "production_head_1"),
        ("Павел", "production_head_2"),
        ("Лев", "logistics_head"),
        ("Маргарита", "production_manager"),
        ("Григорий", "general_director"),
        ("Фаина", "finance_director"),
        ("Бэлла", "accountant"),
        ("Юлия", "lawyer"),
        ("Семён", "security_head"),
        ("Олег", "operator"),
    ]:
        await harness.person(name, role)
    return harness


async def new_deal(
    manager: Person, client: str, p1: str, p2: str, amount: str, ship: str, terms: str, receivables: str | None
) -> None:
    await start_a_deal_with_a_new_client(manager, client)
    for answer in (p1, p2, amount, ship):
        await manager.expect("✏️")
        await manager.send(answer)
    await manager.press(terms, await manager.expect("Условия оплаты"))
    question = await manager.expect("Дебиторская задолженность")
    if receivables is None:
        await manager.press("Пропустить", question)
    else:
        await manager.send(receivables)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("Предварительная заявка")


async def done(person: Person, title: str, *answers: str) -> None:
    """Press «Готово» on a task card and give the answers it asks for, then confirm."""
    await person.press("Готово", await person.card(title, button="Готово"))
    if answers:
        for answer in answers:
            await person.expect("✏️")
            await person.send(answer)
        await person.press("Подтвердить", await person.expect("Проверьте"))


async def upload(person: Person, title: str, content: bytes, filename: str) -> None:
    await person.press("Готово", await person.card(title, button="Готово"))
    await person.expect("✏️")
    await person.document(content, filename)
    await person.press("Подтвердить", await person.expect("Проверьте"))


async def make_all(head: Person, production: str) -> None:
    """A production head confirms his production makes all its report's kilos."""
    card = await head.card(f"производство {production} выпустит", button="Выпустим всё")
    await head.press("Выпустим всё", card)


async def open_deal(person: Person, fragment: str) -> dict:
    await person.send("📁 Мои дела")
    await person.press(fragment, await person.expect("Ваши дела"))
    return await person.expect("📁")


async def test_a_full_week(plant: Harness) -> None:
    h = plant
    p = h.people
    anton, bella, kirill, general = p["Антон"], p["Белла"], p["Кирилл"], p["Григорий"]

    # Monday: three deals at «Предварительная заявка».
    # Volumes typed as the managers write them, with the field's unit («1 500 кг»): taken as the numbers.
    await new_deal(anton, "ООО Вкусный двор", "1 500 кг", "300 кг", "420 000", "29.12.2026", "Предоплата", "15 000")
    await new_deal(bella, "ИП Смирнов", "200", "0", "150 000", "30.12.2026", "Отсрочка", None)
    await new_deal(anton, "ООО Закрылись", "100", "100", "90 000", "30.12.2026", "Предоплата", None)

    # Wednesday evening the bot goes down; it is back on Thursday at 13:00, after the 09:00 start.
    await h.app.stop()
    h.clock.set(msk(24, 13))
    await h.start_app()
    assert await h.tick() >= 1
    assert await h.tick() == 0
    async with h.core.sessionmaker() as session:
        cycles = (
            await session.execute(select(func.count()).select_from(Case).where(Case.process == "weekly_orders"))
        ).scalar_one()
        cycle_id = (await session.execute(select(Case.id).where(Case.process == "weekly_orders"))).scalar_one()
    assert cycles == 1  # once, not never and not twice

    # Thursday: the commercial director reviews a report made right now, due Thursday 18:00.
    card = await kirill.expect("Рассмотрите предварительные заявки")
    assert "24.12.2026 18:00" in card["text"]
    assert "Предварительные заявки: 3 дела" in card["text"], card["text"]  # a number says what it counts
    for client in ("ООО Вкусный двор", "ИП Смирнов", "ООО Закрылись"):
        assert client in card["text"], client
    # Each deal's line says what its numbers are: which production's kilos, which sum is the deal's, which the debt.
    line = "• №1 · ООО Вкусный двор · Пр. 1, кг: 1 500 · Пр. 2, кг: 300 · Сумма: 420 000,00 ₽ · Отгрузка: 29.12.2026"
    assert line + " · Дебиторка: 15 000,00 ₽ · Антон" in card["text"].replace("\u00a0", " "), card["text"]
    await h.settle()
    (report,) = [d for d in await kirill.documents() if d["file_name"].endswith(".xlsx")]
    sheet = load_workbook(io.BytesIO(await kirill.download(report["url"]))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == ["№", "Клиент"]
    assert {r[1] for r in rows[1:4]} == {"ООО Вкусный двор", "ИП Смирнов", "ООО Закрылись"}
    assert [r[4] for r in rows[1:4]] == [420000, 150000, 90000]  # amounts are numbers Excel can sum
    # «Итого» stands under the columns it sums («Пр. 1, кг», «Пр. 2, кг», «Сумма»), not under «Клиент».
    assert rows[5][:5] == ["Итого", None, 1800, 400, 660000], rows[5]
    assert len(rows) == 6, rows

    # It reminds two hours before and escalates to the general director after 18:00.
    await h.move_to(msk(24, 16, 30))
    await kirill.expect("Напоминание", "Рассмотрите предварительные заявки")
    await h.move_to(msk(24, 18, 5))
    await kirill.expect("Просрочено")
    escalation = await general.expect("Эскалация")
    assert "Кирилл" in escalation["text"]
    await done(kirill, "Рассмотрите предварительные заявки")

    # Two productions confirm in parallel; the case waits for both, then logistics confirms both.
    # Each head's card says which production in words, not as the cycle's own entry («Начальник производства: …»).
    # Its buttons say what he answers: all of it, or less (how much is asked next).
    card = await p["Пётр"].card("Подтвердите, что производство №1 выпустит объёмы", button="Выпустим всё")
    assert "производство №1" in card["text"] and "Начальник производства" not in card["text"], card["text"]
    assert p["Пётр"].buttons(card)[:2] == ["✅ Выпустим всё", "⚠️ Выпустим меньше"], p["Пётр"].buttons(card)
    # Each head reads the kilos his production is asked for, the quantity he plans by, without opening the file.
    assert "объёмы из отчёта: 1 800 кг." in card["text"].replace("\u00a0", " "), card["text"]
    card = await p["Павел"].card("Подтвердите, что производство №2 выпустит объёмы", button="Выпустим всё")
    assert "объёмы из отчёта: 400 кг." in card["text"].replace("\u00a0", " "), card["text"]
    await make_all(p["Пётр"], "№1")
    assert not await p["Лев"].find("Подтвердите доставку")
    await make_all(p["Павел"], "№2")
    await done(p["Лев"], "Подтвердите доставку продукции производства №1")
    await done(p["Лев"], "Подтвердите доставку продукции производства №2")

    # Friday: purchase, price list; the commercial director must attach the price list as PDF.
    h.clock.set(msk(25, 10))
    # Her card says what «Готово» will ask for: a file to prepare, not a task that ends with the press.
    card = await p["Маргарита"].card("Сделайте расчёт закупки", button="Готово")
    assert "Понадобится: 📎 Расчёт закупки" in card["text"], card["text"]
    await upload(p["Маргарита"], "Сделайте расчёт закупки", b"calc", "purchase.xlsx")
    done_card = await p["Маргарита"].wait_for("Сделайте расчёт закупки", "Выполнено")
    assert "Понадобится" not in done_card["text"], done_card["text"]  # asked and answered: no longer said
    assert "Понадобится" not in (await general.card("Сформируйте прайс-лист", button="Готово"))["text"]
    await done(general, "Сформируйте прайс-лист")
    await kirill.press("Готово", await kirill.expect("приложите новый прайс в PDF"))
    await kirill.expect("Новый прайс-лист (PDF)")
    await kirill.document(b"PK docx", "price.docx")
    refused = await kirill.expect("⚠️")
    assert "pdf" in refused["text"]
    await kirill.document(b"%PDF-1.4 price", "price.pdf")
    await kirill.press("Подтвердить", await kirill.expect("Проверьте"))
    await p["Бэлла"].expect("Обновите цены в 1С")
    await h.settle()
    assert any(d["file_name"] == "price.pdf" for d in await p["Бэлла"].documents())  # sent on with the task
    # Every sales manager gets the new price list itself, with a line saying it is the new one.
    for manager in (anton, bella):
        await manager.expect("Новый прайс-лист")
        assert any(d["file_name"] == "price.pdf" for d in await manager.documents()), manager
    await done(p["Бэлла"], "Обновите цены в 1С")

    # Re-approval: corrections per production, revised and confirmed plans, logistics again.
    for n, words in ((1, "Без изменений."), (2, "Ромашка +200 кг на пр.2")):
        await kirill.press(
            "Заполнить", await kirill.card(f"производство {n}", "Соберите корректировки", button="Заполнить")
        )
        await kirill.expect("Корректировки менеджеров")
        await kirill.send(words)
        await kirill.press("Подтвердить", await kirill.expect("Проверьте"))
    # Each production head reads the corrections for his own production.
    card = await p["Павел"].card("Пересмотрите план закупки производства №2", button="Готово")
    assert "Ромашка +200 кг на пр.2" in card["text"] and "Без изменений" not in card["text"], card["text"]
    card = await p["Пётр"].card("Пересмотрите план закупки производства №1", button="Готово")
    assert "Без изменений." in card["text"] and "Ромашка" not in card["text"], card["text"]
    await done(p["Пётр"], "Пересмотрите план закупки производства №1")
    await done(p["Павел"], "Пересмотрите план закупки производства №2")
    await done(p["Пётр"], "Подтвердите обновлённый план производства №1")
    await done(p["Павел"], "Подтвердите обновлённый план производства №2")
    # The deputy director agrees the plans with the commercial director (the seed's participants): logistics waits
    # for him too.
    await h.settle()
    assert not await p["Лев"].find("Подтвердите доставку по обновлённому плану")
    await done(p["Дмитрий"], "Согласуйте обновлённые планы производства и закупки")
    await done(p["Лев"], "Подтвердите доставку по обновлённому плану производства №1")
    await done(p["Лев"], "Подтвердите доставку по обновлённому плану производства №2")

    # The general director confirms with every report of the cycle at hand, receivables included.
    card = await general.expect("Подтвердите закупки и отгрузки недели")
    # Totals read as the fields do anywhere else: a label keeps its commas, money is money, kilos are grouped.
    text = card["text"].replace("\u00a0", " ")
    assert "Дебиторка: 15 000,00 ₽" in text, text
    assert "Итог недели с дебиторкой: 3 дела" in text, text
    # The corrections named by production, each on its own line.
    assert "Производство 1: Без изменений.\nПроизводство 2: Ромашка +200 кг на пр.2" in text, text
    # The cycle's card names each production once.
    await general.send(f"/case {cycle_id}")
    cycle_card = await general.expect("Процесс:", "Производства")
    assert "Производство: №1" not in cycle_card["text"] and "№2" in cycle_card["text"], cycle_card["text"]
    assert "Сумма: 660 000,00 ₽" in text and "Пр. 1, кг: 1 800" in text and "Сумма сделки" not in text, text
    await h.settle()
    names = {d["file_name"] for d in await general.documents()}
    assert "purchase.xlsx" in names and "price.pdf" in names
    assert any(n.startswith("Итог недели") for n in names)
    await general.press("Готово", card)

    # Each manager hears which of their deals to move on.
    note = await anton.expect("Переведите в «Заявка подтверждена»")
    assert "ООО Вкусный двор" in note["text"] and "ООО Закрылись" in note["text"]
    assert "ИП Смирнов" not in note["text"]
    # Each deal listed opens from the message itself.
    assert [b for b in anton.buttons(note) if "ООО Вкусный двор" in b], anton.buttons(note)
    await anton.press("ООО Закрылись", note)
    await anton.expect("📁", "ООО Закрылись", "Этап: Предварительная заявка")
    note = await bella.expect("Переведите в «Заявка подтверждена»")
    assert "ИП Смирнов" in note["text"]

    # The finance director's weekly report closes the cycle.
    await p["Фаина"].press("Заполнить", await p["Фаина"].card("Отчёт о доходах и расходах", button="Заполнить"))
    await p["Фаина"].send("3 200 000")
    await p["Фаина"].send("2 750 000")
    await p["Фаина"].press("Подтвердить", await p["Фаина"].expect("Проверьте"))
    await kirill.expect("Дело закрыто", "Сбор заявок")

    # The third deal is dropped, with a reason.
    card = await open_deal(anton, "ООО Закрылись")
    # The deal's own cancel, which asks the reason; no second, reasonless «Отменить дело» beside it.
    assert "Отменить дело" not in " ".join(anton.buttons(card)), anton.buttons(card)
    await anton.press("Отменить сделку", card)
    await anton.expect("Причина отмены")
    await anton.send("Клиент закрылся")
    await anton.press("Подтвердить", await anton.expect("Проверьте"))

    # The prepaid deal through the pipeline.
    deal_card = await open_deal(anton, "ООО Вкусный двор")
    await anton.press("Заявка подтверждена", deal_card)
    # Pressed again on the same card, the button says where the deal is, not that moving it is not his to do.
    assert await anton.press("Заявка подтверждена", deal_card) == "Дело уже на этапе «Заявка подтверждена»."
    # The payment terms read as part of the sentence, not a label capitalised mid-way («…, Предоплата.»).
    card = await p["Юлия"].card("Подготовьте договор", "ООО Вкусный двор", button="Готово")
    assert "условия оплаты: предоплата." in card["text"], card["text"]
    await upload(p["Юлия"], "Подготовьте договор", b"%PDF contract", "contract.pdf")
    await done(anton, "Отправьте договор клиенту")
    await done(anton, "Выставьте счёт на предоплату в 1С", "СЧ-777")
    card = await p["Семён"].card("Проверьте клиента", "ООО Вкусный двор", button="Готово")
    assert "ООО Вкусный двор, сумма 420 000,00 ₽, дебиторка 15 000,00 ₽." in card["text"].replace("\u00a0", " ")
    await done(p["Семён"], "Проверьте клиента")
    await p["Бэлла"].press("Оплата поступила", await p["Бэлла"].card("Проверьте оплату", button="Оплата"))
    card = await open_deal(anton, "ООО Вкусный двор")
    # The stage says where the deal stands (paid, to ship), not whose check it passed.
    assert "Этап: Готово к отгрузке" in card["text"], card["text"]
    # No task yet and none due: the card says what it waits for, or the deal would look stuck for days.
    assert "⏳ Ждёт до 29.12.2026 08:00, затем начнётся работа этапа." in card["text"], card["text"]
    answer = await anton.press("Заявка подтверждена", deal_card)  # the old card, days later
    assert answer == "Дело уже сдвинулось: сейчас оно на этапе «Готово к отгрузке», эта кнопка устарела."

    # The postpaid deal: no invoice, no payment check; at «Проверено СБ» the commercial director gets a task to let
    # it ship on credit, with its button and deadline — not a notice that he is to find a button on the case.
    await bella.press("Заявка подтверждена", await open_deal(bella, "ИП Смирнов"))
    await upload(p["Юлия"], "Подготовьте договор", b"%PDF contract 2", "contract2.pdf")
    await done(bella, "Отправьте договор клиенту")
    # No receivables given: the card says nothing of them (not «дебиторка  ₽»).
    card = await p["Семён"].card("Проверьте клиента (отсрочка платежа)", button="Готово")
    assert "ИП Смирнов, сумма 150 000,00 ₽." in card["text"].replace("\u00a0", " ") and "дебиторка" not in card["text"]
    await done(p["Семён"], "Проверьте клиента (отсрочка платежа)")
    await h.settle()
    assert not await bella.find("Выставьте счёт")
    assert len([m for m in await p["Бэлла"].bot_messages() if "Проверьте оплату" in (m["text"] or "")]) == 1
    release = await kirill.card("Отпустите сделку в отгрузку в отсрочку", "ИП Смирнов", button="Отгрузка в отсрочку")
    assert "Срок:" in release["text"] and "отгрузка 30.12.2026" in release["text"], release["text"]
    assert not await kirill.find("Коммерческий директор отпускает")

    # The shipping date moves from 29.12 to 30.12: the wait moves with it.
    card = await open_deal(anton, "ООО Вкусный двор")
    await anton.press("Плановая дата отгрузки", card)
    await anton.expect("Плановая дата отгрузки")
    await anton.send("30.12.2026")
    await anton.press("Подтвердить", await anton.expect("Проверьте"))
    assert "⏳ Ждёт до 30.12.2026 08:00" in (await open_deal(anton, "ООО Вкусный двор"))["text"]
    await h.move_to(msk(29, 9))
    assert not await p["Олег"].find("Отгрузите продукцию")  # not before the planned date
    await h.move_to(msk(30, 8, 1))
    card = await p["Олег"].card("Отгрузите продукцию производства 1", button="Готово")
    assert "ООО Вкусный двор: 1 500 кг." in card["text"].replace("\u00a0", " "), card["text"]
    await p["Олег"].press("Готово", card)
    await p["Олег"].expect("Номер накладной, производство 1")  # the number: the documents are asked for by it
    await p["Олег"].send("ТН-1")
    await p["Олег"].press("Подтвердить", await p["Олег"].expect("Проверьте"))
    await done(p["Олег"], "Отгрузите продукцию производства 2", "ТН-2")
    task = await anton.expect("Соберите закрывающие документы")
    assert "ТТН по каждой накладной (ТН-1, ТН-2), акт сверки" in task["text"], task["text"]
    await anton.press("Готово", task)
    await anton.document(b"%PDF upd", "upd.pdf")
    await anton.document(b"%PDF ttn", "ttn.pdf")
    await anton.press("Готово", await anton.expect("Закрывающие документы", "2"))
    await anton.press("Подтвердить", await anton.expect("Проверьте"))
    await anton.expect("Дело закрыто", "ООО Вкусный двор")

    async with h.core.sessionmaker() as session:
        stages = dict((await session.execute(select(Case.title, Case.stage).where(Case.process == "meat_deal"))).all())
    assert stages == {
        "ООО Вкусный двор, отгрузка 30.12.2026": "closed",
        "ИП Смирнов, отгрузка 30.12.2026": "sb_checked",
        "ООО Закрылись, отгрузка 30.12.2026": "dropped",
    }
    # The commercial director lets the postpaid deal go: it is ready to ship, as a paid one is.
    await kirill.press("Отгрузка в отсрочку", release)
    await h.settle()
    async with h.core.sessionmaker() as session:
        stage = (await session.execute(select(Case.stage).where(Case.title.startswith("ИП Смирнов")))).scalar_one()
    assert stage == "accountant_checked"


async def test_a_planned_shipping_date_is_a_working_day_of_a_week_to_come(plant: Harness) -> None:
    """A pre-order is for the week after the one it is collected in (Thursday's cycle plans next week's production
    and delivery): a day already gone, or one of this week, comes before any plan has it — refused, the earliest day
    named; a Sunday, a day the plant does not ship."""
    anton = plant.people["Антон"]
    await start_a_deal_with_a_new_client(anton, "ООО Мясной двор")
    for answer in ("1500", "0", "450 000"):
        await anton.expect("✏️")
        await anton.send(answer)
    await anton.expect("Плановая дата отгрузки")
    await anton.send("18.12.2026")  # today is Monday 21.12.2026
    early = "Дата не может быть раньше следующей недели: самый ранний день — 28.12.2026."
    await anton.expect(early, "Плановая дата отгрузки")  # asked again
    await anton.send("сегодня")
    await anton.expect(early, "Плановая дата отгрузки")
    await anton.send("03.01.2027")
    await anton.expect("03.01.2027 — нерабочий день; ближайший рабочий день", "Плановая дата отгрузки")
    await anton.send("28.12.2026")
    await anton.expect("Условия оплаты")


async def test_a_week_without_pre_orders_asks_no_one_to_confirm_volumes(plant: Harness) -> None:
    """No deal at «Предварительная заявка» on Thursday: the commercial director sees that there are none, and the
    cycle goes to the finance director's report of the week — the production heads are not asked to confirm the
    volumes of an empty report, nor logistics to deliver them."""
    h, p = plant, plant.people
    kirill = p["Кирилл"]
    await h.move_to(msk(24, 9, 1))
    card = await kirill.expect("Рассмотрите предварительные заявки")
    assert "Предварительные заявки: 0 дел" in card["text"], card["text"]
    # Started by the clock in his name: its card says so, not that he started it.
    await kirill.send("/case 1")
    assert "Инициатор: запуск по расписанию" in (await kirill.expect("Процесс:", "Инициатор:"))["text"]
    await done(kirill, "Рассмотрите предварительные заявки")
    await p["Фаина"].card("Отчёт о доходах и расходах", button="Заполнить")
    await h.settle()
    for person, words in ((p["Пётр"], "Подтвердите, что производство"), (p["Павел"], "Подтвердите, что производство"),
                          (p["Лев"], "Подтвердите доставку"), (p["Маргарита"], "Сделайте расчёт закупки")):
        assert not await person.find(words), words


async def test_the_weeks_summary_reads_in_each_readers_language(plant: Harness) -> None:
    """The commercial director reads English: the week's summary on his task and on the cycle's card is in English
    («Pre-orders: 1 case», «Prod. 1, kg: 1,500», «Amount: 420,000.00 ₽»), while the finance director reads the same
    cycle's card in Russian. The Excel file is the company's, in Russian, for both."""
    h, p = plant, plant.people
    kirill, faina = p["Кирилл"], p["Фаина"]
    await kirill.send("/lang")
    await kirill.expect("Language: English.")
    await new_deal(p["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await h.move_to(msk(24, 9, 1))
    card = await kirill.expect("Review the pre-orders")
    text = card["text"].replace("\u00a0", " ")
    assert "Pre-orders: 1 case" in text and "Prod. 1, kg: 1,500" in text and "Amount: 420,000.00 ₽" in text, text
    assert "Предварительные заявки:" not in text and "Сумма:" not in text, text
    # A deal's line: the client as typed, its date and money as English writes them, each figure named.
    line = "#1 · ООО Вкусный двор · Prod. 1, kg: 1,500 · Prod. 2, kg: 300 · Amount: 420,000.00 ₽ · Shipping: "
    line += "Dec 29, 2026"
    assert line in text, text
    await kirill.send("/case 2")
    assert "Summary: Pre-orders: 1 case" in (await kirill.expect("Process:", "Summary:"))["text"]
    await faina.send("/case 2")
    russian = (await faina.expect("Процесс:", "Сводка:"))["text"].replace("\u00a0", " ")
    assert "Сводка: Предварительные заявки: 1 дело" in russian and "Сумма: 420 000,00 ₽" in russian, russian
    await h.settle()
    assert any(d["file_name"].startswith("Предварительные заявки") for d in await kirill.documents())


async def test_the_managers_correct_their_pre_orders_and_the_heads_confirm_the_updated_plans(plant: Harness) -> None:
    """Friday's re-approval: once the new prices are in 1C, each manager is told which of their pre-orders to check
    with the clients and correct on the deal (the seed's plan-correction tasks «по всем менеджерам»); the production
    heads then confirm the updated plan — the pre-orders as corrected, made into a report and attached to their
    cards and to logistics' — not a plan nobody shows them. The general director is asked to make the price list,
    as the seed says, not to approve one no one has made yet."""
    h, p = plant, plant.people
    anton, kirill, general, lev = p["Антон"], p["Кирилл"], p["Григорий"], p["Лев"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    h.clock.set(msk(23, 10))
    await kirill.send("▶️ Начать процесс")
    await kirill.press("Сбор предварительных заявок", await kirill.expect("Какой процесс"))
    await done(kirill, "Рассмотрите предварительные заявки")
    await make_all(p["Пётр"], "№1")
    await make_all(p["Павел"], "№2")
    await done(lev, "Подтвердите доставку продукции производства №1")
    await done(lev, "Подтвердите доставку продукции производства №2")
    await upload(p["Маргарита"], "Сделайте расчёт закупки", b"calc", "purchase.xlsx")
    card = await general.card("Сформируйте прайс-лист по подтверждённым планам", button="Готово")
    assert "коммерческий директор разошлёт менеджерам" in card["text"], card["text"]
    await done(general, "Сформируйте прайс-лист")
    await upload(kirill, "приложите новый прайс в PDF", b"%PDF-1.4 price", "price.pdf")
    await done(p["Бэлла"], "Обновите цены в 1С")

    note = await anton.expect("Проверьте с клиентами объёмы и суммы ваших предварительных заявок")
    assert "ООО Вкусный двор" in note["text"], note["text"]
    assert [b for b in anton.buttons(note) if "ООО Вкусный двор" in b], anton.buttons(note)
    assert not await p["Белла"].find("Проверьте с клиентами")  # no pre-order of hers: nothing to check
    # The client takes 200 kg more from production 1: Антон corrects it on the deal itself.
    await anton.press("ООО Вкусный двор", note)
    await anton.press("Объём, производство 1", await anton.expect("📁", "Этап: Предварительная заявка"))
    await anton.expect("Объём, производство 1")
    await anton.send("1 700")
    await anton.press("Подтвердить", await anton.expect("Проверьте"))

    for n in (1, 2):
        await kirill.press(
            "Заполнить", await kirill.card(f"производство {n}", "Соберите корректировки", button="Заполнить")
        )
        await kirill.expect("Корректировки менеджеров")
        await kirill.send("Вкусный двор +200 кг" if n == 1 else "Без изменений.")
        await kirill.press("Подтвердить", await kirill.expect("Проверьте"))
    await done(p["Пётр"], "Пересмотрите план закупки производства №1")
    await done(p["Павел"], "Пересмотрите план закупки производства №2")

    card = await p["Пётр"].card("Подтвердите обновлённый план производства №1", button="Готово")
    assert "обновлённые заявки — в файле" in card["text"], card["text"]
    assert "1 700 кг" in card["text"].replace("\u00a0", " "), card["text"]  # the kilos as corrected
    # The deputy director agrees the updated plans with the purchase calculation and the updated pre-orders at hand.
    card = await p["Дмитрий"].card("Согласуйте обновлённые планы производства и закупки", button="Готово")
    assert "Пр. 1, кг: 1 700" in card["text"].replace("\u00a0", " "), card["text"]
    await h.settle()
    for person in (p["Пётр"], p["Павел"]):
        (updated,) = [d for d in await person.documents() if d["file_name"].startswith("Обновлённые")]
        sheet = load_workbook(io.BytesIO(await person.download(updated["url"]))).active
        rows = [[c.value for c in r] for r in sheet.iter_rows()]
        assert rows[1][1:4] == ["ООО Вкусный двор", 1700, 300], rows
    await done(p["Пётр"], "Подтвердите обновлённый план производства №1")
    await done(p["Павел"], "Подтвердите обновлённый план производства №2")
    await h.settle()
    names = {d["file_name"] for d in await p["Дмитрий"].documents()}
    assert "purchase.xlsx" in names and any(n.startswith("Обновлённые") for n in names), names
    await done(p["Дмитрий"], "Согласуйте обновлённые планы производства и закупки")
    await lev.card("Подтвердите доставку по обновлённому плану производства №1", button="Готово")
    await h.settle()
    assert [d for d in await lev.documents() if d["file_name"].startswith("Обновлённые")]


async def test_whoever_closes_a_task_reads_who_acts_next(plant: Harness) -> None:
    """A person who closes their task reads, beside where the case is now, whom it waits for and until when — the
    other production's head, the security head after the manager's contract, the accountant after security — and,
    at a stage that waits for the shipping date, until when it waits: nobody is left to guess who acts next. Their
    own open task is not among those waited for but said apart, by its title: «✅ Готово … — этап: …» and nothing
    more read as if the case no longer needed them."""
    p = plant.people
    anton, kirill = p["Антон"], p["Кирилл"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await kirill.send("▶️ Начать процесс")
    await kirill.press("Сбор предварительных заявок", await kirill.expect("Какой процесс"))
    await done(kirill, "Рассмотрите предварительные заявки")
    await make_all(p["Пётр"], "№1")
    said = await p["Пётр"].expect("✅ Готово.")
    waits = "этап: Подтверждение производства. Ждёт: Павел (Начальник производства 2) — до 25.12.2026 10:00."
    assert waits in said["text"], said["text"]

    await anton.press("Заявка подтверждена", await open_deal(anton, "ООО Вкусный двор"))
    await upload(p["Юлия"], "Подготовьте договор", b"%PDF contract", "contract.pdf")
    await done(anton, "Выставьте счёт на предоплату в 1С", "СЧ-777")
    said = await anton.expect("✅ Готово.")
    assert "Ждёт" not in said["text"], said["text"]  # only his own «Отправьте договор клиенту» is left
    assert said["text"].endswith("Ещё за вами: Отправьте договор клиенту."), said["text"]
    await done(anton, "Отправьте договор клиенту")
    said = await anton.expect("✅ Готово.")
    waits = "этап: Ждём оплату. Ждёт: Семён (Руководитель службы безопасности) — до 22.12.2026 18:00."
    assert waits in said["text"], said["text"]
    assert "Ещё за вами" not in said["text"], said["text"]
    await done(p["Семён"], "Проверьте клиента")
    said = await p["Семён"].expect("✅ Готово.")
    assert "этап: Проверено СБ. Ждёт: Бэлла (Бухгалтер) — до 24.12.2026 18:00." in said["text"], said["text"]
    await p["Бэлла"].press("Оплата поступила", await p["Бэлла"].card("Проверьте оплату", button="Оплата"))
    said = await p["Бэлла"].expect("✅ Готово.")
    assert "этап: Готово к отгрузке. ⏳ Ждёт до 29.12.2026 08:00, затем начнётся работа этапа." in said["text"], said


async def test_a_manager_registering_a_pre_order_reads_when_to_move_it(plant: Harness) -> None:
    """A deal registered at «Предварительная заявка» has its «➡️ Заявка подтверждена» button at once; its manager
    reads that it goes into Thursday's report and that the list of deals to move comes once the general director
    confirms the week — not left to guess, and to move it on that day, past the week's plans."""
    anton = plant.people["Антон"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    said = await anton.wait_for("попадёт в отчёт по предварительным заявкам")
    assert "Когда генеральный директор подтвердит заявки недели, придёт список ваших сделок" in said["text"], said
    assert "ООО Вкусный двор" in said["text"], said["text"]  # which deal it is about


async def test_a_manager_types_the_volume_in_tonnes(plant: Harness) -> None:
    """Meat is sold by the tonne: a manager types «1,5 т» and «500 кг» for the volumes the deal keeps in kilograms,
    and they are taken as 1 500 and 500 kg — where «1,5 т» was refused. A length is no weight: «1,5 м» is refused
    saying so. The planned shipping «15.01» typed on 21 December is the coming January, with its year on the summary."""
    anton = plant.people["Антон"]
    await start_a_deal_with_a_new_client(anton, "ООО Мясной двор")
    await anton.expect("Объём, производство 1, кг")
    await anton.send("1,5 м")
    await anton.expect("«м» — не единица веса: введите вес в кг, например 12", "Объём, производство 1, кг")
    await anton.send("1,5 т")
    await anton.expect("Объём, производство 2, кг")
    await anton.send("500 кг")
    await anton.expect("Сумма сделки")
    await anton.send("450 000")
    await anton.expect("Плановая дата отгрузки")
    await anton.send("15.01")
    await anton.press("Предоплата", await anton.expect("Условия оплаты"))
    await anton.press("Пропустить", await anton.expect("Дебиторская задолженность"))
    text = (await anton.expect("Проверьте"))["text"].replace("\u00a0", " ")
    assert "Объём, производство 1, кг: 1 500" in text and "Объём, производство 2, кг: 500" in text, text
    assert "Плановая дата отгрузки: 15.01.2027" in text, text


async def test_the_finance_director_writes_the_weeks_figures_in_millions_and_thousands(plant: Harness) -> None:
    """On a phone amounts are written short: «3,2 млн», «2 750 тыс. руб.». They are taken as the amounts they say,
    and the summary before «Подтвердить» shows them in full — not refused as no amount at all."""
    h, p = plant, plant.people
    faina = p["Фаина"]
    await h.move_to(msk(24, 9, 1))  # a week without pre-orders: straight to the finance report
    await done(p["Кирилл"], "Рассмотрите предварительные заявки")
    await faina.press("Заполнить", await faina.card("Отчёт о доходах и расходах", button="Заполнить"))
    await faina.expect("Доходы за неделю")
    await faina.send("3,2 млн")
    await faina.expect("Расходы за неделю")
    await faina.send("2 750 тыс. руб.")
    text = (await faina.expect("Проверьте"))["text"].replace("\u00a0", " ")
    assert "Доходы за неделю: 3 200 000,00 ₽" in text and "Расходы за неделю: 2 750 000,00 ₽" in text, text


async def test_an_unpaid_invoice_is_chased(plant: Harness) -> None:
    """The accountant closes «Проверьте оплату» only once the client has paid. The money not in a day before the
    deadline, she is reminded; past it, the finance director — who answers for the money coming in — hears of the
    unpaid invoice, rather than it waiting silently while the planned shipping date comes."""
    h, p = plant, plant.people
    anton, bella, faina = p["Антон"], p["Бэлла"], p["Фаина"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "300", "420 000", "30.12.2026", "Предоплата", None)
    await anton.press("Заявка подтверждена", await open_deal(anton, "ООО Вкусный двор"))
    await upload(p["Юлия"], "Подготовьте договор", b"%PDF contract", "contract.pdf")
    await done(anton, "Выставьте счёт на предоплату в 1С", "СЧ-777")
    await done(anton, "Отправьте договор клиенту")
    await done(p["Семён"], "Проверьте клиента")
    card = await bella.card("Проверьте оплату", button="Оплата")
    assert "Срок: 24.12.2026 18:00" in card["text"], card["text"]
    await h.move_to(msk(23, 18, 5))
    await bella.expect("Напоминание", "Проверьте оплату")
    assert not await faina.find("Эскалация")
    await h.move_to(msk(24, 18, 5))
    escalation = await faina.expect("Эскалация", "Проверьте оплату")
    assert "ООО Вкусный двор" in escalation["text"] and "Бэлла" in escalation["text"], escalation["text"]
