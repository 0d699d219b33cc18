"""Seed 2, Turmyasovo: the week as its people meet it when the figures move — a production that can make less than
the pre-orders ask, the managers' corrections after the report went out, and a pre-order's shipping date, which the
weekly cycle plans for the week after it."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Case
from tests.conftest import Harness
from tests.test_weekly_orders_e2e import done, make_all, msk, new_deal, open_deal, plant, upload

__all__ = ["plant"]  # the fixture, used by name


def plain(message: dict) -> str:
    return str(message["text"]).replace("\u00a0", " ")


async def start_the_cycle(h: Harness) -> None:
    kirill = h.people["Кирилл"]
    await kirill.send("▶️ Начать процесс")
    await kirill.press("Сбор предварительных заявок", await kirill.expect("Какой процесс"))
    await done(kirill, "Рассмотрите предварительные заявки")


async def to_the_corrections(h: Harness) -> None:
    """From the logistics' confirmations to the managers' corrections (the Friday blocks, nothing changed)."""
    p = h.people
    await done(p["Лев"], "Подтвердите доставку продукции производства №1")
    await done(p["Лев"], "Подтвердите доставку продукции производства №2")
    await upload(p["Маргарита"], "Сделайте расчёт закупки", b"calc", "purchase.xlsx")
    await done(p["Григорий"], "Сформируйте прайс-лист")
    await upload(p["Кирилл"], "приложите новый прайс в PDF", b"%PDF-1.4 price", "price.pdf")
    await done(p["Бэлла"], "Обновите цены в 1С")


async def test_a_production_confirms_the_kilos_it_can_make_and_those_after_it_read_the_shortfall(
    plant: Harness,
) -> None:
    """Production 1 has 1 800 kg of pre-orders and the raw material for 1 500: its head says so on the task itself
    («⚠️ Выпустим меньше», then the kilos), not «Готово» for kilos it will not make. Logistics, the purchase
    calculation and the commercial director collecting the corrections read how much it will make and how much is
    short; production 2, which makes it all, is said nothing of. More than the report asks is no shortfall: refused."""
    h, p = plant, plant.people
    await new_deal(p["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await new_deal(p["Белла"], "ИП Смирнов", "300", "100", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)

    card = await p["Пётр"].card("производство №1 выпустит", button="Выпустим всё")
    assert "объёмы из отчёта: 1 800 кг" in plain(card) and "Выпустим меньше" in " ".join(p["Пётр"].buttons(card))
    await p["Пётр"].press("Выпустим меньше", card)
    await p["Пётр"].expect("Сколько кг выпустит производство №1")
    await p["Пётр"].send("2 000")
    refused = await p["Пётр"].expect("не может быть больше, чем объём из отчёта")
    assert "объём из отчёта: 1 800." in plain(refused), plain(refused)
    await p["Пётр"].send("1 500")
    await p["Пётр"].press("Подтвердить", await p["Пётр"].expect("Проверьте"))
    await make_all(p["Павел"], "№2")

    # Logistics reads the kilos to deliver: what the production will make, not the report's figure.
    card = await p["Лев"].card("Подтвердите доставку продукции производства №1", button="Готово")
    assert "Подтвердите доставку продукции производства №1: 1 500 кг.\n" in plain(card), plain(card)
    assert "⚠️ Производство №1 выпустит 1 500 кг из 1 800: не хватит 300 кг." in plain(card), plain(card)
    card = await p["Лев"].card("Подтвердите доставку продукции производства №2", button="Готово")
    assert "Подтвердите доставку продукции производства №2: 400 кг." in plain(card), plain(card)
    assert "выпустит" not in plain(card) and "не хватит" not in plain(card), plain(card)
    await done(p["Лев"], "Подтвердите доставку продукции производства №1")
    await done(p["Лев"], "Подтвердите доставку продукции производства №2")
    card = await p["Маргарита"].card("Сделайте расчёт закупки", button="Готово")
    assert "Производство №1 выпустит 1 500 кг из 1 800: не хватит 300 кг." in plain(card), plain(card)
    await upload(p["Маргарита"], "Сделайте расчёт закупки", b"calc", "purchase.xlsx")
    await done(p["Григорий"], "Сформируйте прайс-лист")
    await upload(p["Кирилл"], "приложите новый прайс в PDF", b"%PDF-1.4 price", "price.pdf")
    await done(p["Бэлла"], "Обновите цены в 1С")
    card = await p["Кирилл"].card("производство 1", "Соберите корректировки", button="Заполнить")
    assert "не хватит 300 кг" in plain(card), plain(card)
    card = await p["Кирилл"].card("производство 2", "Соберите корректировки", button="Заполнить")
    assert "не хватит" not in plain(card), plain(card)


async def test_a_production_that_can_make_none_of_it_says_0_and_is_not_planned_or_delivered_for(
    plant: Harness,
) -> None:
    """0 kg is an answer a meat plant gives (no raw material this week), not a slip to refuse: the question says what
    0 means. Production 2 making none of its 400 kg, nobody is asked from then on to deliver it, revise its purchase
    plan or confirm its updated plan — tasks about goods that will not exist, which people would confirm blindly or
    stop to ask about. The logistics head reads why one delivery card comes and not two; the purchase, the price
    list, the managers told to correct their pre-orders, the commercial director collecting the corrections and the
    deputy and general directors read that production 2 makes nothing."""
    h, p = plant, plant.people
    anton, petr, pavel, lev = p["Антон"], p["Пётр"], p["Павел"], p["Лев"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "400", "420 000", "29.12.2026", "Предоплата", None)
    await start_the_cycle(h)
    await make_all(petr, "№1")
    await pavel.press("Выпустим меньше", await pavel.card("производство №2 выпустит", button="Выпустим меньше"))
    question = await pavel.expect("Сколько кг выпустит производство №2")
    assert "0 — если производство не выпустит ничего" in question["text"], question["text"]
    await pavel.send("0")
    summary = await pavel.expect("Проверьте")
    assert "Сколько кг выпустит производство №2: 0" in plain(summary), plain(summary)
    await pavel.press("Подтвердить", summary)

    said = "⛔ Производство №2 не выпустит ничего из 400 кг."
    no_delivery = "⛔ Производство №2 не выпустит ничего — его доставку подтверждать не нужно."
    card = await lev.card("Подтвердите доставку продукции производства №1", button="Готово")
    assert no_delivery in plain(card), plain(card)
    await done(lev, "Подтвердите доставку продукции производства №1")
    card = await p["Маргарита"].card("Сделайте расчёт закупки", button="Готово")
    assert said in plain(card), plain(card)
    assert not await lev.find("Подтвердите доставку продукции производства №2")
    await upload(p["Маргарита"], "Сделайте расчёт закупки", b"calc", "purchase.xlsx")
    card = await p["Григорий"].card("Сформируйте прайс-лист", button="Готово")
    assert said in plain(card), plain(card)
    await done(p["Григорий"], "Сформируйте прайс-лист")
    await upload(p["Кирилл"], "приложите новый прайс в PDF", b"%PDF-1.4 price", "price.pdf")
    await done(p["Бэлла"], "Обновите цены в 1С")

    note = await anton.expect("Проверьте с клиентами объёмы и суммы ваших предварительных заявок")
    assert said in plain(note), plain(note)
    for n in (1, 2):
        card = await p["Кирилл"].card(f"производство {n}", "Соберите корректировки", button="Заполнить")
        assert (said in plain(card)) == (n == 2), plain(card)
        await p["Кирилл"].press("Заполнить", card)
        await p["Кирилл"].expect("Корректировки менеджеров")
        await p["Кирилл"].send("Без изменений." if n == 1 else "Вкусный двор: 400 кг на следующую неделю.")
        await p["Кирилл"].press("Подтвердить", await p["Кирилл"].expect("Проверьте"))
    await done(petr, "Пересмотрите план закупки производства №1")
    await done(petr, "Подтвердите обновлённый план производства №1")
    card = await p["Дмитрий"].card("Согласуйте обновлённые планы", button="Готово")
    assert said in plain(card), plain(card)
    await done(p["Дмитрий"], "Согласуйте обновлённые планы производства и закупки")
    card = await lev.card("Подтвердите доставку по обновлённому плану производства №1", button="Готово")
    assert no_delivery in plain(card), plain(card)
    await done(lev, "Подтвердите доставку по обновлённому плану производства №1")
    card = await p["Григорий"].card("Подтвердите закупки и отгрузки недели", button="Готово")
    assert said in plain(card), plain(card)
    await p["Григорий"].press("Готово", card)
    # Moved as it stands, the deal would give the operators 400 kg of production 2 to ship that will not exist.
    note = await anton.expect("Переведите в «Заявка подтверждена»")
    warned = "⛔ Производство №2 на этой неделе не выпустит ничего: объёмы производства 2 в ваших сделках не отгрузятся"
    assert warned in plain(note), plain(note)
    assert not await pavel.find("Пересмотрите план закупки") and not await pavel.find("Подтвердите обновлённый план")
    assert not await lev.find("по обновлённому плану производства №2")


async def test_a_production_with_no_kilos_in_the_report_is_not_asked_to_confirm_them(plant: Harness) -> None:
    """This week's pre-orders are all for production 2: production 1 has 0 kg in the report. Its head is not asked to
    confirm he will make «0 кг» (nor offered to make less than nothing), and logistics is not asked to deliver its
    goods: the week goes on with production 2's head and delivery alone."""
    h, p = plant, plant.people
    await new_deal(p["Белла"], "ИП Смирнов", "0", "400", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)
    await make_all(p["Павел"], "№2")
    await done(p["Лев"], "Подтвердите доставку продукции производства №2")
    await p["Маргарита"].card("Сделайте расчёт закупки", button="Готово")
    assert not await p["Пётр"].find("Подтвердите, что производство №1")
    assert not await p["Лев"].find("Подтвердите доставку продукции производства №1")


