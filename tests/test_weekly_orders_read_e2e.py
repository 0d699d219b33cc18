"""Seed 2, Turmyasovo: the week as its people read it in their chats — the commercial director's cycle said to be
registered before its report comes, a production head asked how many kilos knowing how many he may say, the
general director not told of receivables nobody entered."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_weekly_orders_e2e import done, make_all, new_deal, plant
from tests.test_weekly_orders_shortfall_e2e import plain, start_the_cycle, to_the_corrections

__all__ = ["plant"]  # the fixture, used by name


async def test_the_commercial_director_reads_his_cycle_registered_before_its_report_and_task(plant: Harness) -> None:
    """Кирилл starts the week's cycle by hand. His chat says first that it is registered, then brings the report
    and his task to review it — it brought the report and the task first, and «зарегистрировано» under them, as if
    the cycle had been registered after he was asked to work on it."""
    h, kirill = plant, plant.people["Кирилл"]
    await new_deal(h.people["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await kirill.send("▶️ Начать процесс")
    picker = await kirill.expect("Какой процесс")
    await kirill.press("Сбор предварительных заявок", picker)
    await kirill.expect("Рассмотрите предварительные заявки")
    await h.settle()
    after = [m for m in await kirill.bot_messages() if m["message_id"] > picker["message_id"]]
    said = [f"📎 {m['document']['file_name']}" if m.get("document") else plain(m) for m in after]
    assert len(said) == 3, said
    assert "зарегистрировано" in said[0] and "Этап: Анализ предварительных заявок" in said[0], said
    assert said[1].startswith("📎 Предварительные заявки") and "Рассмотрите предварительные заявки" in said[2], said
    assert "зарегистрировано" not in " ".join(said[1:]), said  # said once


async def test_a_production_head_asked_how_many_kilos_reads_the_range_he_may_answer(plant: Harness) -> None:
    """Пётр makes less than the 1 800 kg of the report: the question «Сколько кг» says at once that he may answer from
    0 to 1 800 — he learnt the upper limit only from the refusal of a larger figure."""
    h, p = plant, plant.people
    await new_deal(p["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await new_deal(p["Белла"], "ИП Смирнов", "300", "100", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)
    await p["Пётр"].press("Выпустим меньше", await p["Пётр"].card("производство №1 выпустит", button="Выпустим меньше"))
    question = await p["Пётр"].expect("Сколько кг выпустит производство №1")
    assert "Отправьте число от 0 до 1 800." in plain(question), plain(question)
    await p["Пётр"].send("1 500")
    summary = await p["Пётр"].expect("Проверьте")
    assert "Сколько кг выпустит производство №1: 1 500" in plain(summary), plain(summary)


async def to_the_general_director(h: Harness) -> dict:
    """The week from the productions' «all of it» to the general director's card, nothing corrected."""
    p = h.people
    await make_all(p["Пётр"], "№1")
    await make_all(p["Павел"], "№2")
    await to_the_corrections(h)
    for n in (1, 2):
        card = await p["Кирилл"].card(f"производство {n}", "Соберите корректировки", button="Заполнить")
        await p["Кирилл"].press("Заполнить", card)
        await p["Кирилл"].expect("Корректировки менеджеров")
        await p["Кирилл"].send("Без изменений.")
        await p["Кирилл"].press("Подтвердить", await p["Кирилл"].expect("Проверьте"))
    await done(p["Пётр"], "Пересмотрите план закупки производства №1")
    await done(p["Павел"], "Пересмотрите план закупки производства №2")
    await done(p["Пётр"], "Подтвердите обновлённый план производства №1")
    await done(p["Павел"], "Подтвердите обновлённый план производства №2")
    await done(p["Дмитрий"], "Согласуйте обновлённые планы производства и закупки")
    await done(p["Лев"], "Подтвердите доставку по обновлённому плану производства №1")
    await done(p["Лев"], "Подтвердите доставку по обновлённому плану производства №2")
    return await p["Григорий"].card("Подтвердите закупки и отгрузки недели", button="Готово")


async def test_the_general_director_reads_no_receivables_nobody_entered(plant: Harness) -> None:
    """No manager entered the client's receivables (the question skipped): the week's result says nothing of them —
    it said «Дебиторка: 0,00 ₽», a debt of nothing that nobody had stated."""
    h, p = plant, plant.people
    await new_deal(p["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await new_deal(p["Белла"], "ИП Смирнов", "200", "100", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)
    card = await to_the_general_director(h)
    assert "Итог недели с дебиторкой: 2 дела" in plain(card) and "Сумма: 570 000,00 ₽" in plain(card), plain(card)
    assert "Дебиторка" not in plain(card), plain(card)


async def test_receivables_entered_as_0_are_said_as_0(plant: Harness) -> None:
    """A client that owes nothing, its manager typing 0: a figure given, the week's result and the deal's line say
    «Дебиторка: 0,00 ₽» — not left out as if nobody had asked."""
    h, p = plant, plant.people
    await new_deal(p["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", "0")
    await new_deal(p["Белла"], "ИП Смирнов", "200", "100", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)
    card = await to_the_general_director(h)
    lines = plain(card).split("\n")
    assert "Дебиторка: 0,00 ₽" in lines, lines  # the total
    (tasty,) = [line for line in lines if "ООО Вкусный двор" in line]
    (smirnov,) = [line for line in lines if "ИП Смирнов" in line]
    assert "Дебиторка: 0,00 ₽" in tasty and "Дебиторка" not in smirnov, lines