async def test_those_confirming_the_updated_plans_read_what_changed_since_the_report(plant: Harness) -> None:
    """After Thursday's report the managers correct their pre-orders: Антон's client takes 200 kg more from
    production 1, Белла's deal is dropped, a new one comes in. The heads confirming the updated plans, logistics and
    the general director read which lines moved since the report, old → new — not two sets of totals to compare by
    eye; a deal nobody touched is not listed."""
    h, p = plant, plant.people
    anton, bella = p["Антон"], p["Белла"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await new_deal(anton, "ООО Тихий", "100", "100", "50 000", "29.12.2026", "Предоплата", None)
    await new_deal(bella, "ИП Смирнов", "200", "0", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)
    await make_all(p["Пётр"], "№1")
    await make_all(p["Павел"], "№2")
    await to_the_corrections(h)

    await anton.press("Объём, производство 1", await open_deal(anton, "ООО Вкусный двор"))
    await anton.expect("Объём, производство 1")
    await anton.send("1 700")
    await anton.press("Подтвердить", await anton.expect("Проверьте"))
    await bella.press("Отменить сделку", await open_deal(bella, "ИП Смирнов"))
    await bella.expect("Причина отмены")
    await bella.send("Клиент передумал")
    await bella.press("Подтвердить", await bella.expect("Проверьте"))
    await new_deal(bella, "ООО Новый", "50", "0", "30 000", "30.12.2026", "Предоплата", None)
    for n in (1, 2):
        await p["Кирилл"].press(
            "Заполнить", await p["Кирилл"].card(f"производство {n}", "Соберите корректировки", button="Заполнить")
        )
        await p["Кирилл"].expect("Корректировки менеджеров")
        await p["Кирилл"].send("Как в сделках.")
        await p["Кирилл"].press("Подтвердить", await p["Кирилл"].expect("Проверьте"))
    await done(p["Пётр"], "Пересмотрите план закупки производства №1")
    await done(p["Павел"], "Пересмотрите план закупки производства №2")

    changed = (
        "Изменилось с отчёта:\n• №1 · ООО Вкусный двор: Пр. 1, кг: 1 500 → 1 700\n• №5 · ООО Новый: появилось в отчёте"
        "\n• №3 · ИП Смирнов: больше нет в отчёте"
    )
    card = await p["Пётр"].card("Подтвердите обновлённый план производства №1", button="Готово")
    assert changed in plain(card), plain(card)
    assert "ООО Тихий:" not in plain(card), plain(card)  # untouched: not a change
    card = await p["Дмитрий"].card("Согласуйте обновлённые планы", button="Готово")
    assert changed in plain(card), plain(card)
    await done(p["Пётр"], "Подтвердите обновлённый план производства №1")
    await done(p["Павел"], "Подтвердите обновлённый план производства №2")
    await done(p["Дмитрий"], "Согласуйте обновлённые планы производства и закупки")
    card = await p["Лев"].card("Подтвердите доставку по обновлённому плану производства №1", button="Готово")
    assert changed in plain(card), plain(card)
    assert "по обновлённому плану производства №1: 1 850 кг." in plain(card), plain(card)  # 1 700 + 100 + 50
    await done(p["Лев"], "Подтвердите доставку по обновлённому плану производства №1")
    await done(p["Лев"], "Подтвердите доставку по обновлённому плану производства №2")
    card = await p["Григорий"].card("Подтвердите закупки и отгрузки недели", button="Готово")
    assert changed in plain(card), plain(card)
    # Only the report the later ones compare with keeps its rows in the case: the updated and final reports'
    # would be a copy of every deal's figures carried with each step and read by nobody.
    async with h.core.sessionmaker() as session:
        cycle = (await session.execute(select(Case).where(Case.process == "weekly_orders"))).scalar_one()
    assert sorted(k for k in cycle.data if k.endswith(":rows")) == ["preorders_report:rows"], sorted(cycle.data)


async def test_a_pre_order_moved_on_the_monday_of_its_week_keeps_the_move(plant: Harness) -> None:
    """Monday 28.12, the week's corrections: a pre-order that ships on 29.12 is still a pre-order (its manager moves it
    on once the general director confirms the week) and is moved to 30.12 — taken, not refused as «earlier than next
    week» (registering it is what that rule is for)."""
    anton = plant.people["Антон"]
    await new_deal(anton, "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    plant.clock.set(msk(28, 10))
    await anton.press("Плановая дата отгрузки", await open_deal(anton, "ООО Вкусный двор"))
    await anton.expect("Плановая дата отгрузки")
    await anton.send("30.12.2026")
    await anton.press("Подтвердить", await anton.expect("Проверьте"))
    card = await open_deal(anton, "ООО Вкусный двор")
    assert "Плановая дата отгрузки: 30.12.2026" in card["text"], card["text"]
